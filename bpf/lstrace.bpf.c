// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * lstrace.bpf.c - per-span kernel figures for langswarm USDT spans.
 *
 * Design.  The application's probes mark span begin/end on a thread.  At
 * span_begin we snapshot that thread's kernel counters (CPU clock, context
 * switches, faults, I/O accounting) and the process RSS onto the thread's
 * stack of open spans (its state in task-local storage, thread_state.bpf.h;
 * `span_starts`, keyed by (tgid, span id), past its depth); at span_end we
 * read them again and send the difference.  Reading the task's own
 * counters at the two probe hits costs a few loads and is exact for
 * everything the kernel counts per task.
 *
 * On-CPU time is the kernel's own thread clock read at both probe hits:
 * task->se.sum_exec_runtime brought up to date with the part the thread
 * has run since the kernel last charged it (thread_clock.bpf.h).  It needs
 * no scheduler event per thread, so a missed one costs nothing.
 *
 * Probe cost.  span_begin reads the span's clocks as its last work and
 * span_end as its first, so the programs' own work (and a thread's
 * one-time setup at its first span) stays outside the span as far as BPF
 * can place it; what remains inside is the return from the begin probe and
 * the trap into the end probe.  A traced span pays for its uprobe hits
 * (the floor) plus these programs; each helper call costs tens of
 * nanoseconds under return-thunk mitigations, so the programs make few:
 * probe arguments in one pass (usdt_args.bpf.h), RSS in one kernel read
 * per CPU (mm_rss.bpf.h), no hash-map work for spans nested up to
 * SPAN_STACK_DEPTH, namespace ids read once per thread.  bench/run.sh
 * measures it; ctest's perf check guards it.
 *
 * Per-thread state (the span stack with each span's peak RSS, the I/O
 * split kept by the syscall tracepoints) is described in
 * thread_state.bpf.h, the begin snapshots of open spans and the component
 * filter in span_state.bpf.h; the component, error and data-flow probes
 * are in points.bpf.h; what all of them share (settings, ring buffer,
 * counters) in common.bpf.h.  The recorder's component filter and
 * min_duration are applied in BPF, so filtered spans cost no ring-buffer
 * record and no formatting.
 *
 * Strings (names, tag values, error messages) go straight from user memory
 * into the reserved ring-buffer record: no intermediate copies.  Tags ride
 * with the span's end (span_tags.bpf.h): a span costs two probe hits.
 *
 * Nothing here writes to the traced process's memory.
 */
#include "common.bpf.h"
#include "io_tracking.bpf.h"
#include "peak_rss.bpf.h"
#include "points.bpf.h"
#include "span_state.bpf.h"
#include "span_tags.bpf.h"
#include "task_steps.bpf.h"
#include "thread_clock.bpf.h"
#include "thread_state.bpf.h"
#include "usdt_args.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

