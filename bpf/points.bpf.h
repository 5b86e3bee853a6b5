/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * points.bpf.h - the component, error and data-flow probes: each hit is one
 * POINT event (lstrace_point_event), linked to the span current on the
 * thread.  These fire at state changes, errors and data hand-offs, not per
 * span, so one generous fixed-size record serves them all; the probe's own
 * program says which fields carry what (enum lstrace_point_kind).
 */
#ifndef LSTRACE_POINTS_BPF_H
#define LSTRACE_POINTS_BPF_H

#include "common.bpf.h"
#include "span_state.bpf.h"
#include "usdt_args.bpf.h"

static __always_inline struct lstrace_point_event *point_begin(__u32 kind, __u64 span_id,
							       __u64 trace_hi, __u64 trace_lo)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	if (!traced(tgid) || (span_id && span_filtered(tgid, span_id)))
		return NULL;
	struct lstrace_point_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(LSTRACE_CNT_LOST_POINT);
		return NULL;
	}
	fill_header(&e->hdr, LSTRACE_EV_POINT, span_id, bpf_ktime_get_ns());
	e->trace_id_hi = trace_hi;
	e->trace_id_lo = trace_lo;
	e->kind = kind;
	e->stack_len = 0;
	__builtin_memset(e->num, 0, sizeof(e->num));
#pragma unroll
	for (int i = 0; i < LSTRACE_POINT_STRS; i++)
		e->str[i][0] = '\0';
	return e;
}

#define POINT_STR(e, i, src)                                                                       \
	((e)->hdr.flags |= copy_user_str((e)->str[i], LSTRACE_VALUE_LEN, (src)))

SEC("usdt")
int LSTRACE_USDT(on_component_init, __u64 span_id, __u64 trace_hi, __u64 trace_lo,
		 const char *component, const char *config_keys, __s64 config_size)
{
	struct lstrace_point_event *e =
	    point_begin(LSTRACE_POINT_COMPONENT_INIT, span_id, trace_hi, trace_lo);
	if (!e)
		return 0;
	POINT_STR(e, LSTRACE_STR_COMPONENT, component);
	POINT_STR(e, LSTRACE_STR_CONFIG_KEYS, config_keys);
	e->num[LSTRACE_NUM_CONFIG_SIZE] = config_size;
	bpf_ringbuf_submit(e, submit_flags());
	return 0;
}

/* state_change and config_change: a component and three strings. */
static __always_inline int component_change(__u32 kind, __u64 span_id, __u64 trace_hi,
					    __u64 trace_lo, const char *component, const char *a,
					    const char *b, const char *c)
{
	struct lstrace_point_event *e = point_begin(kind, span_id, trace_hi, trace_lo);
	if (!e)
		return 0;
	POINT_STR(e, LSTRACE_STR_COMPONENT, component);
	POINT_STR(e, LSTRACE_STR_FROM_STATE, a); /* or KEY */
	POINT_STR(e, LSTRACE_STR_TO_STATE, b);	 /* or OLD_VALUE */
	POINT_STR(e, LSTRACE_STR_REASON, c);	 /* or NEW_VALUE */
	bpf_ringbuf_submit(e, submit_flags());
	return 0;
}

SEC("usdt")
int LSTRACE_USDT(on_state_change, __u64 span_id, __u64 trace_hi, __u64 trace_lo,
		 const char *component, const char *from, const char *to, const char *reason)
{
	return component_change(LSTRACE_POINT_STATE_CHANGE, span_id, trace_hi, trace_lo, component,
				from, to, reason);
}

SEC("usdt")
int LSTRACE_USDT(on_config_change, __u64 span_id, __u64 trace_hi, __u64 trace_lo,
		 const char *component, const char *key, const char *old_value,
		 const char *new_value)
{
	return component_change(LSTRACE_POINT_CONFIG_CHANGE, span_id, trace_hi, trace_lo, component,
				key, old_value, new_value);
}

