// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * lstrace.bpf.c - per-span kernel figures for langswarm USDT spans.
 *
 * Design.  The application's probes mark span begin/end on a thread.  At
 * span_begin we snapshot that thread's kernel counters (CPU clock, context
 * switches, faults, I/O accounting) and the process RSS onto the thread's
 * stack of open spans (`span_stacks`, task-local storage; `span_starts`,
 * keyed by (tgid, span id), past its depth); at span_end we read them again
 * and send the difference.  Reading the task's own counters at the two
 * probe hits costs a few loads and is exact for everything the kernel
 * counts per task.
 *
 * Cost.  A traced span pays for its uprobe hits (the floor, ~0.65 us each
 * on the development VM) plus these programs; each helper call costs tens
 * of nanoseconds there, so the programs make few: probe arguments in one
 * pass (usdt_args.bpf.h), RSS in one kernel read per CPU (mm_rss.bpf.h),
 * no hash-map work for spans nested up to SPAN_STACK_DEPTH, namespace ids
 * read once per thread.  bench/run.sh measures it; ctest's perf check
 * guards it.
 *
 * The exception is on-CPU time: task->se.sum_exec_runtime is only brought up
 * to date at scheduler ticks and switches, so at a probe hit it can be one
 * tick (4 ms at HZ=250) stale.  We keep our own per-thread CPU clock
 * instead (`threads`, advanced by tp_btf/sched_switch).
 *
 * Per-thread state (the CPU clock, the I/O split kept by the syscall
 * tracepoints, the peak-RSS stack) is described in thread_state.bpf.h; the
 * component, error and data-flow probes are in points.bpf.h.  The
 * recorder's component filter and min_duration are applied here, so
 * filtered spans cost no ring-buffer record and no formatting.
 *
 * Strings (names, tag values, error messages) go straight from user memory
 * into the reserved ring-buffer record: no intermediate copies.
 *
 * Nothing here writes to the traced process's memory.
 */
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

#include "lstrace_abi.h"
#include "mm_rss.bpf.h"
#include "usdt_args.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Set by the loader between open and load. */
/* Wake the consumer only once this many bytes wait in the ring buffer; below
 * that it drains on its own timer.  A wakeup per event would cost the traced
 * thread an irq_work and the consumer a context switch per span. */
const volatile __u64 wakeup_bytes = 1 << 20;

/* Modes where probes are attached for every process mapping a file (not
 * per PID): then each program checks traced_tgids first.  follow_children
 * adds the children of traced processes (fork) and stops a traced process
 * at exec until the loader has attached its new image; trace_any_process
 * (--binary) takes every process that hits a probe. */
const volatile bool filter_tgids = false;
const volatile bool follow_children = false;
const volatile bool trace_any_process = false;

/* The recorder's configuration (TracingConfig), applied here so that work
 * the user asked not to have is not done: spans of filtered components
 * send nothing, spans shorter than min_duration_ns send a
 * SPAN_DROPPED (32 bytes) instead of their figures. */
enum { COMPONENTS_ALL = 0, COMPONENTS_ALLOW = 1, COMPONENTS_DENY = 2 };
const volatile __u32 component_filter = COMPONENTS_ALL;
const volatile __u64 min_duration_ns = 0;
const volatile bool collect_thread_info = false;
const volatile bool collect_stacks = false;

/* span_start.flags bits (private to BPF): the span's begin event was lost,
 * so the span was counted as lost once and its end is not sent; the span's
 * component is filtered out. */
#define SPAN_BEGIN_LOST (1u << 31)
#define SPAN_FILTERED (1u << 30)

struct span_key {
	__u32 tgid;
	__u32 pad;
	__u64 span_id;
};

struct span_start {
	__u64 ts_ns;
	__u32 tid;
	__u32 flags;
	__u32 depth; /* the thread's peak-RSS stack height with this span */
	__u32 pad;
	struct lstrace_span_figures at_begin;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20); /* resized by the loader */
} events SEC(".maps");

struct {
	/* LRU: snapshots of spans that never end (their thread died, or the
	 * application leaked them) must not fill the table for good */
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct span_key);
	__type(value, struct span_start);
} span_starts SEC(".maps");