SEC("usdt")
int LSTRACE_USDT(on_span_begin, __u64 span_id, __u64 parent_span_id, __u64 trace_id_hi,
		 __u64 trace_id_lo, const char *tracer, const char *component,
		 const char *operation, const char *description)
{
	__u64 id = bpf_get_current_pid_tgid();
	if (!traced(id >> 32))
		return 0;
	struct lstrace_span_key key = { .tgid = id >> 32, .span_id = span_id };
	struct span_start start = { .tid = (__u32)id };
	/* made at the thread's first span: before begin_snapshot(), so its
	 * cost stays off the span's clocks */
	struct thread_state *ts = thread_state();
	start.task_key = running_task(ts);

	/* Each path returns right after its own save_start(): the reserved
	 * record is tested for NULL once, and nothing between its reservation
	 * and its submission may branch on it again (the 6.1 verifier then
	 * explores a path that still holds the reservation and rejects it). */
	if (component_filtered(component)) {
		start.flags |= SPAN_FILTERED;
		count(LSTRACE_CNT_FILTERED);
		begin_snapshot(&start, ts);
		save_start(ts, &key, &start);
		return 0;
	}
	struct lstrace_span_begin_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(LSTRACE_CNT_LOST_BEGIN);
		start.flags |= SPAN_BEGIN_LOST;
		begin_snapshot(&start, ts);
		save_start(ts, &key, &start);
		return 0;
	}

	fill_header(&e->hdr, LSTRACE_EV_SPAN_BEGIN, span_id, 0);
	if (ts) {
		e->ns_tid = ts->ns_tid;
		e->ns_tgid = ts->ns_tgid;
	} else {
		struct task_struct *task = bpf_get_current_task_btf();
		e->ns_tid = ns_id(task->thread_pid);
		e->ns_tgid = ns_id(task->group_leader->thread_pid);
	}
	e->parent_span_id = parent_span_id;
	e->trace_id_hi = trace_id_hi;
	e->trace_id_lo = trace_id_lo;
	__u32 trunc = copy_user_str(e->tracer, sizeof(e->tracer), tracer);
	trunc |= copy_user_str(e->component, sizeof(e->component), component);
	trunc |= copy_user_str(e->operation, sizeof(e->operation), operation);
	trunc |= copy_user_str(e->description, sizeof(e->description), description);
	e->hdr.flags = trunc;
	if (collect_thread_info) {
		bpf_get_current_comm(e->comm, sizeof(e->comm));
		e->cpu = bpf_get_smp_processor_id();
	} else {
		e->comm[0] = '\0';
		e->cpu = 0;
	}
	e->pad = 0;
	begin_snapshot(&start, ts);
	save_start(ts, &key, &start);
	e->hdr.ts_ns = start.ts_ns;
	bpf_ringbuf_submit(e, submit_flags());
	return 0;
}

/* A span shorter than min_duration_ns that did not fail: the consumer
 * forgets it.  Nothing is lost if this cannot be sent either: the span is
 * then counted as a lost end. */
static __always_inline bool send_dropped(struct lstrace_span_key *key, __u64 span_id, __u64 now)
{
	struct lstrace_span_dropped_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return false;
	fill_header(&e->hdr, LSTRACE_EV_SPAN_DROPPED, span_id, now);
	bpf_ringbuf_submit(e, submit_flags());
	return true;
}

SEC("usdt")
int LSTRACE_USDT(on_span_end, __u64 span_id, int status, const void *tags, __u64 tags_size)
{
	__u64 id = bpf_get_current_pid_tgid();
	if (!traced(id >> 32))
		return 0;
	/* the span's clocks first: the rest of this program is not the span's */
	__u64 now = bpf_ktime_get_ns();
	struct thread_state *ts = current_thread_state();
	struct lstrace_span_figures at_end = {};
	bool have_cpu = read_figures(&at_end, ts);
	struct lstrace_span_key key = { .tgid = id >> 32, .span_id = span_id };
	bool in_hash;
	__s64 peak;
	struct span_start *start = take_start(ts, &key, at_end.rss_bytes, &peak, &in_hash);

	if (start && !in_hash)
		resume_at_end(start, &at_end);
	if (start && (start->flags & (SPAN_BEGIN_LOST | SPAN_FILTERED))) {
		forget_start(&key, in_hash);
		return 0;
	}
	if (start && min_duration_ns && status == LSTRACE_STATUS_OK &&
	    now - start->ts_ns < min_duration_ns) {
		if (!send_dropped(&key, span_id, now)) {
			/* the consumer must forget its begin all the same: the
			 * span is in lost_ends, but it was not lost (dropped as
			 * asked), so it has a counter of its own */
			const __u8 yes = 1;
			count(LSTRACE_CNT_DROP_UNSENT);
			bpf_map_update_elem(&lost_ends, &key, &yes, BPF_ANY);
		}
		forget_start(&key, in_hash);
		return 0;
	}
	struct lstrace_span_end_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		/* a span that began before the attach is not ours to lose */
		if (start) {
			const __u8 yes = 1;
			count(LSTRACE_CNT_LOST_END);
			bpf_map_update_elem(&lost_ends, &key, &yes, BPF_ANY);
		}
		forget_start(&key, in_hash);
		return 0;
	}
	fill_header(&e->hdr, LSTRACE_EV_SPAN_END, span_id, now);
	e->status = status;
	e->rss_end_bytes = at_end.rss_bytes;
	e->peak_rss_bytes = peak;
	e->fds_open = open_fd_count();
	e->cpu = collect_thread_info ? bpf_get_smp_processor_id() : 0;

	if (!start) {
		e->hdr.flags |= LSTRACE_F_NO_BEGIN | LSTRACE_F_NO_PEAK;
		e->begin_ts_ns = 0;
		e->begin_tid = 0;
		__builtin_memset(&e->delta, 0, sizeof(e->delta));
		/* the consumer has no record for these tags */
		e->tags_size = 0;
		e->tags_pad = 0;
		bpf_ringbuf_submit(e, submit_flags());
		return 0;
	}
	read_span_tags(e, tags, tags_size);
	e->begin_ts_ns = start->ts_ns;
	e->begin_tid = start->tid;
	if (start->tid != (__u32)id)
		e->hdr.flags |= LSTRACE_F_THREAD_CHANGED;
	if (!have_cpu || (start->flags & LSTRACE_F_NO_ONCPU))
		e->hdr.flags |= LSTRACE_F_NO_ONCPU;
	if (peak < 0)
		e->hdr.flags |= LSTRACE_F_NO_PEAK;
	if (ts && others_rss_changes(ts, id >> 32) != start->others_rss_changes)
		e->hdr.flags |= LSTRACE_F_RSS_OTHER_THREADS;
	e->hdr.flags |= (start->flags & LSTRACE_F_RSS_APPROXIMATE) | rss_flags();
	if (start->task_key && !in_hash)
		e->hdr.flags |= LSTRACE_F_PER_TASK;

	/* every figure is a 64-bit counter (lstrace_abi.h): subtract them as
	 * an array; RSS is signed, and two's complement makes that the same */
	const __u64 *end_vals = (const __u64 *)&at_end;
	const __u64 *begin_vals = (const __u64 *)&start->at_begin;
	__u64 *delta = (__u64 *)&e->delta;
