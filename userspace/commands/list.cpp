#include "commands/list.hpp"

#include <unistd.h>
#include <cinttypes>

#include <cstdio>
#include <map>

#include "base/errors.hpp"
#include "record/target.hpp"
#include "usdt/probe_notes.hpp"

namespace lstrace {

int run_list(const ListOptions& options)
{
    std::string path = options.path;
    std::string mapped_path;  // how /proc/PID/maps names the executable
    if (options.pid) {
        path = open_existing_process(*options.pid).binary;
        char target[4096];
        const ssize_t n = ::readlink(path.c_str(), target, sizeof(target) - 1);
        if (n > 0)
            mapped_path.assign(target, static_cast<std::size_t>(n));
    }
    auto notes = usdt::read_probe_notes(path);
    if (!notes)
        throw FatalError(ExitCode::no_target, notes.error().message);

    // With -p: the live semaphore of each probe (non-zero while attached).
    std::map<std::uint64_t, unsigned short> live;
    if (options.pid) {
        auto values = usdt::read_semaphores(*options.pid, mapped_path, notes.value());
        if (!values)
            throw FatalError(ExitCode::no_target, values.error().message);
        live.insert(values->begin(), values->end());
    }
    std::size_t langswarm = 0;
    for (const usdt::ProbeNote& n : notes.value()) {
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
    std::fprintf(stderr, "%zu probe sites, %zu of them langswarm\n", notes->size(), langswarm);
    return langswarm ? 0 : static_cast<int>(ExitCode::no_probes);
}

}  // namespace lstrace
