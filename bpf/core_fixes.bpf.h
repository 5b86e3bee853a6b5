/* SPDX-License-Identifier: MIT */
/*
 * core_fixes.bpf.h - kernel layout differences handled with CO-RE flavors.
 */
#ifndef LSTRACE_CORE_FIXES_BPF_H
#define LSTRACE_CORE_FIXES_BPF_H

#include <bpf/bpf_core_read.h>

/*
 * Before v6.2 (commit f1a7941243c1 "mm: convert mm's rss stats into
 * percpu_counter") mm->rss_stat was a struct of atomic_long_t counters;
 * since then it is an array of percpu_counter.
 */
struct mm_rss_stat___pre62 {
	atomic_long_t count[4];
} __attribute__((preserve_access_index));

struct mm_struct___pre62 {
	struct mm_rss_stat___pre62 rss_stat;
} __attribute__((preserve_access_index));

/* enum mm_counter_type: MM_FILEPAGES, MM_ANONPAGES, MM_SWAPENTS, MM_SHMEMPAGES */
#define LSTRACE_MM_FILEPAGES 0
#define LSTRACE_MM_ANONPAGES 1
#define LSTRACE_MM_SHMEMPAGES 3

/*
 * Resident pages of the mm (file + anon + shmem), as the kernel's own fast
 * path (get_mm_counter) reads them: on v6.2+ this is the percpu_counter's
 * global count, which can lag the exact sum by up to the counter batch on
 * each CPU (docs/records.md quantifies it).
 */
static __always_inline long mm_resident_pages(struct mm_struct *mm)
{
	if (!mm)
		return 0;
	/* struct mm_rss_stat exists only before v6.2 */
	if (!bpf_core_field_exists(struct mm_rss_stat___pre62, count)) {
		return BPF_CORE_READ(mm, rss_stat[LSTRACE_MM_FILEPAGES].count) +
		       BPF_CORE_READ(mm, rss_stat[LSTRACE_MM_ANONPAGES].count) +
		       BPF_CORE_READ(mm, rss_stat[LSTRACE_MM_SHMEMPAGES].count);
	}
	struct mm_struct___pre62 *old = (void *)mm;
	return BPF_CORE_READ(old, rss_stat.count[LSTRACE_MM_FILEPAGES].counter) +
	       BPF_CORE_READ(old, rss_stat.count[LSTRACE_MM_ANONPAGES].counter) +
	       BPF_CORE_READ(old, rss_stat.count[LSTRACE_MM_SHMEMPAGES].counter);
}

#endif /* LSTRACE_CORE_FIXES_BPF_H */