#pragma unroll
	for (__u32 i = 0; i < sizeof(struct lstrace_span_figures) / sizeof(__u64); i++)
		delta[i] = end_vals[i] - begin_vals[i];
	/* a thread clock cannot run backwards: if it seems to, the clock offset
	 * (thread_clock.bpf.h) did not hold across the span; say unknown */
	if ((__s64)e->delta.oncpu_ns < 0) {
		e->delta.oncpu_ns = 0;
		e->hdr.flags |= LSTRACE_F_NO_ONCPU;
	}
	forget_start(&key, in_hash);
	bpf_ringbuf_submit(e, submit_flags());
	return 0;
}

SEC("usdt")
int LSTRACE_USDT(on_span_tag, __u64 span_id, const char *key, int value_type, __s64 num,
		 const char *str)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	if (!traced(tgid) || span_filtered(tgid, span_id))
		return 0;
	struct lstrace_span_tag_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(LSTRACE_CNT_LOST_TAG);
		return 0;
	}
	fill_header(&e->hdr, LSTRACE_EV_SPAN_TAG, span_id, bpf_ktime_get_ns());
	e->value_type = value_type;
	e->pad = 0;
	e->num = num;
	__u32 trunc = copy_user_str(e->key, sizeof(e->key), key);
	if (str)
		trunc |= copy_user_str(e->str, sizeof(e->str), str);
	else
		e->str[0] = '\0';
	e->hdr.flags = trunc;
	bpf_ringbuf_submit(e, submit_flags());
	return 0;
}

SEC("usdt")
int LSTRACE_USDT(on_span_error, __u64 span_id, const char *error_type, const char *message)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	if (!traced(tgid) || span_filtered(tgid, span_id))
		return 0;
	struct lstrace_span_error_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(LSTRACE_CNT_LOST_ERROR);
		return 0;
	}
	fill_header(&e->hdr, LSTRACE_EV_SPAN_ERROR, span_id, bpf_ktime_get_ns());
	__u32 trunc = copy_user_str(e->error_type, sizeof(e->error_type), error_type);
	trunc |= copy_user_str(e->message, sizeof(e->message), message);
	e->hdr.flags = trunc;
	bpf_ringbuf_submit(e, submit_flags());
	return 0;
}

