// usdt_floor [--langswarm] BINARY -- COMMAND [ARGS]: runs COMMAND with a
// count-only BPF program on probe sites of BINARY, then prints the hit count
// on stderr.  By default the sites are span_bench's two bare ones,
// lstrace_bench:begin and lstrace_bench:end (span_bench's `floor` mode):
// the floor that bench/run.sh compares lstrace's spans against.  With
// --langswarm, every langswarm probe instead (the gate last, as the recorder
// does): what the same sites cost under a program that does nothing.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "floor.skel.h"

namespace {

struct SkelDeleter {
    void operator()(floor_bpf* s) const { floor_bpf__destroy(s); }
};
struct LinkDeleter {
    void operator()(bpf_link* l) const { bpf_link__destroy(l); }
};

}  // namespace

int main(int argc, char** argv)
{
    int at = 1;
    const bool langswarm = argc > 1 && std::strcmp(argv[1], "--langswarm") == 0;
    if (langswarm)
        ++at;
    if (argc < at + 3 || std::strcmp(argv[at + 1], "--") != 0) {
        std::fprintf(stderr, "usage: %s [--langswarm] BINARY -- COMMAND [ARGS]\n", argv[0]);
        return 2;
    }
    const char* binary = argv[at];
    char** command = argv + at + 2;
    std::unique_ptr<floor_bpf, SkelDeleter> skel(floor_bpf__open_and_load());
    if (!skel) {
        std::fprintf(stderr, "usdt_floor: cannot load the BPF program\n");
        return 1;
    }
    struct Probe {
        const char* provider;
        const char* name;
    };
    const std::vector<Probe> probes =
        langswarm ? std::vector<Probe>{{"langswarm", "span_end"},
                                       {"langswarm", "span_tag"},
                                       {"langswarm", "span_error"},
                                       {"langswarm", "span_begin"},
                                       {"langswarm", "recording"}}
                  : std::vector<Probe>{{"lstrace_bench", "end"}, {"lstrace_bench", "begin"}};
    std::vector<std::unique_ptr<bpf_link, LinkDeleter>> links;
    for (const Probe& p : probes) {
        bpf_link* link = bpf_program__attach_usdt(skel->progs.count_hit, -1, binary, p.provider,
                                                  p.name, nullptr);
        if (!link) {
            std::fprintf(stderr, "usdt_floor: cannot attach %s:%s in %s\n", p.provider, p.name,
                         binary);
            return 1;
        }
        links.emplace_back(link);
    }
    const pid_t child = fork();
    if (child == 0) {
        execv(command[0], command);
        _exit(127);
    }
    int status = 0;
    waitpid(child, &status, 0);
    std::vector<__u64> per_cpu(static_cast<std::size_t>(libbpf_num_possible_cpus()));
    __u32 zero = 0;
    __u64 total = 0;
    if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.hits), &zero, per_cpu.data()) == 0)
        for (__u64 v : per_cpu)
            total += v;
    std::fprintf(stderr, "usdt_floor: %llu probe hits\n", static_cast<unsigned long long>(total));
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
