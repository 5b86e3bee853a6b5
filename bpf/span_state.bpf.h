/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * span_state.bpf.h - the begin snapshots of open spans, from span_begin to
 * span_end, and the component filter that decides which spans get one.
 */
#ifndef LSTRACE_SPAN_STATE_BPF_H
#define LSTRACE_SPAN_STATE_BPF_H

#include "common.bpf.h"
#include "peak_rss.bpf.h"
#include "thread_clock.bpf.h"
#include "thread_state.bpf.h"

struct {
	/* LRU: snapshots of spans that never end (their thread died, or the
	 * application leaked them) must not fill the table for good */
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct lstrace_span_key);
	__type(value, struct span_start);
} span_starts SEC(".maps");

/*
 * The begin snapshots of the spans open on a thread are on its stack
 * (thread_state.bpf.h), innermost last.  Spans nest and end in LIFO order
 * on their thread, so a span's snapshot is at the top of its thread's
 * stack when it ends.  Spans nested deeper than SPAN_STACK_DEPTH use
 * span_starts.  A span that ends on another thread than the one it began
 * on (against docs/probes.md) finds no snapshot there and is sent without
 * figures; the consumer sees the thread change from the two events' thread
 * ids.  Its entry stays on the beginning thread's stack: such a thread
 * falls back to span_starts sooner.
 */

/* Spans whose end event was lost (ring buffer full): counted once as lost,
 * and the consumer looks here before calling a span it never saw end
 * "aborted" or "still open". */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct lstrace_span_key);
	__type(value, __u8);
} lost_ends SEC(".maps");

/* Component names of the enabled/disabled list (NUL-padded), each with the
 * number of spans that matched it (a name that matches nothing is likely
 * misspelled: the recorder warns). */
struct component_name {
	char name[LSTRACE_NAME_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, struct component_name);
	__type(value, __u64);
} component_names SEC(".maps");

/* Scratch space for a component name (too big for comfort on the stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct component_name);
} name_scratch SEC(".maps");

/* Whether the component filter skips spans of `component`. */
static __always_inline bool component_filtered(const char *component)
{
	if (component_filter == LSTRACE_COMPONENTS_ALL)
		return false;
	__u32 zero = 0;
	struct component_name *key = bpf_map_lookup_elem(&name_scratch, &zero);
	if (!key)
		return false;
	__builtin_memset(key, 0, sizeof(*key));
	bpf_probe_read_user_str(key->name, sizeof(key->name), component);
	__u64 *hits = bpf_map_lookup_elem(&component_names, key);
	if (hits)
		__sync_fetch_and_add(hits, 1);
	return component_filter == LSTRACE_COMPONENTS_ALLOW ? !hits : hits != NULL;
}

/* Keeps a span's begin snapshot until its end, on the thread's stack
 * (`ts`, NULL if the thread has no state) while there is room. */
static __always_inline void save_start(struct thread_state *ts, const struct lstrace_span_key *key,
				       const struct span_start *start)
{
	if (ts) {
		__u32 d = ts->depth;
		if (d < SPAN_STACK_DEPTH) {
			struct stacked_span *s = &ts->spans[d];
			s->span_id = key->span_id;
			s->peak = start->at_begin.rss_bytes;
			s->start = *start;
			ts->depth = d + 1;
			return;
		}
	}
	if (bpf_map_update_elem(&span_starts, key, start, BPF_ANY))
		count(LSTRACE_CNT_SPAN_MAP_FULL);
}

/* The slot of span `span_id` on the thread's stack, or -1. */
static __always_inline int stack_slot(struct thread_state *ts, __u64 span_id)
{
	__u32 depth = ts->depth;
#pragma unroll
	for (int i = SPAN_STACK_DEPTH - 1; i >= 0; i--)
		if ((__u32)i < depth && ts->spans[i].span_id == span_id)
			return i;
	return -1;
}

/* A span's begin snapshot, or NULL, and (*peak) its peak RSS given the RSS
 * `rss` at its end, -1 if unknown.  From the thread's stack it is popped
 * here (the entry stays readable until the thread's next span_begin); from
 * span_starts (*in_hash) the caller deletes it when done. */
