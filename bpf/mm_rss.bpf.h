/* SPDX-License-Identifier: MIT */
/*
 * mm_rss.bpf.h - the exact resident set size of an mm, read from BPF.
 *
 * Since v6.2 each RSS counter is a percpu_counter: a global `count` plus a
 * per-CPU delta that is folded into `count` only once it exceeds the batch
 * (max(32, 2 x CPUs) pages).  `count` alone (the kernel's get_mm_counter)
 * misses up to a batch per CPU: a span touching 3 fresh pages shows an RSS
 * change of 0.  So we add the per-CPU parts, as percpu_counter_sum() does.
 *
 * CPU n's part lives at counters + __per_cpu_offset[n].  BPF cannot read
 * that array, and per-CPU kernel symbols (bpf_per_cpu_ptr on a __ksym) need
 * CONFIG_KALLSYMS_ALL, which kernels often lack.  But the offset is the same
 * for every per-CPU allocation, including our own per-CPU array map: its
 * base pointer (bpf_array.pptrs[0]) and bpf_map_lookup_percpu_elem()'s
 * address for CPU n differ by exactly that offset.  The offsets are
 * computed once and cached; every per-CPU read is checked for plausibility
 * (below), and if anything fails the global counts are used alone.
 */
#ifndef LSTRACE_MM_RSS_BPF_H
#define LSTRACE_MM_RSS_BPF_H

#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#include "core_fixes.bpf.h"

/* enum mm_counter_type: MM_FILEPAGES, MM_ANONPAGES, MM_SWAPENTS, MM_SHMEMPAGES */
#define LSTRACE_MM_FILEPAGES 0
#define LSTRACE_MM_ANONPAGES 1
#define LSTRACE_MM_SHMEMPAGES 3

/* Machines with more possible CPUs use the global counts only. */
#define LSTRACE_MAX_CPUS 64

/* Set by the loader: libbpf_num_possible_cpus(). */
const volatile __u32 nr_cpus = 1;

/* A per-CPU array whose per-CPU addresses reveal each CPU's offset. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} percpu_offset_probe SEC(".maps");

__u64 percpu_offsets[LSTRACE_MAX_CPUS];
int percpu_offsets_state; /* 0 not computed yet, 1 ready, -1 unavailable */

/* A pointer's value as a plain number: copied by a helper from the stack
 * slot it was spilled to, so the verifier sees a scalar (root only). */
static __always_inline __u64 address_of(volatile __u64 *spilled)
{
	__u64 addr = 0;

	bpf_probe_read_kernel(&addr, sizeof(addr), (const void *)spilled);
	return addr;
}

static __always_inline void init_percpu_offsets(void)
{
	/* The verifier forbids loads past struct bpf_array's fixed part, so
	 * read pptrs[0] with a helper, through the map's address as a plain
	 * number (copied off the stack, where the pointer was spilled). */
	volatile __u64 map_ptr = (__u64)&percpu_offset_probe;
	__u64 map_addr, base = 0;
	__u32 zero = 0;

	map_addr = address_of(&map_ptr);
	if (bpf_probe_read_kernel(
		&base, sizeof(base),
		(const void *)(map_addr + bpf_core_field_offset(struct bpf_array, pptrs)))) {
		percpu_offsets_state = -1;
		return;
	}

	for (__u32 cpu = 0; cpu < LSTRACE_MAX_CPUS && cpu < nr_cpus; cpu++) {
		void *v = bpf_map_lookup_percpu_elem(&percpu_offset_probe, &zero, cpu);
		if (!v) {
			percpu_offsets_state = -1;
			return;
		}
		volatile __u64 v_ptr = (__u64)v;
		percpu_offsets[cpu] = address_of(&v_ptr) - base;
	}
	percpu_offsets_state = 1;
}

/*
 * count + the per-CPU parts.  A per-CPU part is always smaller than the
 * batch (it is folded into count on reaching it), which makes a cheap
 * plausibility check: a failed read or an impossible part means the offsets
 * are wrong on this kernel, and from then on only the global counts are
 * used (the recorder then warns that RSS is approximate).
 */
static __always_inline long percpu_counter_exact(struct percpu_counter *pc)
{
	long count = BPF_CORE_READ(pc, count);
	__u64 counters = (__u64)BPF_CORE_READ(pc, counters);
	const long batch = nr_cpus * 2 > 32 ? nr_cpus * 2 : 32;
	long sum = count;

	if (percpu_offsets_state != 1 || !counters)
		return count;
	for (__u32 cpu = 0; cpu < LSTRACE_MAX_CPUS && cpu < nr_cpus; cpu++) {
		__s32 part = 0;
		if (bpf_probe_read_kernel(&part, sizeof(part),
					  (void *)(counters + percpu_offsets[cpu])) ||
		    part >= batch || part <= -batch) {
			percpu_offsets_state = -1;
			return count;
		}
		sum += part;
	}
	return sum;
}

