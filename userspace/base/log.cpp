#include "base/log.hpp"

#include <bpf/libbpf.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdarg>
#include <cstdio>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

namespace lstrace {
namespace {

// How many of the verifier log's last lines a rejection message quotes.
constexpr std::size_t kVerdictLines = 3;

std::mutex rejection_mutex;
std::optional<VerifierRejection> last_rejection;

void note_rejection(const std::string& msg)
{
    if (auto r = parse_verifier_rejection(msg)) {
        const std::lock_guard<std::mutex> lock(rejection_mutex);
        last_rejection = std::move(r);
    }
}

int libbpf_print(enum libbpf_print_level level, const char* format, va_list args)
{
    // Verifier logs arrive as one message of many KiB: size it first.
    va_list copy;
    va_copy(copy, args);
    const int n = std::vsnprintf(nullptr, 0, format, copy);
    va_end(copy);
    if (n < 0)
        return n;
    std::string msg(static_cast<std::size_t>(n) + 1, '\0');
    std::vsnprintf(msg.data(), msg.size(), format, args);
    msg.resize(static_cast<std::size_t>(n));
    while (!msg.empty() && msg.back() == '\n')
        msg.pop_back();
    // All of libbpf's output, its warnings included, is for -v: every
    // failure that matters reaches the user as one line of our own (with
    // libbpf_strerror's text), and a failed load would otherwise bury that
    // line under libbpf's.
    if (level == LIBBPF_WARN)
        note_rejection(msg);
    spdlog::debug("libbpf: {}", msg);
    return n;
}

}  // namespace

void setup_logging(bool verbose)
{
    auto logger = spdlog::stderr_color_mt("lstrace-bpf");
    logger->set_pattern("lstrace-bpf: %^%l%$: %v");
    spdlog::set_default_logger(logger);
    // libbpf's INFO lines are chatty (one per map and program); keep them
    // for -v along with DEBUG.
    spdlog::set_level(verbose ? spdlog::level::debug : spdlog::level::warn);
    libbpf_set_print(libbpf_print);
}

// libbpf prints a refused program's verifier log as one message:
// "libbpf: prog 'NAME': -- BEGIN PROG LOAD LOG --\n...-- END PROG LOAD LOG --".
std::optional<VerifierRejection> parse_verifier_rejection(const std::string& msg)
{
    static const std::string begin_marker = "': -- BEGIN PROG LOAD LOG --\n";
    static const std::string prefix = "libbpf: prog '";
    const auto begin = msg.find(begin_marker);
    if (msg.compare(0, prefix.size(), prefix) != 0 || begin == std::string::npos)
        return std::nullopt;
    const auto end = msg.find("-- END PROG LOAD LOG --", begin);
    std::istringstream log(msg.substr(
        begin + begin_marker.size(),
        end == std::string::npos ? std::string::npos : end - begin - begin_marker.size()));
    std::vector<std::string> lines;
    for (std::string line; std::getline(log, line);)
        if (line.find_first_not_of(' ') != std::string::npos)
            lines.push_back(line);
    // The verifier's closing statistics ("processed N insns ...") follow
    // the verdict: leave them out.
    while (!lines.empty() && lines.back().rfind("processed ", 0) == 0)
        lines.pop_back();
    VerifierRejection r;
    r.program = msg.substr(prefix.size(), begin - prefix.size());
    const std::size_t first = lines.size() > kVerdictLines ? lines.size() - kVerdictLines : 0;
    for (std::size_t i = first; i < lines.size(); ++i)
        r.last_lines += (i > first ? "; " : "") + lines[i];
    return r;
}

std::optional<VerifierRejection> take_verifier_rejection()
{
    const std::lock_guard<std::mutex> lock(rejection_mutex);
    auto r = std::move(last_rejection);
    last_rejection.reset();
    return r;
}

}  // namespace lstrace
