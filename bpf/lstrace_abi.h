/* SPDX-License-Identifier: MIT */
/*
 * lstrace_abi.h - the events BPF sends to userspace through the ring buffer.
 *
 * Included by bpf/lstrace.bpf.c and by userspace; the C++ side
 * static_asserts every size and offset (userspace/record/abi_checks.cpp).  Rules:
 * fixed-width types, fixed-size arrays, explicit padding, no pointers, the
 * common header (with type and version) first.
 *
 * The flow for one span on one thread:
 *   SPAN_BEGIN  ids and names, sent at langswarm:span_begin
 *   SPAN_TAG    zero or more, at langswarm:span_tag
 *   SPAN_ERROR  zero or more, at langswarm:span_error
 *   SPAN_END    the kernel-measured figures of the whole span, computed in
 *               BPF as (counters at span_end) - (counters at span_begin),
 *               and the tags the application buffered in the span (tags
 *               that did not fit came before, as SPAN_TAG)
 * (or, for a successful span shorter than min_duration, SPAN_DROPPED), and
 * THREAD_EXIT when a thread of a traced process exits (spans it left open
 * are aborted).  POINT events (component, error and data-flow probes) come
 * at any time, each naming the span current on its thread.
 */
#ifndef LSTRACE_ABI_H
#define LSTRACE_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define LSTRACE_ABI_VERSION 3

/* LSTRACE_NAME_LEN, LSTRACE_DESC_LEN, LSTRACE_VALUE_LEN, status and tag
 * type values: shared with the application header */
#include "lstrace/probe_abi.h"

enum lstrace_event_type {
	LSTRACE_EV_SPAN_BEGIN = 1,
	LSTRACE_EV_SPAN_END = 2,
	LSTRACE_EV_SPAN_TAG = 3,
	LSTRACE_EV_SPAN_ERROR = 4,
	LSTRACE_EV_THREAD_EXIT = 5,
	LSTRACE_EV_PROCESS_FORK = 6, /* --follow: hdr.tgid is the new child */
	LSTRACE_EV_PROCESS_EXEC = 7, /* hdr.tgid exec'd (with --follow: held by ptrace) */
	LSTRACE_EV_POINT = 8, /* a component, error or data-flow probe (lstrace_point_event) */
	LSTRACE_EV_SPAN_DROPPED = 9, /* span_end of a span shorter than min_duration: forget it */
};

/* The slots of lstrace_point_event.str[] and num[] by kind, by name: BPF
 * fills them and the correlator reads them with these. */
enum lstrace_point_str {
	LSTRACE_STR_COMPONENT = 0,   /* component_init, state_change, config_change */
	LSTRACE_STR_CONFIG_KEYS = 1, /* component_init */
	LSTRACE_STR_FROM_STATE = 1,  /* state_change */
	LSTRACE_STR_TO_STATE = 2,
	LSTRACE_STR_REASON = 3,
	LSTRACE_STR_KEY = 1, /* config_change: the same slots as state_change's */
	LSTRACE_STR_OLD_VALUE = 2,
	LSTRACE_STR_NEW_VALUE = 3,
	LSTRACE_STR_ERROR_TYPE = 0, /* error */
	LSTRACE_STR_ERROR_MESSAGE = 1,
	LSTRACE_STR_ERROR_MODULE = 2,
	LSTRACE_STR_SEVERITY = 3,
	LSTRACE_STR_CATEGORY = 4,
	LSTRACE_STR_CONTEXT = 5,	/* pairs joined by LSTRACE_CONTEXT_SEPARATOR */
	LSTRACE_STR_HANDLER = 0,	/* error_handled */
	LSTRACE_STR_ORIGINAL_ERROR = 0, /* error_recovery */
	LSTRACE_STR_STRATEGY = 1,
	LSTRACE_STR_OUTCOME = 0, /* error_resolution */
	LSTRACE_STR_DETAIL = 1,
	LSTRACE_STR_DATA_TYPE = 0, /* data_flow */
	LSTRACE_STR_DATA_KEYS = 1,
	LSTRACE_STR_DATA_PREVIEW = 2,
};
enum lstrace_point_num {
	LSTRACE_NUM_CONFIG_SIZE = 0,	  /* component_init */
	LSTRACE_NUM_ERROR_ID = 0,	  /* every error kind */
	LSTRACE_NUM_RECOVERY_SUCCESS = 1, /* error_recovery */
	LSTRACE_NUM_DIRECTION = 0,	  /* data_flow: LSTRACE_DATA_INPUT, ... */
	LSTRACE_NUM_SIZE_BYTES = 1,
	LSTRACE_NUM_LENGTH = 2,
	LSTRACE_NUM_FINGERPRINT = 3,
};

