/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * thread_clock.bpf.h - a running thread's CPU time as the kernel's own
 * thread clock (CLOCK_THREAD_CPUTIME_ID, task_sched_runtime()) reads it.
 *
 * The kernel charges a thread in update_curr(): sum_exec_runtime grows by
 * rq_clock_task() - se.exec_start, and exec_start moves up to that clock.
 * It does so at ticks, switches, wakeups on the thread's run queue and
 * whenever someone reads the thread's clock.  Between two such updates a
 * running thread's clock is therefore
 *
 *     se.sum_exec_runtime + (clock_task(now) - se.exec_start)
 *
 * where clock_task(now) is what update_rq_clock() would make rq->clock_task
 * right now: rq->clock_task + (sched_clock(now) - rq->clock) (the rq clock
 * is sched_clock based; clock_task leaves out steal time and, with
 * IRQ_TIME_ACCOUNTING, interrupt time).  BPF can read all of these from the
 * task and its run queue, except sched_clock(now): it has only
 * bpf_ktime_get_ns(), CLOCK_MONOTONIC.  The two advance at the same rate
 * (to NTP's few ppm) but from different origins, so the offset between
 * them is learnt per CPU: at every sched_switch, __schedule() has just set
 * rq->clock to sched_clock (a microsecond or so before the tracepoint), so
 * ktime - rq->clock there is the offset plus a small positive delay; the
 * smallest sample seen is the estimate.  An error in the estimate is the
 * same at both ends of a span and cancels in its difference; only a change
 * of the estimate during a span (a new, smaller sample: rare once a few
 * hundred switches have been seen) or a span that moves between CPUs whose
 * estimates carry different delays shows, by a microsecond or two.  The
 * recorder makes every CPU switch a few hundred times right after attach
 * (record/clock_priming.cpp), so no span starts on a CPU without samples.
 *
 * So a span's CPU time is the difference of two readings of the kernel's
 * own accounting, whatever happened in between: no switch, wakeup or tick
 * needs to be seen by BPF, and a missed scheduler event costs nothing.
 */
#ifndef LSTRACE_THREAD_CLOCK_BPF_H
#define LSTRACE_THREAD_CLOCK_BPF_H

#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

/* ktime - rq->clock on this CPU: the smallest sample so far. */
struct sched_clock_offset {
	__s64 offset;
	__u64 samples;
	__u64 events; /* sched_switch events seen (for lose_sched_events) */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sched_clock_offset);
} clock_offsets SEC(".maps");

/* Test only (set by the loader from LSTRACE_TEST_LOSE_SCHED_EVENTS): the
 * sched_switch program ignores 63 of every 64 events on each CPU, as if
 * they had never reached BPF. */
const volatile bool lose_sched_events = false;

/* The run queue `task` is on (the current CPU's for the current task).
 * se.cfs_rq exists with CONFIG_FAIR_GROUP_SCHED (Debian's, Fedora's and
 * Ubuntu's kernels have it); without it the thread clock is unknown. */
static __always_inline struct rq *task_rq_of(struct task_struct *task)
{
	if (!bpf_core_field_exists(task->se.cfs_rq))
		return NULL;
	struct cfs_rq *cfs_rq = task->se.cfs_rq;
	return cfs_rq ? cfs_rq->rq : NULL;
}

/* At sched_switch on this CPU (`prev` is still current): one sample of the
 * offset between CLOCK_MONOTONIC and the rq clock __schedule() just set. */
static __always_inline void clock_offset_sample(struct task_struct *prev)
{
	__u32 zero = 0;
	struct sched_clock_offset *o = bpf_map_lookup_elem(&clock_offsets, &zero);
	if (!o)
		return;
	o->events++;
	if (lose_sched_events && (o->events & 63))
		return;
	struct rq *rq = task_rq_of(prev);
	if (!rq)
		return;
	__u64 clock = rq->clock;
	__s64 sample = (__s64)(bpf_ktime_get_ns() - clock);
	if (!o->samples || sample < o->offset)
		o->offset = sample;
	o->samples++;
}

/* The current thread's CPU clock, in ns, as CLOCK_THREAD_CPUTIME_ID would
 * read it now; false while it cannot be known (no sample on this CPU yet,
 * no run queue pointer, or the kernel kept updating the figures under us). */
static __always_inline bool thread_clock_ns(__u64 *clock_ns)
{
	__u32 zero = 0;
	struct sched_clock_offset *o = bpf_map_lookup_elem(&clock_offsets, &zero);
	if (!o || !o->samples)
		return false;
	struct task_struct *task = bpf_get_current_task_btf();
	struct rq *rq = task_rq_of(task);
	if (!rq)
		return false;
		/* A tick, or a wakeup on this run queue from another CPU, may update
		 * the figures between two of these loads (this program can also be
		 * preempted): read them again until exec_start and rq->clock held
		 * still across all of them. */
#pragma unroll
	for (int i = 0; i < 3; i++) {
		__u64 start = task->se.exec_start;
		__u64 clock = rq->clock;
		__u64 clock_task = rq->clock_task;
		__u64 sum = task->se.sum_exec_runtime;
		__u64 now = bpf_ktime_get_ns();
		asm volatile("" ::: "memory");
		if (task->se.exec_start == start && rq->clock == clock) {
			/* unsigned wrap-around: the terms may be negative, the
			 * sum is not */
			*clock_ns = sum + (clock_task - start) + (now - o->offset - clock);
			return true;
		}
	}
	return false;
}

#endif /* LSTRACE_THREAD_CLOCK_BPF_H */
