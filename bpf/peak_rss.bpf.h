/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * peak_rss.bpf.h - the highest RSS of the process during each span.
 *
 * The kernel's own high-water mark (mm->hiwater_rss) is only brought up to
 * date at unmap and exit, and is process-lifetime, not per span.  Instead
 * each traced thread keeps a stack of peaks, one per open span (spans nest
 * LIFO per thread): span_begin pushes the RSS at that moment, every RSS
 * change the thread makes (tp_btf/rss_stat, fired by the kernel's
 * add_mm_counter at page faults, unmaps and the like) raises the top, and
 * span_end pops it, folding it into the parent's.  So a span's peak covers
 * the RSS changes made by its own thread; changes made by other threads of
 * the process are seen at this thread's next change and at span end.
 * Before v6.2 a thread's faults reach the mm (and this tracepoint) only
 * every 64 events, so a peak reached between two folds can be missed by
 * up to that many pages.
 */
#ifndef LSTRACE_PEAK_RSS_BPF_H
#define LSTRACE_PEAK_RSS_BPF_H

#include "common.bpf.h"
#include "mm_rss.bpf.h"
#include "thread_state.bpf.h"

const volatile __u64 page_size = 4096;

/* An index into thread_state.peak the verifier can see is in bounds
 * (barrier_var keeps the compiler from dropping the mask after a range
 * check it considers sufficient). */
static __always_inline __u32 peak_slot(__u32 depth)
{
	barrier_var(depth);
	return depth & (LSTRACE_PEAK_DEPTH - 1);
}

/* The process's RSS as the current thread `task` sees it: its mm's counts
 * plus what the thread itself has not folded into them yet (before v6.2),
 * except counter `skip` (-1: none). */
static __always_inline __s64 process_rss_bytes(struct task_struct *task, struct mm_struct *mm,
					       int skip)
{
	return (mm_resident_pages(mm) + task_cached_pages(task, skip)) * (__s64)page_size;
}

/* A span begins with the RSS `rss`; returns its stack depth (1-based). */
static __always_inline __u32 peak_push(struct thread_state *ts, __s64 rss)
{
	__u32 d = ts->depth + 1;
	ts->depth = d;
	if (d < LSTRACE_PEAK_DEPTH)
		ts->peak[peak_slot(d)] = rss;
	return d;
}

/* The span at `depth` ends with RSS `rss`: its peak, or -1 if unknown. */
static __always_inline __s64 peak_pop(struct thread_state *ts, __u32 depth, __s64 rss)
{
	if (depth == 0)
		return -1;
	if (depth != ts->depth) {
		/* Out of LIFO order.  Deeper spans still open were leaked (or end
		 * later, unmeasured): unwind to below this span.  A span already
		 * unwound that way (depth above the stack) changes nothing. */
		if (depth < ts->depth)
			ts->depth = depth - 1;
		return -1;
	}
	ts->depth = depth - 1;
	if (depth >= LSTRACE_PEAK_DEPTH)
		return -1;
	__s64 peak = ts->peak[peak_slot(depth)];
	if (rss > peak)
		peak = rss;
	__u32 parent = peak_slot(depth - 1);
	if (depth > 1 && peak > ts->peak[parent])
		ts->peak[parent] = peak;
	return peak;
}

/* A span begun on thread `begin_tid` at `depth` ends on thread `tid`
 * (whose state is `ts`, maybe NULL).  Ended on another thread, it has no
 * peak, and it is taken off its own thread's stack (if it is still on top:
 * a race with that thread only costs one unknown peak). */
static __always_inline __s64 peak_end(struct thread_state *ts, __u32 tid, __u32 begin_tid,
				      __u32 depth, __s64 rss)
{
	if (begin_tid == tid)
		return ts ? peak_pop(ts, depth, rss) : -1;
	struct thread_state *bts = bpf_map_lookup_elem(&threads, &begin_tid);
	if (bts && depth > 0 && bts->depth == depth)
		bts->depth = depth - 1;
	return -1;
}

SEC("tp_btf/rss_stat")
int BPF_PROG(on_rss_stat, struct mm_struct *mm, int member)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct thread_state *ts = bpf_map_lookup_elem(&threads, &tid);
	if (!ts)
		return 0;
	__u32 d = ts->depth;
	if (d == 0 || d >= LSTRACE_PEAK_DEPTH)
		return 0;
	struct task_struct *task = bpf_get_current_task_btf();
	if (task->mm != mm)
		return 0; /* another process's mm (e.g. at its exit) */
	/* before v6.2 this fires when a thread folds its cached count of
	 * `member` into the mm (every 64 faults): still in both, counted once */
	__s64 rss = process_rss_bytes(task, mm, member);
	__u32 i = peak_slot(d);
	if (rss > ts->peak[i])
		ts->peak[i] = rss;
	return 0;
}

#endif /* LSTRACE_PEAK_RSS_BPF_H */