/* A step of a coroutine task begins or ends on this thread: its spans'
 * figures run only between the two (task_steps.bpf.h). */
SEC("usdt")
int LSTRACE_USDT(on_task_resume, __u64 task)
{
	return task_step(task, true);
}

SEC("usdt")
int LSTRACE_USDT(on_task_suspend, __u64 task)
{
	return task_step(task, false);
}

/*
 * langswarm:recording never executes; attaching it raises the semaphore the
 * application checks before starting a span (LSTRACE_ENABLED).
 */
SEC("usdt")
int LSTRACE_USDT(on_recording_gate)
{
	return 0;
}

/* Keeps the offset between CLOCK_MONOTONIC and the scheduler's clock
 * (thread_clock.bpf.h); the thread clocks themselves need no event. */
SEC("tp_btf/sched_switch")
int BPF_PROG(on_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	clock_offset_sample(prev);
	return 0;
}

/* A thread of a traced process exits; `group_dead`: it is the last one. */
static __always_inline int thread_exited(struct task_struct *task, bool group_dead)
{
	__u32 tgid = task->tgid;

	if (!bpf_map_lookup_elem(&traced_tgids, &tgid))
		return 0;
	/* the thread's state goes with the task */
	if (group_dead)
		bpf_map_delete_elem(&process_rss_changes, &tgid);

	struct lstrace_thread_exit_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(LSTRACE_CNT_LOST_EXIT);
		return 0;
	}
	fill_header(&e->hdr, LSTRACE_EV_THREAD_EXIT, 0, bpf_ktime_get_ns());
	/* the tracepoint runs in the exiting task: fill_header saw its ids */
	int code = task->exit_code;
	if (group_dead && task->signal->group_exit_code)
		code = task->signal->group_exit_code;
	e->exit_code = code;
	e->group_dead = group_dead;
	/* a process's exit must reach the consumer promptly */
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	return 0;
}

/*
 * sched_process_exit gained its group_dead argument after v6.1 (6.18 has
 * it); before, the tracepoint has the task only, and reading a second
 * argument is refused ("invalid bpf_context access").  The loader keeps the
 * variant whose prototype the kernel's BTF shows (kernel_features.cpp).  Without the
 * argument, group_dead is what do_exit() decided just before: the
 * decrement of signal->live that reached 0.  (Two last threads exiting at
 * once may then both read 0; both are exiting with their process anyway.)
 */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_thread_exit, struct task_struct *task, bool group_dead)
{
	return thread_exited(task, group_dead);
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_thread_exit_task_only, struct task_struct *task)
{
	return thread_exited(task, task->signal->live.counter == 0);
}

/* --follow: a traced process's new child process is traced too. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	if (!follow_children)
		return 0;
	__u32 ptgid = parent->tgid, ctgid = child->tgid;
	if (ctgid == ptgid || !bpf_map_lookup_elem(&traced_tgids, &ptgid))
		return 0; /* a new thread, or not ours */
	const __u8 yes = 1;
	bpf_map_update_elem(&traced_tgids, &ctgid, &yes, BPF_ANY);

	struct lstrace_process_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(LSTRACE_CNT_LOST_PROCESS);
		return 0;
	}
	fill_header(&e->hdr, LSTRACE_EV_PROCESS_FORK, 0, bpf_ktime_get_ns());
	e->hdr.tgid = ctgid;
	e->hdr.tid = ctgid;
	e->parent_tgid = ptgid;
	e->pad = 0;
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	return 0;
}

/* A traced process exec'd: the recorder ends the spans the old image left
 * open, and with --follow (which holds the process in a ptrace exec stop,
 * see userspace/record/exec_hold.hpp, until it has attached to the new
 * image) keeps its list of processes. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tgid = task->tgid;
	if (!bpf_map_lookup_elem(&traced_tgids, &tgid))
		return 0;
	struct lstrace_process_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(LSTRACE_CNT_LOST_PROCESS);
		return 0;
	}
	fill_header(&e->hdr, LSTRACE_EV_PROCESS_EXEC, 0, bpf_ktime_get_ns());
	e->parent_tgid = 0;
	e->pad = 0;
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	return 0;
}