/*
 * The begin snapshots of the spans open on a thread, innermost last.  Spans
 * nest and end in LIFO order on their thread, so a span's snapshot is at
 * the top of its thread's stack when it ends.  Task-local storage is found
 * through the task itself and freed with it: no hashing and no LRU
 * bookkeeping (span_starts' update, lookup and delete were a tenth of a
 * traced span's cost).  Spans nested deeper than SPAN_STACK_DEPTH use
 * span_starts.  A span that ends on another thread than the one it began
 * on (against docs/probes.md) finds no snapshot there and is sent without
 * figures; the consumer sees the thread change from the two events' thread
 * ids.  Its entry stays on the beginning thread's stack (and its level on
 * that thread's peak-RSS stack, which peak_end() can only unwind with the
 * snapshot's thread id): such a thread falls back to span_starts sooner.
 */
#define SPAN_STACK_DEPTH 8

struct stacked_span {
	__u64 span_id; /* 0: taken (an entry under the top, ended out of order) */
	struct span_start start;
};

struct span_stack {
	__u32 depth;
	__u32 pad;
	struct stacked_span spans[SPAN_STACK_DEPTH];
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct span_stack);
} span_stacks SEC(".maps");

/* Spans whose end event was lost (ring buffer full): counted once as lost,
 * and the consumer looks here before calling a span it never saw end
 * "aborted" or "still open". */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct span_key);
	__type(value, __u8);
} lost_ends SEC(".maps");

/* The processes this recorder traces (filled by the loader): programs that
 * fire for every task check it before doing anything else. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} traced_tgids SEC(".maps");

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

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LSTRACE_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

#include "io_tracking.bpf.h"
#include "peak_rss.bpf.h"

/* Whether the calling process is one this recorder traces. */
static __always_inline bool traced(__u32 tgid)
{
	if (!filter_tgids)
		return true; /* probes attached per PID: the kernel filtered */
	if (bpf_map_lookup_elem(&traced_tgids, &tgid))
		return true;
	if (!trace_any_process)
		return false;
	const __u8 yes = 1;
	bpf_map_update_elem(&traced_tgids, &tgid, &yes, BPF_NOEXIST);
	return true;
}

static __always_inline __u64 submit_flags(void)
{
	return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes ? BPF_RB_FORCE_WAKEUP
									     : BPF_RB_NO_WAKEUP;
}

static __always_inline void count(__u32 which)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &which);
	if (c)
		*c += 1;
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

/* LSTRACE_F_RSS_APPROXIMATE when other threads' unfolded RSS counts are
 * out of reach (kernels before v6.2, processes with several threads). */
static __always_inline __u32 rss_flags(void)
{
	if (!rss_cached_per_task())
		return 0;
	struct task_struct *task = bpf_get_current_task_btf();
	return task->signal->nr_threads > 1 ? LSTRACE_F_RSS_APPROXIMATE : 0;
}

/* Snapshots the thread's counters into `f`; false if the thread has no
 * state (its CPU clock and I/O split are then unknown). */
static __always_inline bool read_figures(struct lstrace_span_figures *f, struct thread_state *ts,
					 __u64 now)
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
		f->read_syscalls = task->ioac.syscr;
		f->write_syscalls = task->ioac.syscw;
		f->storage_read_bytes = task->ioac.read_bytes;
		f->storage_write_bytes = task->ioac.write_bytes;
	}
	f->rss_bytes = process_rss_bytes(task, task->mm, -1);
	if (!ts)
		return false;
	f->oncpu_ns = clock_now(ts, now);
	f->io = ts->io;
	return true;
}

static __always_inline void fill_header(struct lstrace_event_header *h, __u16 type, __u64 span_id,
					__u64 now)
{
	__u64 id = bpf_get_current_pid_tgid();

	h->type = type;
	h->version = LSTRACE_ABI_VERSION;
	h->flags = 0;
	h->tgid = id >> 32;
	h->tid = (__u32)id;
	h->ts_ns = now;
	h->span_id = span_id;
}

/* Copies a user string; flags truncation when it filled the whole field. */
static __always_inline __u32 copy_user_str(char *dst, __u32 size, const char *src)
{
	long n = bpf_probe_read_user_str(dst, size, src);
	if (n < 0) {
		dst[0] = '\0';
		return 0;
	}
	if (n < size)
		return 0;
	/* the field is full: cut, unless the string ended exactly there */
	char last = 1;
	bpf_probe_read_user(&last, 1, src + size - 1);
	return last ? LSTRACE_F_TRUNCATED : 0;
}

/* Whether the component filter skips spans of `component`. */
static __always_inline bool component_filtered(const char *component)
{
	if (component_filter == COMPONENTS_ALL)
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
	return component_filter == COMPONENTS_ALLOW ? !hits : hits != NULL;
}

