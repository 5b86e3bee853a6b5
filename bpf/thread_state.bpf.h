/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * thread_state.bpf.h - what BPF keeps per traced thread.
 *
 * A thread enters `threads` at its first probe hit (it is running then, so
 * accounting from there on is exact) and leaves at exit, so a reused tid
 * starts from zero.  Its entry holds:
 *  - a CPU clock advanced by tp_btf/sched_switch: task->se.sum_exec_runtime
 *    is only brought up to date at ticks and switches, so at a probe hit it
 *    can be one tick (4 ms at HZ=250) stale;
 *  - I/O counters split by descriptor kind and the time blocked in I/O
 *    syscalls, kept by the syscall tracepoints (io_tracking.bpf.h) - the
 *    kernel has no such per-task counters;
 *  - the syscall in flight (for its exit);
 *  - a stack of peak RSS values, one per open span (peak_rss.bpf.h).
 */
#ifndef LSTRACE_THREAD_STATE_BPF_H
#define LSTRACE_THREAD_STATE_BPF_H

#include "common.bpf.h"

struct thread_state {
	__u64 oncpu_ns; /* accumulated up to the last switch-out */
	__u64 since_ns; /* when it last went on CPU (valid while running) */
	__u32 running;
	__u32 depth; /* open spans (peak RSS stack height) */
	struct lstrace_thread_io io;
	/* the I/O syscall in flight (sc_class 0: none) */
	__u64 sc_enter_ns;
	__u64 sc_enter_oncpu_ns;
	__u32 sc_class;
	__u32 sc_fd_kind;
	/* the thread's ids in its own PID namespace: fixed for its lifetime,
	 * so read once, at its first probe hit (four kernel reads a span less) */
	__u32 ns_tid;
	__u32 ns_tgid;
	__s64 peak[LSTRACE_PEAK_DEPTH];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct thread_state);
} threads SEC(".maps");

static __always_inline __u64 clock_now(const struct thread_state *ts, __u64 now)
{
	/* `now` was read before this program could be preempted and the
	 * thread switched out and in again (since_ns > now): never negative */
	return ts->oncpu_ns + (ts->running && now > ts->since_ns ? now - ts->since_ns : 0);
}

/* The id of `pid` in the innermost PID namespace it belongs to. */
static __always_inline __u32 ns_id(struct pid *pid)
{
	unsigned int level = BPF_CORE_READ(pid, level);
	struct upid up = {};

	bpf_core_read(&up, sizeof(up), &pid->numbers[level]);
	return up.nr;
}

static const struct thread_state zero_thread_state;

/* This thread's state, created at its first probe hit; NULL if the table
 * is full. */
static __always_inline struct thread_state *thread_state(__u32 tid, __u64 now)
{
	struct thread_state *ts = bpf_map_lookup_elem(&threads, &tid);
	if (ts)
		return ts;
	/* Only this thread creates its entry, so NOEXIST cannot race.  (The
	 * zeroed template is a global: the state is too big for the stack.) */
	if (bpf_map_update_elem(&threads, &tid, &zero_thread_state, BPF_NOEXIST)) {
		count(LSTRACE_CNT_THREAD_MAP_FULL);
		return NULL;
	}
	ts = bpf_map_lookup_elem(&threads, &tid);
	if (ts) {
		struct task_struct *task = bpf_get_current_task_btf();

		ts->since_ns = now; /* it is running: the clock starts now */
		ts->running = 1;
		ts->ns_tid = ns_id(task->thread_pid);
		ts->ns_tgid = ns_id(task->group_leader->thread_pid);
	}
	return ts;
}

#endif /* LSTRACE_THREAD_STATE_BPF_H */