/* rodata component_filter: which spans the component_filter map selects. */
enum lstrace_component_filter {
	LSTRACE_COMPONENTS_ALL = 0,   /* no filter */
	LSTRACE_COMPONENTS_ALLOW = 1, /* only the map's components */
	LSTRACE_COMPONENTS_DENY = 2,  /* all but the map's components */
};

/* Key of the span_starts and lost_ends maps: a span of a process. */
struct lstrace_span_key {
	__u32 tgid;
	__u32 pad;
	__u64 span_id;
};

/* lstrace_point_event.kind: which probe fired, and what its fields hold. */
enum lstrace_point_kind {
	LSTRACE_POINT_COMPONENT_INIT = 1,   /* str: component, config_keys; num[0]: config_size */
	LSTRACE_POINT_STATE_CHANGE = 2,	    /* str: component, from, to, reason */
	LSTRACE_POINT_CONFIG_CHANGE = 3,    /* str: component, key, old_value, new_value */
	LSTRACE_POINT_ERROR = 4,	    /* num[0]: error_id; str: type, message, module,
					     * severity, category, context; stack[] */
	LSTRACE_POINT_ERROR_HANDLED = 5,    /* num[0]: error_id; str: handler */
	LSTRACE_POINT_ERROR_RECOVERY = 6,   /* num[0]: error_id, num[1]: success;
					     * str: original_error, strategy */
	LSTRACE_POINT_ERROR_RESOLUTION = 7, /* num[0]: error_id; str: outcome, detail */
	LSTRACE_POINT_DATA_FLOW = 8,	    /* num[0]: direction, num[1]: size_bytes,
					     * num[2]: length, num[3]: fingerprint;
					     * str: data_type, keys, preview */
};

/* Bits of lstrace_event_header.flags. */
enum lstrace_event_flags {
	/* a string did not fit its field and was cut (see docs/probes.md) */
	LSTRACE_F_TRUNCATED = 1u << 0,
	/* SPAN_END: no begin snapshot (span began before attach, or the
	 * snapshot map was full); figures are zero and must not be used */
	LSTRACE_F_NO_BEGIN = 1u << 1,
	/* SPAN_END: on-CPU time unknown (no per-thread state, or no run
	 * queue clock: thread_clock.bpf.h) */
	LSTRACE_F_NO_ONCPU = 1u << 2,
	/* SPAN_END: the span ended on another thread than it began; the
	 * per-thread figures are meaningless and are not reported */
	LSTRACE_F_THREAD_CHANGED = 1u << 3,
	/* SPAN_END: peak_rss_bytes unknown (spans of the thread did not end
	 * in LIFO order, or nested deeper than LSTRACE_PEAK_DEPTH) */
	LSTRACE_F_NO_PEAK = 1u << 4,
	/* POINT: the user stack was requested but could not be read */
	LSTRACE_F_NO_STACK = 1u << 5,
	/* SPAN_END: the kernel batches RSS changes per thread (before v6.2)
	 * and the process had other threads at begin or end: their unfolded
	 * counts (up to 64 page events each) are missing from rss_end_bytes,
	 * peak_rss_bytes and the RSS delta, which the span's own thread's
	 * changes are still exact in */
	LSTRACE_F_RSS_APPROXIMATE = 1u << 6,
	/* SPAN_END: other threads of the process changed its RSS during the
	 * span: peak_rss_bytes holds the process's RSS at this thread's own
	 * changes and at the span's ends, not at theirs (their peaks between
	 * can be missed) */
	LSTRACE_F_RSS_OTHER_THREADS = 1u << 7,
	/* SPAN_END: the span began in a step of a coroutine task
	 * (langswarm:task_resume) and its figures, but RSS, count only while
	 * that task ran (bpf/task_steps.bpf.h); otherwise they are the
	 * thread's */
	LSTRACE_F_PER_TASK = 1u << 8,
};