/*
 * The three counters' per-CPU parts in one read per CPU.  Since v6.6 the
 * counters of an mm are allocated together (percpu_counter_init_many): the
 * per-CPU s32 of counter k sits at counters[0] + 4 k, so one 16-byte read
 * per CPU gets every part (instead of one read per counter and CPU).  Used
 * only when the pointers show that layout; false otherwise.
 */
static __always_inline bool mm_rss_parts_packed(struct mm_struct *mm, long *sum)
{
	__u64 base = (__u64)mm->rss_stat[LSTRACE_MM_FILEPAGES].counters;
	const long batch = nr_cpus * 2 > 32 ? nr_cpus * 2 : 32;

	if (!base ||
	    (__u64)mm->rss_stat[LSTRACE_MM_ANONPAGES].counters != base + 4 * LSTRACE_MM_ANONPAGES ||
	    (__u64)mm->rss_stat[LSTRACE_MM_SHMEMPAGES].counters != base + 4 * LSTRACE_MM_SHMEMPAGES)
		return false;
	for (__u32 cpu = 0; cpu < LSTRACE_MAX_CPUS && cpu < nr_cpus; cpu++) {
		__s32 part[4];
		if (bpf_probe_read_kernel(part, sizeof(part), (void *)(base + percpu_offsets[cpu])))
			goto implausible;
		for (int k = 0; k < 4; k++) {
			if (k == 2) /* MM_SWAPENTS: not resident */
				continue;
			if (part[k] >= batch || part[k] <= -batch)
				goto implausible;
			*sum += part[k];
		}
	}
	return true;
implausible:
	percpu_offsets_state = -1;
	return true; /* *sum may hold some parts: the caller starts over */
}

/* Resident pages of the mm (file + anon + shmem). */
static __always_inline long mm_resident_pages(struct mm_struct *mm)
{
	if (!mm)
		return 0;
	/* struct mm_rss_stat exists only before v6.2: plain atomics there */
	if (bpf_core_field_exists(struct mm_rss_stat___pre62, count)) {
		struct mm_struct___pre62 *old = (void *)mm;
		return BPF_CORE_READ(old, rss_stat.count[LSTRACE_MM_FILEPAGES].counter) +
		       BPF_CORE_READ(old, rss_stat.count[LSTRACE_MM_ANONPAGES].counter) +
		       BPF_CORE_READ(old, rss_stat.count[LSTRACE_MM_SHMEMPAGES].counter);
	}
	/* bpf_map_lookup_percpu_elem() arrived in v5.19; older kernels keep
	 * the global counts (the check is resolved at load time) */
	if (!bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_map_lookup_percpu_elem) ||
	    nr_cpus > LSTRACE_MAX_CPUS)
		percpu_offsets_state = -1;
	else if (percpu_offsets_state == 0)
		init_percpu_offsets();
	/* the global counts: plain loads through the task's BTF pointers */
	long count = mm->rss_stat[LSTRACE_MM_FILEPAGES].count +
		     mm->rss_stat[LSTRACE_MM_ANONPAGES].count +
		     mm->rss_stat[LSTRACE_MM_SHMEMPAGES].count;
	if (percpu_offsets_state != 1)
		return count;
	long sum = count;
	if (mm_rss_parts_packed(mm, &sum))
		return percpu_offsets_state == 1 ? sum : count;
	return percpu_counter_exact(&mm->rss_stat[LSTRACE_MM_FILEPAGES]) +
	       percpu_counter_exact(&mm->rss_stat[LSTRACE_MM_ANONPAGES]) +
	       percpu_counter_exact(&mm->rss_stat[LSTRACE_MM_SHMEMPAGES]);
}

/* Whether this kernel batches RSS changes per task (before v6.2). */
static __always_inline bool rss_cached_per_task(void)
{
	return bpf_core_field_exists(struct task_struct___pre62, rss_stat);
}

/*
 * The resident pages `task` has counted but not yet folded into its mm
 * (kernels before v6.2; 0 since).  `skip` is a counter to leave out (-1:
 * none): the rss_stat tracepoint of a fold fires after the mm was credited
 * and before the task's count is cleared.
 */
static __always_inline long task_cached_pages(struct task_struct *task, int skip)
{
	if (!rss_cached_per_task())
		return 0;
	struct task_struct___pre62 *t = (void *)task;
	long pages = 0;

	if (skip != LSTRACE_MM_FILEPAGES)
		pages += BPF_CORE_READ(t, rss_stat.count[LSTRACE_MM_FILEPAGES]);
	if (skip != LSTRACE_MM_ANONPAGES)
		pages += BPF_CORE_READ(t, rss_stat.count[LSTRACE_MM_ANONPAGES]);
	if (skip != LSTRACE_MM_SHMEMPAGES)
		pages += BPF_CORE_READ(t, rss_stat.count[LSTRACE_MM_SHMEMPAGES]);
	return pages;
}

#endif /* LSTRACE_MM_RSS_BPF_H */
