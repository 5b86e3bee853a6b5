// The one-line message a verifier rejection becomes (exit 6): the program's
// name and the verdict, taken from libbpf's dump of the verifier log.
#include <catch2/catch.hpp>

#include "base/log.hpp"

using lstrace::parse_verifier_rejection;

TEST_CASE("a verifier log dump names the program and ends with its verdict", "[log]")
{
    // The shape libbpf 1.1 prints (one message), from Debian 12's 6.1 kernel.
    const std::string dump =
        "libbpf: prog 'on_span_begin': -- BEGIN PROG LOAD LOG --\n"
        "0: R1=ctx(off=0,imm=0) R10=fp0\n"
        "; int LSTRACE_USDT(on_span_begin, ...)\n"
        "2634: (85) call bpf_ringbuf_reserve#131\n"
        "2640: (95) exit\n"
        "Unreleased reference id=30 alloc_insn=2635\n"
        "processed 3021 insns (limit 1000000) max_states_per_insn 4 total_states 198\n"
        "-- END PROG LOAD LOG --";
    const auto r = parse_verifier_rejection(dump);
    REQUIRE(r);
    CHECK(r->program == "on_span_begin");
    CHECK(r->last_lines == "2634: (85) call bpf_ringbuf_reserve#131; 2640: (95) exit; "
                           "Unreleased reference id=30 alloc_insn=2635");
}

TEST_CASE("a short log is quoted whole, and other libbpf messages are no rejection", "[log]")
{
    const auto r =
        parse_verifier_rejection("libbpf: prog 'on_thread_exit': -- BEGIN PROG LOAD LOG --\n"
                                 "func 'sched_process_exit' doesn't have 2-th argument\n"
                                 "invalid bpf_context access off=8 size=8\n"
                                 "-- END PROG LOAD LOG --");
    REQUIRE(r);
    CHECK(r->program == "on_thread_exit");
    CHECK(r->last_lines == "func 'sched_process_exit' doesn't have 2-th argument; "
                           "invalid bpf_context access off=8 size=8");
    CHECK_FALSE(parse_verifier_rejection(
        "libbpf: prog 'on_span_begin': BPF program load failed: Invalid argument"));
    CHECK_FALSE(parse_verifier_rejection("libbpf: map 'events': created"));
    CHECK_FALSE(parse_verifier_rejection(""));
}
