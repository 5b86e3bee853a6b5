#include "record/python_extension.hpp"

#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <optional>
#include <regex>

#include "base/proc_files.hpp"

namespace lstrace {
namespace {

std::string dirname(const std::string& path)
{
    const std::size_t slash = path.rfind('/');
    return slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
}

std::string basename(const std::string& path)
{
    const std::size_t slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::optional<std::string> env_value(const std::vector<std::string>& environ,
                                     const std::string& key)
{
    const std::string prefix = key + "=";
    for (const std::string& entry : environ)
        if (entry.compare(0, prefix.size(), prefix) == 0)
            return entry.substr(prefix.size());
    return std::nullopt;
}

// `path` as the process sees it: relative paths are relative to its cwd.
std::string in_process(int pid, const std::string& path)
{
    return path.empty() || path[0] != '/' ? proc_dir(pid) + "/cwd/" + path : path;
}

bool is_file(const std::string& path)
{
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// The extension modules in DIR/lstrace: _native.so, _native.abi3.so,
// _native.cpython-311-x86_64-linux-gnu.so, ...
void add_extensions(const std::string& dir, std::vector<std::string>& out)
{
    const std::string package = dir + "/lstrace";
    DIR* d = ::opendir(package.c_str());
    if (!d)
        return;
    while (const dirent* e = ::readdir(d)) {
        const std::string name = e->d_name;
        if (name.compare(0, 8, "_native.") != 0 || name.size() < 11 ||
            name.compare(name.size() - 3, 3, ".so") != 0)
            continue;
        char resolved[PATH_MAX];
        const std::string path = package + "/" + name;
        if (is_file(path) && ::realpath(path.c_str(), resolved))
            out.emplace_back(resolved);
    }
    ::closedir(d);
}

}  // namespace

bool is_python_interpreter(const std::string& exe_path)
{
    static const std::regex python(R"(python3(\.[0-9]+)?)");
    return std::regex_match(basename(exe_path), python);
}

std::vector<std::string> python_extension_candidates(int pid, const std::string& exe_path)
{
    const std::vector<std::string> environ =
        split_nul(read_proc_file(proc_dir(pid) + "/environ").value_or(std::string()));
    const std::vector<std::string> argv =
        split_nul(read_proc_file(proc_dir(pid) + "/cmdline").value_or(std::string()));
    std::vector<std::string> dirs;

    // sys.path[0]: the script's directory (the first argument that is not
    // an option; with -c or -m it is the working directory)
    for (std::size_t i = 1; i < argv.size(); ++i) {
        if (argv[i] == "-c" || argv[i] == "-m") {
            dirs.push_back(in_process(pid, "."));
            break;
        }
        if (!argv[i].empty() && argv[i][0] == '-')
            continue;
        dirs.push_back(dirname(in_process(pid, argv[i])));
        break;
    }
    if (auto pythonpath = env_value(environ, "PYTHONPATH")) {
        std::size_t pos = 0;
        while (pos <= pythonpath->size()) {
            std::size_t colon = pythonpath->find(':', pos);
            if (colon == std::string::npos)
                colon = pythonpath->size();
            if (colon > pos)
                dirs.push_back(in_process(pid, pythonpath->substr(pos, colon - pos)));
            pos = colon + 1;
        }
    }
    // site directories: python3.11 at PREFIX/bin/python3.11
    std::string version = basename(exe_path).substr(6);  // "3.11" or "3"
    const std::string prefix = dirname(dirname(exe_path));
    std::vector<std::string> prefixes{prefix, "/usr/local"};
    if (auto venv = env_value(environ, "VIRTUAL_ENV"))
        prefixes.insert(prefixes.begin(), *venv);
    if (auto home = env_value(environ, "HOME"))
        dirs.push_back(*home + "/.local/lib/python" + version + "/site-packages");
    for (const std::string& p : prefixes) {
        dirs.push_back(p + "/lib/python" + version + "/site-packages");
        dirs.push_back(p + "/lib/python" + version + "/dist-packages");
        dirs.push_back(p + "/local/lib/python" + version + "/dist-packages");
        dirs.push_back(p + "/lib/python3/dist-packages");
    }

    std::vector<std::string> found;
    for (const std::string& dir : dirs)
        add_extensions(dir, found);
    std::sort(found.begin(), found.end());
    found.erase(std::unique(found.begin(), found.end()), found.end());
    return found;
}

}  // namespace lstrace