static __always_inline struct span_start *take_start(struct thread_state *ts,
						     const struct lstrace_span_key *key, __s64 rss,
						     __s64 *peak, bool *in_hash)
{
	*in_hash = false;
	*peak = -1;
	if (ts) {
		int i = stack_slot(ts, key->span_id);
		if (i >= 0 && i < SPAN_STACK_DEPTH) {
			__u32 depth = ts->depth;
			struct stacked_span *s = &ts->spans[i];
			*peak = span_peak(ts, i, depth, s->peak, rss);
			s->span_id = 0;
			/* pop it, and entries under it already taken (ends out of
			 * LIFO order) once they reach the top */
#pragma unroll
			for (int j = SPAN_STACK_DEPTH - 1; j >= 0; j--)
				if ((__u32)j + 1 == depth && ts->spans[j].span_id == 0)
					depth = j;
			ts->depth = depth;
			return &s->start;
		}
	}
	*in_hash = true;
	return bpf_map_lookup_elem(&span_starts, key);
}

static __always_inline void forget_start(const struct lstrace_span_key *key, bool in_hash)
{
	if (in_hash)
		bpf_map_delete_elem(&span_starts, key);
}

/* Whether a tag or error of this span is dropped because its span was. */
static __always_inline bool span_filtered(__u32 tgid, __u64 span_id)
{
	if (component_filter == LSTRACE_COMPONENTS_ALL)
		return false;
	struct lstrace_span_key key = { .tgid = tgid, .span_id = span_id };
	struct thread_state *ts = current_thread_state();
	if (ts) {
		int i = stack_slot(ts, span_id);
		if (i >= 0 && i < SPAN_STACK_DEPTH)
			return ts->spans[i].start.flags & SPAN_FILTERED;
	}
	struct span_start *start = bpf_map_lookup_elem(&span_starts, &key);
	return start && (start->flags & SPAN_FILTERED);
}

/* LSTRACE_F_RSS_APPROXIMATE when other threads' unfolded RSS counts are
 * out of reach (kernels before v6.2, processes with several threads). */
static __always_inline __u32 rss_flags(void)
{
	if (!rss_cached_per_task())
		return 0;
	struct task_struct *task = bpf_get_current_task_btf();
	return task->signal->nr_threads > 1 ? LSTRACE_F_RSS_APPROXIMATE : 0;
}

/* Snapshots the thread's counters into `f`; false if its CPU clock is
 * unknown (the thread has no state, or thread_clock_ns() could not read
 * it; without state its I/O split is unknown too). */
static __always_inline bool read_figures(struct lstrace_span_figures *f, struct thread_state *ts)
{
	struct task_struct *task = bpf_get_current_task_btf();

	f->vol_ctxsw = task->nvcsw;
	f->invol_ctxsw = task->nivcsw;
	f->minor_faults = task->min_flt;
	f->major_faults = task->maj_flt;
	f->cpu_migrations = task->se.nr_migrations;
	/* task->ioac exists with CONFIG_TASK_XACCT; without it I/O stays 0 */
	if (bpf_core_field_exists(task->ioac)) {
		f->read_bytes = task->ioac.rchar;
		f->write_bytes = task->ioac.wchar;
		if (ts) {
			f->read_bytes += ts->uncounted_read_bytes;
			f->write_bytes += ts->uncounted_write_bytes;
		}
		f->read_syscalls = task->ioac.syscr;
		f->write_syscalls = task->ioac.syscw;
		f->storage_read_bytes = task->ioac.read_bytes;
		f->storage_write_bytes = task->ioac.write_bytes;
	}
	f->rss_bytes = process_rss_bytes(task, task->mm, -1);
	if (!ts)
		return false;
	f->io = ts->io;
	return thread_clock_ns(&f->oncpu_ns);
}

/* A span begins now: its start time and the counters it is measured from,
 * read as late as the program can (span_begin's last work). */
static __always_inline void begin_snapshot(struct span_start *start, struct thread_state *ts)
{
	start->ts_ns = bpf_ktime_get_ns();
	if (!read_figures(&start->at_begin, ts))
		start->flags |= LSTRACE_F_NO_ONCPU;
	start->flags |= rss_flags();
	if (ts)
		start->others_rss_changes =
		    others_rss_changes(ts, bpf_get_current_pid_tgid() >> 32);
}

#endif /* LSTRACE_SPAN_STATE_BPF_H */
