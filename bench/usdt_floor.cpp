// usdt_floor BINARY -- COMMAND [ARGS]: runs COMMAND with a count-only BPF
// program on every langswarm probe site of BINARY (the gate last, as the
// recorder does), then prints the hit count on stderr.  The floor that
// bench/run.sh compares the recorder against.
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
    if (argc < 4 || std::strcmp(argv[2], "--") != 0) {
        std::fprintf(stderr, "usage: %s BINARY -- COMMAND [ARGS]\n", argv[0]);
        return 2;
    }
    std::unique_ptr<floor_bpf, SkelDeleter> skel(floor_bpf__open_and_load());
    if (!skel) {
        std::fprintf(stderr, "usdt_floor: cannot load the BPF program\n");
        return 1;
    }
    std::vector<std::unique_ptr<bpf_link, LinkDeleter>> links;
    for (const char* probe : {"span_end", "span_tag", "span_error", "span_begin", "recording"}) {
        bpf_link* link = bpf_program__attach_usdt(skel->progs.count_hit, -1, argv[1], "langswarm",
                                                  probe, nullptr);
        if (!link) {
            std::fprintf(stderr, "usdt_floor: cannot attach langswarm:%s in %s\n", probe, argv[1]);
            return 1;
        }
        links.emplace_back(link);
    }
    const pid_t child = fork();
    if (child == 0) {
        execv(argv[3], argv + 3);
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
