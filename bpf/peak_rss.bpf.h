/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * peak_rss.bpf.h - the highest RSS of the process during each span.
 *
 * The kernel's own high-water mark (mm->hiwater_rss) is only brought up to
 * date at unmap and exit, and is process-lifetime, not per span.  Instead
 * each entry of a thread's span stack (thread_state.bpf.h; spans nest LIFO
 * per thread) keeps a peak: span_begin sets it to the RSS at that moment,
 * every RSS change the thread makes (tp_btf/rss_stat, fired by the
 * kernel's add_mm_counter at page faults, unmaps and the like) raises the
 * top entry's, and span_end pops it, folding it into the parent's.  So a span's peak covers
 * the RSS changes made by its own thread; changes made by other threads of
 * the process are seen at this thread's next change and at span end.
 * Before v6.2 a thread's faults reach the mm (and this tracepoint) only
 * every 64 events, so a peak reached between two folds can be missed by
 * up to that many pages.
 *
 * Whether other threads changed the RSS during a span is known exactly
 * (LSTRACE_F_RSS_OTHER_THREADS): every RSS change of a traced process is
 * counted per process, the thread's own per thread; a span during which
 * the first grew more than the second saw other threads' changes.
 */
#ifndef LSTRACE_PEAK_RSS_BPF_H
#define LSTRACE_PEAK_RSS_BPF_H

#include "common.bpf.h"
#include "mm_rss.bpf.h"
#include "thread_state.bpf.h"

const volatile __u64 page_size = 4096;

/* The process's RSS changes that were not the current thread's own. */
static __always_inline __u64 others_rss_changes(const struct thread_state *ts, __u32 tgid)
{
	__u64 *all = bpf_map_lookup_elem(&process_rss_changes, &tgid);
	return all ? *all - ts->rss_changes : 0;
}

/* An index into thread_state.spans the verifier can see is in bounds
 * (barrier_var keeps the compiler from dropping the mask after a range
 * check it considers sufficient). */
static __always_inline __u32 stack_index(__u32 i)
{
	barrier_var(i);
	return i & (SPAN_STACK_DEPTH - 1);
}

/* The process's RSS as the current thread `task` sees it: its mm's counts
 * plus what the thread itself has not folded into them yet (before v6.2),
 * except counter `skip` (-1: none). */
static __always_inline __s64 process_rss_bytes(struct task_struct *task, struct mm_struct *mm,
					       int skip)
{
	return (mm_resident_pages(mm) + task_cached_pages(task, skip)) * (__s64)page_size;
}

/* The span at slot `i` of the thread's stack (`depth` entries) ends with
 * RSS `rss`, its peak so far `peak`: its peak, or -1 if unknown (it ends
 * out of LIFO order: while deeper spans were on top, the thread's RSS
 * changes raised theirs).  Folds it into the parent's either way. */
static __always_inline __s64 span_peak(struct thread_state *ts, int i, __u32 depth, __s64 peak,
				       __s64 rss)
{
	if (rss > peak)
		peak = rss;
	if (i > 0) {
		struct stacked_span *parent = &ts->spans[stack_index(i - 1)];
		if (parent->span_id && peak > parent->peak)
			parent->peak = peak;
	}
	return (__u32)i + 1 == depth ? peak : -1;
}

SEC("tp_btf/rss_stat")
int BPF_PROG(on_rss_stat, struct mm_struct *mm, int member)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u64 *changes = bpf_map_lookup_elem(&process_rss_changes, &tgid);
	if (!changes)
		return 0; /* not a traced process, or none of its threads hit a probe yet */
	struct task_struct *task = bpf_get_current_task_btf();
	if (task->mm != mm)
		return 0; /* another process's mm (e.g. at its exit) */
	/* the thread's own count first: a reader on another CPU may then see
	 * one change too few of "others", never one too many */
	struct thread_state *ts = current_thread_state();
	if (ts)
		ts->rss_changes++;
	__sync_fetch_and_add(changes, 1);
	if (!ts)
		return 0;
	__u32 d = ts->depth;
	if (d == 0 || d > SPAN_STACK_DEPTH)
		return 0;
	/* before v6.2 this fires when a thread folds its cached count of
	 * `member` into the mm (every 64 faults): still in both, counted once */
	__s64 rss = process_rss_bytes(task, mm, member);
	struct stacked_span *top = &ts->spans[stack_index(d - 1)];
	if (rss > top->peak)
		top->peak = rss;
	return 0;
}

#endif /* LSTRACE_PEAK_RSS_BPF_H */
