/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * thread_state.bpf.h - what BPF keeps per traced thread: one record in
 * task-local storage, made at the thread's first probe hit and freed with
 * the task (found through the task itself: no hashing, no table to fill,
 * and a reused tid starts from nothing).  It holds:
 *  - the stack of the thread's open spans, innermost last, one depth for
 *    everything kept per span: each entry is the span's begin snapshot
 *    (span_state.bpf.h) and the highest RSS seen during it so far
 *    (peak_rss.bpf.h);
 *  - I/O counters split by descriptor kind and the time blocked in I/O
 *    syscalls, kept by the syscall tracepoints (io_tracking.bpf.h) - the
 *    kernel has no such per-task counters - and the syscall in flight;
 *  - the RSS changes the thread made (peak_rss.bpf.h);
 *  - its ids in its own PID namespace;
 *  - the coroutine task whose step it runs now (task_steps.bpf.h).
 * The thread's CPU time needs no state: it is the kernel's own clock
 * (thread_clock.bpf.h).
 */
#ifndef LSTRACE_THREAD_STATE_BPF_H
#define LSTRACE_THREAD_STATE_BPF_H

#include "common.bpf.h"

/* span_start.flags bits (private to BPF): the span's begin event was lost,
 * so the span was counted as lost once and its end is not sent; the span's
 * component is filtered out. */
#define SPAN_BEGIN_LOST (1u << 31)
#define SPAN_FILTERED (1u << 30)
/* the span's task is suspended: its snapshot holds the counters paused at
 * (task_steps.bpf.h) */
#define SPAN_TASK_PAUSED (1u << 29)

/* A span's begin snapshot: what its end is measured from. */
struct span_start {
	__u64 ts_ns;
	__u32 tid;
	__u32 flags;
	__u64 others_rss_changes; /* the process's RSS changes not by this thread */
	__u64 task_key; /* the task whose step began the span, 0: none (task_steps.bpf.h) */
	struct lstrace_span_figures at_begin;
};

/* Spans open on a thread that are kept on its stack; deeper ones keep
 * their snapshot in span_starts (span_state.bpf.h) and have no peak RSS. */
#define SPAN_STACK_DEPTH LSTRACE_PEAK_DEPTH
_Static_assert((SPAN_STACK_DEPTH & (SPAN_STACK_DEPTH - 1)) == 0,
	       "stack indexes are masked with SPAN_STACK_DEPTH - 1");

struct stacked_span {
	__u64 span_id; /* 0: taken (an entry under the top, ended out of order) */
	__s64 peak;    /* the highest process RSS seen during the span so far */
	struct span_start start;
};

struct thread_state {
	struct lstrace_thread_io io;
	/* the I/O syscall in flight (sc_class 0: none) */
	__u64 sc_enter_ns;
	__u64 sc_enter_oncpu_ns; /* the thread's CPU clock then (if sc_clock_known) */
	__u64 sc_msgvec;	 /* recvmmsg/sendmmsg: the user's mmsghdr array */
	__u32 sc_class;
	__u32 sc_fd_kind;     /* the descriptor read from */
	__u32 sc_fd_kind_out; /* the descriptor written to */
	__u8 sc_clock_known;
	__u8 sc_ioac_misses; /* task->ioac does not count its bytes */
	__u16 sc_pad;
	/* bytes of socket calls and splice, which task->ioac leaves out:
	 * added to its rchar/wchar in read_bytes/write_bytes */
	__u64 uncounted_read_bytes;
	__u64 uncounted_write_bytes;
	__u64 rss_changes; /* RSS changes this thread made (tp_btf/rss_stat) */
	/* the thread's ids in its own PID namespace: fixed for its lifetime,
	 * so read once, at its first probe hit (four kernel reads a span less) */
	__u32 ns_tid;
	__u32 ns_tgid;
	__u32 depth; /* entries on the span stack */
	__u32 pad;
	__u64 running_task; /* the task whose step runs now, 0: none (task_steps.bpf.h) */
	struct stacked_span spans[SPAN_STACK_DEPTH];
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct thread_state);
} threads SEC(".maps");

/* RSS changes of each traced process by all its threads, probes or not (an
 * entry is made at the first probe hit of one of its threads, removed at
 * its exit): compared with a thread's own rss_changes, they tell whether
 * other threads changed the RSS during a span (peak_rss.bpf.h). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} process_rss_changes SEC(".maps");

/* The current thread's state, NULL before its first probe hit. */
static __always_inline struct thread_state *current_thread_state(void)
{
	return bpf_task_storage_get(&threads, bpf_get_current_task_btf(), 0, 0);
}

/* The id of `pid` in the innermost PID namespace it belongs to. */
static __always_inline __u32 ns_id(struct pid *pid)
{
	unsigned int level = BPF_CORE_READ(pid, level);
	struct upid up = {};

	bpf_core_read(&up, sizeof(up), &pid->numbers[level]);
	return up.nr;
}

/* This thread's state, made at its first probe hit; NULL if the kernel had
 * no memory for it. */
static __always_inline struct thread_state *thread_state(void)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct thread_state *ts = bpf_task_storage_get(&threads, task, 0, 0);
	if (ts)
		return ts;
	ts = bpf_task_storage_get(&threads, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!ts) {
		count(LSTRACE_CNT_THREAD_MAP_FULL);
		return NULL;
	}
	/* made zeroed; the process's count of RSS changes starts with its
	 * first thread's state */
	const __u32 tgid = bpf_get_current_pid_tgid() >> 32;
	const __u64 none = 0;
	bpf_map_update_elem(&process_rss_changes, &tgid, &none, BPF_NOEXIST);
	ts->ns_tid = ns_id(task->thread_pid);
	ts->ns_tgid = ns_id(task->group_leader->thread_pid);
	return ts;
}

#endif /* LSTRACE_THREAD_STATE_BPF_H */