/* Keeps a span's begin snapshot until its end. */
static __always_inline void save_start(const struct span_key *key, const struct span_start *start)
{
	struct span_stack *st = bpf_task_storage_get(&span_stacks, bpf_get_current_task_btf(), 0,
						     BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (st) {
		__u32 d = st->depth;
		if (d < SPAN_STACK_DEPTH) {
			st->spans[d].span_id = key->span_id;
			st->spans[d].start = *start;
			st->depth = d + 1;
			return;
		}
	}
	if (bpf_map_update_elem(&span_starts, key, start, BPF_ANY))
		count(LSTRACE_CNT_SPAN_MAP_FULL);
}

/* The slot of span `span_id` on this thread's stack, or -1. */
static __always_inline int stack_slot(struct span_stack *st, __u64 span_id)
{
	__u32 depth = st->depth;
#pragma unroll
	for (int i = SPAN_STACK_DEPTH - 1; i >= 0; i--)
		if ((__u32)i < depth && st->spans[i].span_id == span_id)
			return i;
	return -1;
}

/* A span's begin snapshot, or NULL.  From the thread's stack it is popped
 * here (the entry stays readable until the thread's next span_begin); from
 * span_starts (*in_hash) the caller deletes it when done. */
static __always_inline struct span_start *take_start(const struct span_key *key, bool *in_hash)
{
	struct span_stack *st = bpf_task_storage_get(&span_stacks, bpf_get_current_task_btf(), 0, 0);
	*in_hash = false;
	if (st) {
		int i = stack_slot(st, key->span_id);
		if (i >= 0 && i < SPAN_STACK_DEPTH) {
			__u32 depth = st->depth;
			st->spans[i].span_id = 0;
			/* pop it, and entries under it already taken (ends out of
			 * LIFO order) once they reach the top */
#pragma unroll
			for (int j = SPAN_STACK_DEPTH - 1; j >= 0; j--)
				if ((__u32)j + 1 == depth && st->spans[j].span_id == 0)
					depth = j;
			st->depth = depth;
			return &st->spans[i].start;
		}
	}
	*in_hash = true;
	return bpf_map_lookup_elem(&span_starts, key);
}

static __always_inline void forget_start(const struct span_key *key, bool in_hash)
{
	if (in_hash)
		bpf_map_delete_elem(&span_starts, key);
}

/* Whether a tag or error of this span is dropped because its span was. */
static __always_inline bool span_filtered(__u32 tgid, __u64 span_id)
{
	if (component_filter == COMPONENTS_ALL)
		return false;
	struct span_key key = { .tgid = tgid, .span_id = span_id };
	struct span_stack *st = bpf_task_storage_get(&span_stacks, bpf_get_current_task_btf(), 0, 0);
	if (st) {
		int i = stack_slot(st, span_id);
		if (i >= 0 && i < SPAN_STACK_DEPTH)
			return st->spans[i].start.flags & SPAN_FILTERED;
	}
	struct span_start *start = bpf_map_lookup_elem(&span_starts, &key);
	return start && (start->flags & SPAN_FILTERED);
}

SEC("usdt")
int LSTRACE_USDT(on_span_begin, __u64 span_id, __u64 parent_span_id, __u64 trace_id_hi,
	     __u64 trace_id_lo, const char *tracer, const char *component, const char *operation,
	     const char *description)
{
	__u64 id = bpf_get_current_pid_tgid();
	if (!traced(id >> 32))
		return 0;
	__u64 now = bpf_ktime_get_ns();
	struct span_key key = { .tgid = id >> 32, .span_id = span_id };
	struct span_start start = { .ts_ns = now, .tid = (__u32)id };
	struct thread_state *ts = thread_state(start.tid, now);

	if (!read_figures(&start.at_begin, ts, now))
		start.flags |= LSTRACE_F_NO_ONCPU;
	start.flags |= rss_flags();
	if (ts)
		start.depth = peak_push(ts, start.at_begin.rss_bytes);

	/* Each path returns right after its own save_start(): the reserved
	 * record is tested for NULL once, and nothing between its reservation
	 * and its submission may branch on it again (the 6.1 verifier then
	 * explores a path that still holds the reservation and rejects it). */
	if (component_filtered(component)) {
		start.flags |= SPAN_FILTERED;
		count(LSTRACE_CNT_FILTERED);
		save_start(&key, &start);
		return 0;
	}
	struct lstrace_span_begin_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(LSTRACE_CNT_LOST_BEGIN);
		start.flags |= SPAN_BEGIN_LOST;
		save_start(&key, &start);
		return 0;
	}
	save_start(&key, &start);

	fill_header(&e->hdr, LSTRACE_EV_SPAN_BEGIN, span_id, now);
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
	bpf_ringbuf_submit(e, submit_flags());
	return 0;
}

