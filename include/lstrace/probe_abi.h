/* SPDX-License-Identifier: MIT */
/*
 * probe_abi.h - values carried by langswarm probe arguments.
 *
 * Shared by the application header (lstrace.h) and the recorder; no
 * probe sites here, so the recorder can include it.  docs/probes.md is the
 * prose version of this file.
 */
#ifndef LSTRACE_PROBE_ABI_H
#define LSTRACE_PROBE_ABI_H

/* Version of the probe argument layout described in docs/probes.md. */
#define LSTRACE_PROBE_ABI_VERSION 3

/* Values of the `status` argument of langswarm:span_end. */
#define LSTRACE_STATUS_OK 0	   /* the span completed normally */
#define LSTRACE_STATUS_ERROR 1	   /* lstrace_span_error() was called */
#define LSTRACE_STATUS_EXCEPTION 2 /* C++: the span ended during stack unwinding */

/* Values of the `type` argument of langswarm:span_tag. */
#define LSTRACE_TAG_STRING 0 /* value in `str`, `num` is 0 */
#define LSTRACE_TAG_INT 1    /* value in `num` */
#define LSTRACE_TAG_DOUBLE 2 /* IEEE-754 bits of the double in `num` */
#define LSTRACE_TAG_BOOL 3   /* 0 or 1 in `num` */
/* A JSON value (list, object, ...) as text in `str`, `num` is 0; written
 * into the record as that value. */
#define LSTRACE_TAG_JSON 4

/* Values of the `direction` argument of langswarm:data_flow.  A
 * transformation is two consecutive probe hits on one thread: its input,
 * then its output. */
#define LSTRACE_DATA_INPUT 0
#define LSTRACE_DATA_OUTPUT 1
#define LSTRACE_DATA_TRANSFORM_INPUT 2
#define LSTRACE_DATA_TRANSFORM_OUTPUT 3

/* Separates the key=value pairs of langswarm:error's `context` argument
 * (ASCII unit separator). */
#define LSTRACE_CONTEXT_SEPARATOR '\x1f'

/* Longest strings the recorder copies, including the terminating NUL;
 * longer ones are cut and the record is flagged (metadata.truncated). */
/* tracer, component, operation, tag key, error type */
#define LSTRACE_NAME_LEN 64
/* span description */
#define LSTRACE_DESC_LEN 128
/* string tag value, error message, every string of the component, error and
 * data-flow probes */
#define LSTRACE_VALUE_LEN 256

/*
 * The span's tag buffer (probe ABI 3): tags set on a recorded span are
 * appended to a buffer in the span and handed to langswarm:span_end (its
 * `tags` and `tags_size` arguments), so a tag costs no probe hit of its own.
 * Each tag is LSTRACE_TAG_ENTRY_HEAD bytes -- its type (LSTRACE_TAG_*), the
 * length of its key and the length of its value -- then the key's bytes,
 * then the value's: the string's bytes for STRING and JSON (no NUL, at most
 * LSTRACE_VALUE_LEN - 1 of them), 8 bytes (the int64 `num` of span_tag, in
 * the host's byte order) for INT, DOUBLE and BOOL.  Keys are at most
 * LSTRACE_NAME_LEN - 1 bytes.  A tag that does not fit the buffer, or would
 * be cut, goes through langswarm:span_tag instead, and so do all later tags
 * of that span (so tags keep the order they were set in).
 */
#define LSTRACE_TAG_BUF_LEN 192
#define LSTRACE_TAG_ENTRY_HEAD 3
#define LSTRACE_TAG_NUM_LEN 8

#endif /* LSTRACE_PROBE_ABI_H */
