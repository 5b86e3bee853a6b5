#include "output/environment_info.hpp"

#include <sys/utsname.h>

#include <nlohmann/json.hpp>

#include "base/proc_files.hpp"
#include "output/redactor.hpp"

namespace lstrace {
namespace {

utsname uname_or_empty()
{
    utsname u{};
    if (::uname(&u) != 0)
        u = utsname{};
    return u;
}

// Command-line secrets come as "--api-key=VALUE" or "--api-key VALUE",
// which the free-text scrubber (made for "api_key=VALUE" in prose) does
// not see: option names are judged like tag keys.  Redacting a value that
// was not secret is the cheaper mistake.
void redact_arguments(std::vector<std::string>& argv, const Redactor& redactor)
{
    for (std::size_t i = 0; i < argv.size(); ++i) {
        std::string& arg = argv[i];
        const auto name_start = arg.find_first_not_of('-');
        if (name_start == 0 || name_start == std::string::npos) {
            redactor.scrub(arg);
            continue;
        }
        const auto eq = arg.find('=');
        const std::string name =
            arg.substr(name_start, eq == std::string::npos ? std::string::npos : eq - name_start);
        if (!redactor.key_is_secret(name)) {
            redactor.scrub(arg);
        } else if (eq != std::string::npos) {
            arg = arg.substr(0, eq + 1) + kRedacted;
        } else if (i + 1 < argv.size() && (argv[i + 1].empty() || argv[i + 1][0] != '-')) {
            argv[++i] = kRedacted;
        }
    }
}

}  // namespace

std::optional<std::vector<std::string>> read_command_line(int pid)
{
    const auto data = read_proc_file(proc_dir(pid) + "/cmdline");
    if (!data)
        return std::nullopt;
    return split_nul(*data);
}

bool environment_name_allowed(const std::string& name, const std::vector<std::string>& allowlist)
{
    for (const std::string& pattern : allowlist) {
        if (!pattern.empty() && pattern.back() == '*') {
            const std::size_t n = pattern.size() - 1;
            if (n > 0 && name.compare(0, n, pattern, 0, n) == 0)
                return true;
        } else if (name == pattern) {
            return true;
        }
    }
    return false;
}

std::optional<std::vector<std::pair<std::string, std::string>>> read_environment(
    int pid, const std::vector<std::string>& allowlist)
{
    const auto data = read_proc_file(proc_dir(pid) + "/environ");
    if (!data)
        return std::nullopt;
    std::vector<std::pair<std::string, std::string>> vars;
    for (const std::string& entry : split_nul(*data)) {
        const auto eq = entry.find('=');
        if (eq == std::string::npos || eq == 0)
            continue;  // not NAME=value: nothing a reader could use
        std::string name = entry.substr(0, eq);
        if (environment_name_allowed(name, allowlist))
            vars.emplace_back(std::move(name), entry.substr(eq + 1));
    }
    return vars;
}

std::string host_name()
{
    return uname_or_empty().nodename;
}

std::string kernel_release()
{
    return uname_or_empty().release;
}

nlohmann::json environment_json(int pid, const std::vector<std::string>& allowlist,
                                const Redactor* redactor)
{
    nlohmann::json j = nlohmann::json::object();
    if (auto argv = read_command_line(pid)) {
        if (redactor)
            redact_arguments(*argv, *redactor);
        j["command_line"] = *argv;
    }
    if (const auto vars = read_environment(pid, allowlist)) {
        nlohmann::json env = nlohmann::json::object();
        for (auto [name, value] : *vars) {
            if (redactor && redactor->key_is_secret(name))
                value = kRedacted;
            else if (redactor)
                redactor->scrub(value);
            env[name] = value;
        }
        j["environment"] = std::move(env);
    }
    j["hostname"] = host_name();
    j["kernel_release"] = kernel_release();
    return j;
}

}  // namespace lstrace