/* A span shorter than min_duration_ns that did not fail: the consumer
 * forgets it.  Nothing is lost if this cannot be sent either: the span is
 * then counted as a lost end. */
static __always_inline bool send_dropped(struct span_key *key, __u64 span_id, __u64 now)
{
	struct lstrace_span_dropped_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return false;
	fill_header(&e->hdr, LSTRACE_EV_SPAN_DROPPED, span_id, now);
	bpf_ringbuf_submit(e, submit_flags());
	return true;
}

SEC("usdt")
int LSTRACE_USDT(on_span_end, __u64 span_id, int status)
{
	__u64 id = bpf_get_current_pid_tgid();
	if (!traced(id >> 32))
		return 0;
	__u64 now = bpf_ktime_get_ns();
	struct span_key key = { .tgid = id >> 32, .span_id = span_id };
	struct thread_state *ts = bpf_map_lookup_elem(&threads, (__u32 *)&id);
	struct lstrace_span_figures at_end = {};
	bool have_cpu = read_figures(&at_end, ts, now);
	bool in_hash;
	struct span_start *start = take_start(&key, &in_hash);
	__s64 peak = -1;

	if (start)
		peak = peak_end(ts, (__u32)id, start->tid, start->depth, at_end.rss_bytes);
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
		bpf_ringbuf_submit(e, submit_flags());
		return 0;
	}
	e->begin_ts_ns = start->ts_ns;
	e->begin_tid = start->tid;
	if (start->tid != (__u32)id)
		e->hdr.flags |= LSTRACE_F_THREAD_CHANGED;
	if (!have_cpu || (start->flags & LSTRACE_F_NO_ONCPU))
		e->hdr.flags |= LSTRACE_F_NO_ONCPU;
	if (peak < 0)
		e->hdr.flags |= LSTRACE_F_NO_PEAK;
	e->hdr.flags |= (start->flags & LSTRACE_F_RSS_APPROXIMATE) | rss_flags();

	/* every figure is a 64-bit counter (lstrace_abi.h): subtract them as
	 * an array; RSS is signed, and two's complement makes that the same */
	const __u64 *end_vals = (const __u64 *)&at_end;
	const __u64 *begin_vals = (const __u64 *)&start->at_begin;
	__u64 *delta = (__u64 *)&e->delta;
#pragma unroll
	for (__u32 i = 0; i < sizeof(struct lstrace_span_figures) / sizeof(__u64); i++)
		delta[i] = end_vals[i] - begin_vals[i];
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

#include "points.bpf.h"

/*
 * langswarm:recording never executes; attaching it raises the semaphore the
 * application checks before starting a span (LSTRACE_ENABLED).
 */
SEC("usdt")
int LSTRACE_USDT(on_recording_gate)
{
	return 0;
}

/* Advances the CPU clocks of tracked threads; a miss costs two lookups. */
SEC("tp_btf/sched_switch")
int BPF_PROG(on_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u64 now = bpf_ktime_get_ns();
	__u32 prev_tid = prev->pid;
	__u32 next_tid = next->pid;
	struct thread_state *clk;

	clk = bpf_map_lookup_elem(&threads, &prev_tid);
	if (clk && clk->running) {
		clk->oncpu_ns += now - clk->since_ns;
		clk->running = 0;
	}
	clk = bpf_map_lookup_elem(&threads, &next_tid);
	if (clk) {
		clk->since_ns = now;
		clk->running = 1;
	}
	return 0;
}

/* A thread of a traced process exits; `group_dead`: it is the last one. */
static __always_inline int thread_exited(struct task_struct *task, bool group_dead)
{
	__u32 tgid = task->tgid;

	if (!bpf_map_lookup_elem(&traced_tgids, &tgid))
		return 0;
	__u32 tid = task->pid;
	bpf_map_delete_elem(&threads, &tid);

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
 * it); before, the
 * tracepoint has the task only, and reading a second argument is refused
 * ("invalid bpf_context access").  The loader keeps the variant whose
 * prototype the kernel's BTF shows (kernel_features.cpp).  Without the
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
