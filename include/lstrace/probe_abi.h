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
#define LSTRACE_PROBE_ABI_VERSION 2

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

#endif /* LSTRACE_PROBE_ABI_H */
