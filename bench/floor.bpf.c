// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * floor.bpf.c - the least any USDT tracer pays: a program that only counts
 * probe hits, attached to the same langswarm probe sites as the recorder.
 * bench/run.sh times span_bench under it to get the "floor" in the same run
 * as the recorder.
 */
#include "vmlinux.h"

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

char LICENSE[] SEC("license") = "Dual MIT/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} hits SEC(".maps");

SEC("usdt")
int BPF_USDT(count_hit)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&hits, &zero);

	if (n)
		*n += 1;
	return 0;
}
