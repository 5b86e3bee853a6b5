/* SPDX-License-Identifier: MIT */
/*
 * mm_rss.bpf.h - the resident set size of an mm, read from BPF.
 *
 * Since v6.2 each RSS counter is a percpu_counter: a global `count` plus a
 * per-CPU delta that is folded into `count` once it exceeds the batch
 * (max(32, 2 x CPUs) pages).  We read `count`, as the kernel's own
 * get_mm_counter() does, so a reading can lag the exact value by up to
 * batch pages per CPU for each of the three counters; a span's RSS delta
 * inherits that (docs/records.md).  Summing the per-CPU parts needs each
 * CPU's per-CPU offset, which BPF can only learn through a per-CPU kernel
 * symbol (bpf_per_cpu_ptr on a __ksym); kernels built without
 * CONFIG_KALLSYMS_ALL, like the one this was developed on, do not expose
 * any, so the exact sum is not attempted.
 */
#ifndef LSTRACE_MM_RSS_BPF_H
#define LSTRACE_MM_RSS_BPF_H

#include <bpf/bpf_core_read.h>

#include "core_fixes.bpf.h"

/* enum mm_counter_type: MM_FILEPAGES, MM_ANONPAGES, MM_SWAPENTS, MM_SHMEMPAGES */
#define LSTRACE_MM_FILEPAGES 0
#define LSTRACE_MM_ANONPAGES 1
#define LSTRACE_MM_SHMEMPAGES 3

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
	return BPF_CORE_READ(mm, rss_stat[LSTRACE_MM_FILEPAGES].count) +
	       BPF_CORE_READ(mm, rss_stat[LSTRACE_MM_ANONPAGES].count) +
	       BPF_CORE_READ(mm, rss_stat[LSTRACE_MM_SHMEMPAGES].count);
}

#endif /* LSTRACE_MM_RSS_BPF_H */
