// The ring-buffer ABI, checked at compile time: BPF (clang -target bpf) and
// this compiler must agree on every size and offset in lstrace_abi.h.
#include <cstddef>

#include "lstrace_abi.h"

static_assert(sizeof(lstrace_event_header) == 32);
static_assert(offsetof(lstrace_event_header, type) == 0);
static_assert(offsetof(lstrace_event_header, version) == 2);
static_assert(offsetof(lstrace_event_header, flags) == 4);
static_assert(offsetof(lstrace_event_header, tgid) == 8);
static_assert(offsetof(lstrace_event_header, tid) == 12);
static_assert(offsetof(lstrace_event_header, ts_ns) == 16);
static_assert(offsetof(lstrace_event_header, span_id) == 24);

static_assert(sizeof(lstrace_span_figures) == 24 * 8);
static_assert(offsetof(lstrace_span_figures, rss_bytes) == 11 * 8);
static_assert(offsetof(lstrace_span_figures, io) == 12 * 8);
static_assert(sizeof(lstrace_thread_io) == 11 * 8);
static_assert(offsetof(lstrace_thread_io, io_wait_ns) == 6 * 8);
static_assert(offsetof(lstrace_thread_io, sockets_accepted) == 10 * 8);
static_assert(offsetof(lstrace_span_figures, cpu_migrations) == 23 * 8);

static_assert(sizeof(lstrace_span_begin_event) ==
              32 + 32 + 3 * LSTRACE_NAME_LEN + LSTRACE_DESC_LEN + 16 + 8);
static_assert(offsetof(lstrace_span_begin_event, parent_span_id) == 32);
static_assert(offsetof(lstrace_span_begin_event, ns_tgid) == 56);
static_assert(offsetof(lstrace_span_begin_event, ns_tid) == 60);
static_assert(offsetof(lstrace_span_begin_event, tracer) == 64);
static_assert(offsetof(lstrace_span_begin_event, component) == 64 + LSTRACE_NAME_LEN);
static_assert(offsetof(lstrace_span_begin_event, operation) == 64 + 2 * LSTRACE_NAME_LEN);
static_assert(offsetof(lstrace_span_begin_event, description) == 64 + 3 * LSTRACE_NAME_LEN);
static_assert(offsetof(lstrace_span_begin_event, comm) ==
              64 + 3 * LSTRACE_NAME_LEN + LSTRACE_DESC_LEN);
static_assert(offsetof(lstrace_span_begin_event, cpu) ==
              64 + 3 * LSTRACE_NAME_LEN + LSTRACE_DESC_LEN + 16);

static_assert(sizeof(lstrace_span_end_event) ==
              32 + 16 + 24 * 8 + 8 + 8 + 8 + 8 + LSTRACE_TAG_BUF_LEN);
static_assert(offsetof(lstrace_span_end_event, begin_ts_ns) == 32);
static_assert(offsetof(lstrace_span_end_event, status) == 40);
static_assert(offsetof(lstrace_span_end_event, begin_tid) == 44);
static_assert(offsetof(lstrace_span_end_event, delta) == 48);
static_assert(offsetof(lstrace_span_end_event, rss_end_bytes) == 48 + 24 * 8);
static_assert(offsetof(lstrace_span_end_event, peak_rss_bytes) == 48 + 25 * 8);
static_assert(offsetof(lstrace_span_end_event, fds_open) == 48 + 26 * 8);
static_assert(offsetof(lstrace_span_end_event, cpu) == 48 + 26 * 8 + 4);
static_assert(offsetof(lstrace_span_end_event, tags_size) == 48 + 27 * 8);
static_assert(offsetof(lstrace_span_end_event, tags) == 48 + 28 * 8);
static_assert(LSTRACE_TAG_BUF_LEN % 8 == 0);

static_assert(sizeof(lstrace_span_dropped_event) == 32);

static_assert(sizeof(lstrace_point_event) == 32 + 24 + 8 * LSTRACE_POINT_NUMS +
                                                 LSTRACE_POINT_STRS * LSTRACE_VALUE_LEN +
                                                 8 * LSTRACE_MAX_STACK);
static_assert(offsetof(lstrace_point_event, trace_id_hi) == 32);
static_assert(offsetof(lstrace_point_event, kind) == 48);
static_assert(offsetof(lstrace_point_event, stack_len) == 52);
static_assert(offsetof(lstrace_point_event, num) == 56);
static_assert(offsetof(lstrace_point_event, str) == 56 + 8 * LSTRACE_POINT_NUMS);
static_assert(offsetof(lstrace_point_event, stack) ==
              56 + 8 * LSTRACE_POINT_NUMS + LSTRACE_POINT_STRS * LSTRACE_VALUE_LEN);

static_assert(sizeof(lstrace_span_tag_event) == 32 + 16 + LSTRACE_NAME_LEN + LSTRACE_VALUE_LEN);
static_assert(offsetof(lstrace_span_tag_event, value_type) == 32);
static_assert(offsetof(lstrace_span_tag_event, num) == 40);
static_assert(offsetof(lstrace_span_tag_event, key) == 48);
static_assert(offsetof(lstrace_span_tag_event, str) == 48 + LSTRACE_NAME_LEN);

static_assert(sizeof(lstrace_span_error_event) == 32 + LSTRACE_NAME_LEN + LSTRACE_VALUE_LEN);
static_assert(offsetof(lstrace_span_error_event, error_type) == 32);
static_assert(offsetof(lstrace_span_error_event, message) == 32 + LSTRACE_NAME_LEN);

static_assert(sizeof(lstrace_thread_exit_event) == 32 + 8);
static_assert(offsetof(lstrace_thread_exit_event, exit_code) == 32);
static_assert(sizeof(lstrace_process_event) == 32 + 8);
static_assert(offsetof(lstrace_process_event, parent_tgid) == 32);

// Named point slots: inside the arrays, and config_change's in the slots
// component_change (BPF) fills for state_change.
static_assert(LSTRACE_STR_CONTEXT < LSTRACE_POINT_STRS);
static_assert(LSTRACE_NUM_FINGERPRINT < LSTRACE_POINT_NUMS);
static_assert(LSTRACE_STR_KEY == LSTRACE_STR_FROM_STATE);
static_assert(LSTRACE_STR_OLD_VALUE == LSTRACE_STR_TO_STATE);
static_assert(LSTRACE_STR_NEW_VALUE == LSTRACE_STR_REASON);

// The key userspace looks up in lost_ends.
static_assert(sizeof(lstrace_span_key) == 16);
static_assert(offsetof(lstrace_span_key, span_id) == 8);

// The error probe's context pairs, as docs/probes.md documents them.
static_assert(LSTRACE_CONTEXT_SEPARATOR == '\x1f');