/* Nesting depth up to which each span's peak RSS is tracked. */
#define LSTRACE_PEAK_DEPTH 16
/* Strings and numbers a point event carries; user stack frames kept. */
#define LSTRACE_POINT_STRS 6
#define LSTRACE_POINT_NUMS 4
#define LSTRACE_MAX_STACK 32

/* Indexes of the per-CPU `counters` map: events BPF could not deliver. */
enum lstrace_counter {
	/* Each lost span is counted exactly once: */
	LSTRACE_CNT_LOST_BEGIN = 0, /* ring buffer full at span_begin (its end is then not sent) */
	LSTRACE_CNT_LOST_END = 1,   /* begin sent, ring buffer full at span_end */
	LSTRACE_CNT_LOST_TAG = 2,   /* ring buffer full at span_tag, or a span's tag
				     * buffer unreadable at span_end */
	LSTRACE_CNT_LOST_ERROR = 3, /* ring buffer full at span_error */
	LSTRACE_CNT_SPAN_MAP_FULL = 4,	 /* no room for a begin snapshot */
	LSTRACE_CNT_THREAD_MAP_FULL = 5, /* no memory for a thread's state */
	LSTRACE_CNT_LOST_EXIT = 6,	 /* ring buffer full at a thread exit */
	LSTRACE_CNT_LOST_PROCESS = 7,	 /* ring buffer full at a fork or exec (--follow) */
	LSTRACE_CNT_LOST_POINT = 8,	 /* ring buffer full at a component/error/data probe */
	LSTRACE_CNT_FILTERED = 9,	 /* spans skipped in BPF by the component filter */
	LSTRACE_CNT_DROP_UNSENT = 10,	 /* short spans (min_duration) whose SPAN_DROPPED was not
					  * sent: in lost_ends, not lost */
	LSTRACE_CNT_MAX = 11,
};

struct lstrace_event_header {
	__u16 type;    /* enum lstrace_event_type */
	__u16 version; /* LSTRACE_ABI_VERSION */
	__u32 flags;   /* enum lstrace_event_flags */
	__u32 tgid;    /* process id (host PID namespace) */
	__u32 tid;     /* thread id (host PID namespace) */
	__u64 ts_ns;   /* CLOCK_MONOTONIC at the probe hit */
	__u64 span_id;
};

/* Counters the kernel does not keep per task, kept by lstrace's syscall
 * tracepoints per thread: bytes moved by read-/write-like syscalls, split
 * by what the descriptor is (regular file or block device / socket /
 * anything else: pipes, ttys, eventfds...), time blocked in I/O syscalls,
 * descriptors opened, closed, connected and accepted. */
struct lstrace_thread_io {
	__u64 file_read_bytes;
	__u64 file_write_bytes;
	__u64 net_read_bytes;
	__u64 net_write_bytes;
	__u64 other_read_bytes;
	__u64 other_write_bytes;
	__u64 io_wait_ns;	 /* off-CPU time inside I/O syscalls (blocked) */
	__u64 files_opened;	 /* successful open/openat/openat2/creat */
	__u64 fds_closed;	 /* successful close */
	__u64 sockets_connected; /* connect: 0 or -EINPROGRESS */
	__u64 sockets_accepted;	 /* accept/accept4 */
};

/* Per-thread and per-process kernel counters, or their difference.  Every
 * field is 64 bits: BPF subtracts them as an array. */
struct lstrace_span_figures {
	__u64 oncpu_ns;		   /* time this thread ran on a CPU */
	__u64 vol_ctxsw;	   /* task->nvcsw */
	__u64 invol_ctxsw;	   /* task->nivcsw */
	__u64 minor_faults;	   /* task->min_flt */
	__u64 major_faults;	   /* task->maj_flt */
	__u64 read_bytes;	   /* task->ioac.rchar: bytes returned by read-like syscalls */
	__u64 write_bytes;	   /* task->ioac.wchar: bytes passed to write-like syscalls */
	__u64 read_syscalls;	   /* task->ioac.syscr */
	__u64 write_syscalls;	   /* task->ioac.syscw */
	__u64 storage_read_bytes;  /* task->ioac.read_bytes: read from block devices */
	__u64 storage_write_bytes; /* task->ioac.write_bytes: dirtied for block devices */
	__s64 rss_bytes;	   /* process RSS (file + anon + shmem); delta in SPAN_END */
	/* kept per thread by the syscall tracepoints (bpf/io_tracking.bpf.h) */
	struct lstrace_thread_io io;
	__u64 cpu_migrations; /* task->se.nr_migrations */
};

