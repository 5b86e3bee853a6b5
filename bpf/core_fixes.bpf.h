/* SPDX-License-Identifier: MIT */
/*
 * core_fixes.bpf.h - kernel layout differences handled with CO-RE flavors.
 */
#ifndef LSTRACE_CORE_FIXES_BPF_H
#define LSTRACE_CORE_FIXES_BPF_H

#include "vmlinux.h"

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

/*
 * Before v6.2 a task also batched its own RSS changes (SPLIT_RSS_COUNTING):
 * page faults count into task->rss_stat and are folded into the mm only
 * every 64 events (and at exit), so the mm's counters lag behind by what
 * each thread holds there.  v6.2 removed the field with the percpu_counter
 * conversion.
 */
struct task_rss_stat___pre62 {
	int events;
	int count[4];
} __attribute__((preserve_access_index));

struct task_struct___pre62 {
	struct task_rss_stat___pre62 rss_stat;
} __attribute__((preserve_access_index));

#endif /* LSTRACE_CORE_FIXES_BPF_H */