SEC("usdt")
int LSTRACE_USDT(on_error, __u64 span_id, __u64 trace_hi, __u64 trace_lo, __u64 error_id,
		 const char *type, const char *message, const char *module, const char *severity,
		 const char *category, const char *context)
{
	struct lstrace_point_event *e =
	    point_begin(LSTRACE_POINT_ERROR, span_id, trace_hi, trace_lo);
	if (!e)
		return 0;
	e->num[LSTRACE_NUM_ERROR_ID] = error_id;
	POINT_STR(e, LSTRACE_STR_ERROR_TYPE, type);
	POINT_STR(e, LSTRACE_STR_ERROR_MESSAGE, message);
	POINT_STR(e, LSTRACE_STR_ERROR_MODULE, module);
	POINT_STR(e, LSTRACE_STR_SEVERITY, severity);
	POINT_STR(e, LSTRACE_STR_CATEGORY, category);
	POINT_STR(e, LSTRACE_STR_CONTEXT, context);
	if (collect_stacks) {
		/* the kernel walks user stacks by frame pointer only */
		long n = bpf_get_stack(ctx, e->stack, sizeof(e->stack), BPF_F_USER_STACK);
		if (n > 0)
			e->stack_len = n / sizeof(__u64);
		else
			e->hdr.flags |= LSTRACE_F_NO_STACK;
		/* the consumer resolves the stack through the process's memory
		 * map: wake it while the process is most likely still alive */
		bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
		return 0;
	}
	bpf_ringbuf_submit(e, submit_flags());
	return 0;
}

SEC("usdt")
int LSTRACE_USDT(on_error_handled, __u64 span_id, __u64 trace_hi, __u64 trace_lo, __u64 error_id,
		 const char *handler)
{
	struct lstrace_point_event *e =
	    point_begin(LSTRACE_POINT_ERROR_HANDLED, span_id, trace_hi, trace_lo);
	if (!e)
		return 0;
	e->num[LSTRACE_NUM_ERROR_ID] = error_id;
	POINT_STR(e, LSTRACE_STR_HANDLER, handler);
	bpf_ringbuf_submit(e, submit_flags());
	return 0;
}

SEC("usdt")
int LSTRACE_USDT(on_error_recovery, __u64 span_id, __u64 trace_hi, __u64 trace_lo, __u64 error_id,
		 const char *original_error, const char *strategy, int success)
{
	struct lstrace_point_event *e =
	    point_begin(LSTRACE_POINT_ERROR_RECOVERY, span_id, trace_hi, trace_lo);
	if (!e)
		return 0;
	e->num[LSTRACE_NUM_ERROR_ID] = error_id;
	e->num[LSTRACE_NUM_RECOVERY_SUCCESS] = success;
	POINT_STR(e, LSTRACE_STR_ORIGINAL_ERROR, original_error);
	POINT_STR(e, LSTRACE_STR_STRATEGY, strategy);
	bpf_ringbuf_submit(e, submit_flags());
	return 0;
}

SEC("usdt")
int LSTRACE_USDT(on_error_resolution, __u64 span_id, __u64 trace_hi, __u64 trace_lo, __u64 error_id,
		 const char *outcome, const char *detail)
{
	struct lstrace_point_event *e =
	    point_begin(LSTRACE_POINT_ERROR_RESOLUTION, span_id, trace_hi, trace_lo);
	if (!e)
		return 0;
	e->num[LSTRACE_NUM_ERROR_ID] = error_id;
	POINT_STR(e, LSTRACE_STR_OUTCOME, outcome);
	POINT_STR(e, LSTRACE_STR_DETAIL, detail);
	bpf_ringbuf_submit(e, submit_flags());
	return 0;
}

SEC("usdt")
int LSTRACE_USDT(on_data_flow, __u64 span_id, __u64 trace_hi, __u64 trace_lo, int direction,
		 const char *data_type, __s64 size_bytes, __s64 length, const char *keys,
		 const char *preview, __u64 fingerprint)
{
	struct lstrace_point_event *e =
	    point_begin(LSTRACE_POINT_DATA_FLOW, span_id, trace_hi, trace_lo);
	if (!e)
		return 0;
	e->num[LSTRACE_NUM_DIRECTION] = direction;
	e->num[LSTRACE_NUM_SIZE_BYTES] = size_bytes;
	e->num[LSTRACE_NUM_LENGTH] = length;
	e->num[LSTRACE_NUM_FINGERPRINT] = fingerprint;
	POINT_STR(e, LSTRACE_STR_DATA_TYPE, data_type);
	POINT_STR(e, LSTRACE_STR_DATA_KEYS, keys);
	POINT_STR(e, LSTRACE_STR_DATA_PREVIEW, preview);
	bpf_ringbuf_submit(e, submit_flags());
	return 0;
}

#endif /* LSTRACE_POINTS_BPF_H */