struct lstrace_span_begin_event {
	struct lstrace_event_header hdr;
	__u64 parent_span_id; /* 0: root span */
	__u64 trace_id_hi;
	__u64 trace_id_lo;
	__u32 ns_tgid; /* process and thread ids in the process's own PID */
	__u32 ns_tid;  /* namespace (equal to hdr's in the host's) */
	char tracer[LSTRACE_NAME_LEN];
	char component[LSTRACE_NAME_LEN];
	char operation[LSTRACE_NAME_LEN];
	char description[LSTRACE_DESC_LEN];
	char comm[16]; /* thread name (only with include_thread_info) */
	__u32 cpu;     /* CPU at span_begin */
	__u32 pad;
};

struct lstrace_span_end_event {
	struct lstrace_event_header hdr;
	__u64 begin_ts_ns;		   /* CLOCK_MONOTONIC at span_begin (0 with NO_BEGIN) */
	__u32 status;			   /* LSTRACE_STATUS_* from the application */
	__u32 begin_tid;		   /* thread that began the span */
	struct lstrace_span_figures delta; /* end minus begin */
	__s64 rss_end_bytes;		   /* process RSS at span end */
	__s64 peak_rss_bytes; /* highest process RSS seen during the span (LSTRACE_F_NO_PEAK) */
	__u32 fds_open;	      /* descriptors open in the process at span end */
	__u32 cpu;	      /* CPU at span_end */
	/* the span's tag buffer, as the application wrote it (format in
	 * probe_abi.h): tags[0..tags_size) are valid, the rest is not
	 * initialised; 0 with NO_BEGIN, or when it could not be read (counted
	 * in LSTRACE_CNT_LOST_TAG) */
	__u32 tags_size;
	__u32 tags_pad;
	__u8 tags[LSTRACE_TAG_BUF_LEN];
};

/* SPAN_DROPPED: hdr only. */
struct lstrace_span_dropped_event {
	struct lstrace_event_header hdr;
};

/* POINT: one hit of a component, error or data-flow probe (hdr.span_id is
 * the span current on the thread, 0 if none).  Strings are cut at
 * LSTRACE_VALUE_LEN - 1 bytes (LSTRACE_F_TRUNCATED). */
struct lstrace_point_event {
	struct lstrace_event_header hdr;
	__u64 trace_id_hi;
	__u64 trace_id_lo;
	__u32 kind;	 /* enum lstrace_point_kind */
	__u32 stack_len; /* user frames in stack[] (ERROR with --stack-traces) */
	__s64 num[LSTRACE_POINT_NUMS];
	char str[LSTRACE_POINT_STRS][LSTRACE_VALUE_LEN];
	__u64 stack[LSTRACE_MAX_STACK];
};

struct lstrace_span_tag_event {
	struct lstrace_event_header hdr;
	__u32 value_type; /* LSTRACE_TAG_* */
	__u32 pad;
	__s64 num; /* INT and BOOL value, DOUBLE bits */
	char key[LSTRACE_NAME_LEN];
	char str[LSTRACE_VALUE_LEN]; /* STRING value */
};

struct lstrace_span_error_event {
	struct lstrace_event_header hdr;
	char error_type[LSTRACE_NAME_LEN];
	char message[LSTRACE_VALUE_LEN];
};

/* A thread of a traced process exited (hdr.span_id is 0): its open spans,
 * and with group_dead all of the process's, end here, aborted. */
struct lstrace_thread_exit_event {
	struct lstrace_event_header hdr;
	__s32 exit_code;  /* wait(2) status: (code << 8) | termsig, 0x80 if core */
	__u32 group_dead; /* the last thread: the process is gone */
};

/* PROCESS_FORK / PROCESS_EXEC (--follow). */
struct lstrace_process_event {
	struct lstrace_event_header hdr;
	__u32 parent_tgid; /* FORK: the traced parent */
	__u32 pad;
};

#endif /* LSTRACE_ABI_H */
