// Seeds the BPF thread clock's per-CPU offsets before the first span.
//
// The span CPU figure needs, on each CPU, the offset between CLOCK_MONOTONIC
// and the run queue's clock, learnt from sched_switch events on that CPU
// (bpf/thread_clock.bpf.h).  Until a CPU has seen a switch, a span that
// begins there has no CPU figure; right after attach, on a CPU busy with one
// thread, that can last for many ticks.  Making every CPU switch a few
// hundred times first costs ~15 ms once and removes that gap.
#pragma once

namespace lstrace {

// Blocks until each CPU this process may run on has switched tasks about
// `switches_per_cpu` times (one thread pinned per CPU, sleeping briefly).
void prime_sched_clock_offsets(int switches_per_cpu = 512);

}  // namespace lstrace
