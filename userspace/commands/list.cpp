#include "commands/list.hpp"

#include <unistd.h>
#include <cinttypes>

#include <cinttypes>
#include <cstdio>
#include <map>
#include <utility>
#include <vector>

#include "base/errors.hpp"
#include "record/target.hpp"
#include "usdt/probe_notes.hpp"
#include "usdt/probe_objects.hpp"

namespace lstrace {
namespace {

// Prints the probes of one object; with `pid`, each with its live
// semaphore (non-zero while attached).  Returns the number of langswarm ones.
std::size_t print_probes(const std::vector<usdt::ProbeNote>& notes, std::optional<int> pid,
                         const std::string& mapped_path)
{
    std::map<std::uint64_t, unsigned short> live;
    if (pid) {
        auto values = usdt::read_semaphores(*pid, mapped_path, notes);
        if (!values)
            throw FatalError(ExitCode::no_target, values.error().message);
        live.insert(values->begin(), values->end());
    }
    std::size_t langswarm = 0;
    for (const usdt::ProbeNote& n : notes) {
        if (n.provider == usdt::kProvider)
            ++langswarm;
        std::string state;
        if (auto it = live.find(n.semaphore); n.semaphore && it != live.end())
            state = it->second ? "  enabled (semaphore " + std::to_string(it->second) + ")"
                               : "  disabled";
        std::printf("%s:%s  pc=0x%" PRIx64 "  semaphore=0x%" PRIx64 "  args=%s%s\n",
                    n.provider.c_str(), n.name.c_str(), n.pc, n.semaphore, n.arguments.c_str(),
                    state.c_str());
    }
    return langswarm;
}

}  // namespace

int run_list(const ListOptions& options)
{
    if (!options.pid) {
        auto notes = usdt::read_probe_notes(options.path);
        if (!notes)
            throw FatalError(ExitCode::no_target, notes.error().message);
        const std::size_t langswarm = print_probes(notes.value(), std::nullopt, std::string());
        std::fprintf(stderr, "%zu probe sites, %zu of them langswarm\n", notes->size(), langswarm);
        return langswarm ? 0 : static_cast<int>(ExitCode::no_probes);
    }

    // -p: the executable, then every file it maps that carries probes (a
    // shared library, a Python extension module), each under its path.
    const std::string exe = open_existing_process(*options.pid).binary;
    char target[4096];
    const ssize_t n = ::readlink(exe.c_str(), target, sizeof(target) - 1);
    const std::string exe_path = n > 0 ? std::string(target, static_cast<std::size_t>(n)) : exe;
    std::vector<std::pair<std::string, std::string>> objects{{exe, exe_path}};  // (read, mapped)
    if (auto files = usdt::mapped_files(*options.pid))
        for (const std::string& f : files.value())
            if (f != exe_path)
                objects.emplace_back(f, f);
    std::size_t sites = 0, langswarm = 0;
    for (const auto& [path, mapped] : objects) {
        auto notes = usdt::read_probe_notes(path);
        if (!notes) {
            if (path == exe)
                throw FatalError(ExitCode::no_target, notes.error().message);
            continue;  // a mapped file we cannot read: not ours to list
        }
        if (notes->empty())
            continue;
        std::printf("%s:\n", mapped.c_str());
        sites += notes->size();
        langswarm += print_probes(notes.value(), options.pid, mapped);
    }
    std::fprintf(stderr, "%zu probe sites, %zu of them langswarm\n", sites, langswarm);
    return langswarm ? 0 : static_cast<int>(ExitCode::no_probes);
}

}  // namespace lstrace
