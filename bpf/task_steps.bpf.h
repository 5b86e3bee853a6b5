/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * task_steps.bpf.h - per-task figures for spans of coroutine tasks that
 * interleave on one thread (asyncio).
 *
 * Two tasks on one event loop, each inside its own span, take turns at
 * every await: a per-thread delta between a span's begin and end charges
 * each span with the other's work.  The application therefore marks each
 * step of a task (one resumption of its coroutine, up to its next await)
 * with langswarm:task_resume(task) and langswarm:task_suspend(task) (the
 * Python binding does it from its event-loop task factory, only while a
 * recorder is attached).  A span that begins during a step of task T
 * belongs to T, and its figures count only while T runs:
 *
 *   span figures = (end - begin) - (what the thread did while T was suspended)
 *
 * kept without any extra per-span storage: at T's suspend the thread's
 * counters are subtracted from the begin snapshot of each of T's open
 * spans, and at T's resume they are added back, so the snapshot is always
 * "begin + time paused so far" and span_end's difference is T's own share.
 * RSS is process-wide and is left alone (its delta stays the span's whole
 * wall time).  A span begun outside any step (plain code, or a task that
 * was created before the recorder's hook) keeps per-thread figures, as do
 * spans nested deeper than the thread's stack (span_starts has no room for
 * this); the end event says which (LSTRACE_F_PER_TASK).
 *
 * A step cannot be missed the way a scheduler event can: both probes are
 * uprobes in the stepping thread.  A suspend without its resume (the
 * recorder attached during a step) finds no span of T open, and a span
 * still paused at its end (it was ended from another task) counts as
 * resumed there.
 */
#ifndef LSTRACE_TASK_STEPS_BPF_H
#define LSTRACE_TASK_STEPS_BPF_H

#include "common.bpf.h"
#include "span_state.bpf.h"
#include "thread_state.bpf.h"

/* Every figure but the process's RSS is shifted while a task is paused. */
#define FIGURE_COUNT (sizeof(struct lstrace_span_figures) / sizeof(__u64))
#define RSS_FIGURE (__builtin_offsetof(struct lstrace_span_figures, rss_bytes) / sizeof(__u64))

/* Pauses (at its task's suspend) or resumes a span with the counters `now`:
 * start->at_begin -= now, or += now, and the span's paused flag with it. */
static __always_inline void shift_span(struct span_start *start,
				       const struct lstrace_span_figures *now, bool resume)
{
	__u64 *begin = (__u64 *)&start->at_begin;
	const __u64 *vals = (const __u64 *)now;
#pragma unroll
	for (__u32 i = 0; i < FIGURE_COUNT; i++) {
		if (i == RSS_FIGURE)
			continue;
		begin[i] = resume ? begin[i] + vals[i] : begin[i] - vals[i];
	}
	if (resume)
		start->flags &= ~SPAN_TASK_PAUSED;
	else
		start->flags |= SPAN_TASK_PAUSED;
}

/* Whether stack entry `i` is an open span of `task` that is (`paused`) or
 * is not paused. */
static __always_inline bool task_span(struct thread_state *ts, int i, __u64 task, bool paused)
{
	struct stacked_span *s = &ts->spans[i];
	return (__u32)i < ts->depth && s->span_id && s->start.task_key == task &&
	       !(s->start.flags & SPAN_TASK_PAUSED) == !paused;
}

/* Pauses (at its suspend) or resumes every open span of `task` on this
 * thread: the counters are read only if one is there. */
static __always_inline void shift_task_spans(struct thread_state *ts, __u64 task, bool resume)
{
	bool any = false;
#pragma unroll
	for (int i = 0; i < SPAN_STACK_DEPTH; i++)
		any |= task_span(ts, i, task, resume);
	if (!any)
		return;
	struct lstrace_span_figures now = {};
	/* without the CPU clock at a pause or resume, the span's CPU time
	 * cannot be split: it becomes unknown */
	const __u32 clock_lost = read_figures(&now, ts) ? 0 : LSTRACE_F_NO_ONCPU;
#pragma unroll
	for (int i = 0; i < SPAN_STACK_DEPTH; i++) {
		if (!task_span(ts, i, task, resume))
			continue;
		struct span_start *start = &ts->spans[i].start;
		shift_span(start, &now, resume);
		start->flags |= clock_lost;
	}
}

/* span_end of a span that is paused (ended from another task than its
 * own): it counts as resumed at its end, `at_end`. */
static __always_inline void resume_at_end(struct span_start *start,
					  const struct lstrace_span_figures *at_end)
{
	if (start->flags & SPAN_TASK_PAUSED)
		shift_span(start, at_end, true);
}

/* The task whose step runs on this thread now (0: none), which spans begun
 * now belong to. */
static __always_inline __u64 running_task(const struct thread_state *ts)
{
	return ts ? ts->running_task : 0;
}

/* langswarm:task_resume (`resume`) or task_suspend of `task`.  A resume
 * makes the thread's state (a span may begin in the step); a suspend on a
 * thread without one has nothing to pause. */
static __always_inline int task_step(__u64 task, bool resume)
{
	if (!traced(bpf_get_current_pid_tgid() >> 32))
		return 0;
	struct thread_state *ts = resume ? thread_state() : current_thread_state();
	if (!ts)
		return 0;
	if (resume)
		ts->running_task = task;
	shift_task_spans(ts, task, resume);
	if (!resume && ts->running_task == task)
		ts->running_task = 0;
	return 0;
}

#endif /* LSTRACE_TASK_STEPS_BPF_H */
