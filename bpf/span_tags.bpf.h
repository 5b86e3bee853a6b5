/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * span_tags.bpf.h - the tags a span carries to its end probe.
 *
 * The application appends each tag of a recorded span to a buffer in the
 * span (include/lstrace/lstrace.h; format in probe_abi.h) and passes the
 * buffer to langswarm:span_end, so a span with tags still costs two probe
 * hits: begin and end.  Here the end program copies the buffer, as it is,
 * into the end event with one bpf_probe_read_user(); the correlator decodes
 * it.  The buffer was written by the ending thread just before the probe,
 * so its pages are resident and the read cannot miss a fault.  Tags that
 * did not fit came earlier through langswarm:span_tag.
 *
 * Binaries built with an older header fire span_end with two arguments:
 * the missing ones read as 0 (usdt_args.bpf.h), which is no buffer.
 */
#ifndef LSTRACE_SPAN_TAGS_BPF_H
#define LSTRACE_SPAN_TAGS_BPF_H

#include "common.bpf.h"

/* Fills e->tags_size and e->tags from the application's buffer at `tags`
 * (`size` bytes).  A size the buffer cannot have, or a failed read, sends
 * no tags and counts them lost. */
static __always_inline void read_span_tags(struct lstrace_span_end_event *e, const void *tags,
					   __u64 size)
{
	e->tags_size = 0;
	e->tags_pad = 0;
	if (!tags || size == 0)
		return;
	/* compared as 64 bits: a 32-bit compare leaves the 6.1 verifier
	 * without a bound on the register the helper gets */
	if (size > LSTRACE_TAG_BUF_LEN) {
		count(LSTRACE_CNT_LOST_TAG);
		return;
	}
	if (bpf_probe_read_user(e->tags, size, tags)) {
		count(LSTRACE_CNT_LOST_TAG);
		return;
	}
	e->tags_size = size;
}

#endif /* LSTRACE_SPAN_TAGS_BPF_H */
