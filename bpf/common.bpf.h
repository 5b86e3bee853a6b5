/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * common.bpf.h - what every lstrace BPF part uses: the loader's settings,
 * the ring buffer, the traced processes, the counters and small helpers.
 */
#ifndef LSTRACE_COMMON_BPF_H
#define LSTRACE_COMMON_BPF_H

#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "lstrace_abi.h"

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
const volatile __u32 component_filter = LSTRACE_COMPONENTS_ALL;
const volatile __u64 min_duration_ns = 0;
const volatile bool collect_thread_info = false;
const volatile bool collect_stacks = false;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20); /* resized by the loader */
} events SEC(".maps");

/* The processes this recorder traces (filled by the loader): programs that
 * fire for every task check it before doing anything else. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} traced_tgids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LSTRACE_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

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

/* When the last forced wakeup was sent (bpf_ktime_get_ns), shared by all
 * CPUs: written at most once per LSTRACE_WAKEUP_INTERVAL_NS, so reading it
 * costs no cache-line transfer in between.  Races between CPUs only cost a
 * second wakeup. */
__u64 last_wakeup_ns;
#define LSTRACE_WAKEUP_INTERVAL_NS 1000000ull

/* Wake the consumer once wakeup_bytes wait, but at most once a millisecond.
 * A wakeup is an irq_work interrupt on the traced thread's CPU and an IPI to
 * the consumer's, several microseconds in a VM, charged to the traced thread
 * (inside its probe): waking at every submit while a backlog lasted cost
 * each span two of them whenever the consumer fell behind (bench/run.sh
 * --scale: +70% thread CPU per span with 64 threads on a loaded 2-core
 * VM).  Once woken the consumer drains without sleeping while data waits
 * (its epoll entry is level-triggered), so one wakeup a millisecond is
 * enough; it also drains every 50 ms on its own timer. */
static __always_inline __u64 submit_flags(void)
{
	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) < wakeup_bytes)
		return BPF_RB_NO_WAKEUP;
	__u64 now = bpf_ktime_get_ns();
	if (now - last_wakeup_ns < LSTRACE_WAKEUP_INTERVAL_NS)
		return BPF_RB_NO_WAKEUP;
	last_wakeup_ns = now;
	return BPF_RB_FORCE_WAKEUP;
}

static __always_inline void count(__u32 which)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &which);
	if (c)
		*c += 1;
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

#endif /* LSTRACE_COMMON_BPF_H */
