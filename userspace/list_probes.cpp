#include "list_probes.hpp"

#include <cinttypes>
#include <cstdio>

#include "errors.hpp"
#include "target.hpp"
#include "usdt/probe_notes.hpp"

namespace lstrace {

int run_list(const ListOptions& options)
{
    std::string path = options.path;
    if (options.pid)
        path = open_existing_process(*options.pid).binary;
    auto notes = usdt::read_probe_notes(path);
    if (!notes)
        throw FatalError(ExitCode::no_target, notes.error().message);
    std::size_t langswarm = 0;
    for (const usdt::ProbeNote& n : notes.value()) {
        if (n.provider == usdt::kProvider)
            ++langswarm;
        std::printf("%s:%s  pc=0x%" PRIx64 "  semaphore=0x%" PRIx64 "  args=%s\n",
                    n.provider.c_str(), n.name.c_str(), n.pc, n.semaphore, n.arguments.c_str());
    }
    std::fprintf(stderr, "%zu probe sites, %zu of them langswarm\n", notes->size(), langswarm);
    return langswarm ? 0 : static_cast<int>(ExitCode::no_probes);
}

}  // namespace lstrace
