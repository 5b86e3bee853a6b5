/* SPDX-License-Identifier: MIT */
/*
 * lstrace.h - the C probe API of lstrace-bpf (provider "langswarm").
 *
 * Header-only: include it, compile with -pthread, link nothing.  Each call
 * below places a USDT probe site (a single nop plus an ELF note in
 * .note.stapsdt) that `lstrace-bpf record` attaches to.  When no recorder is
 * attached, every call costs one load of a USDT semaphore and a
 * not-taken branch: ids are not generated, strings are not read and the
 * probe nop is never reached.  (The arguments of a call are still
 * evaluated by the caller, as for any function: guard expensive ones with
 * lstrace_span_recording() / span.recording().)
 *
 * Usage (C):
 *
 *     struct lstrace_span span;
 *     lstrace_span_begin(&span, "agent", "generate", "Generating a reply");
 *     lstrace_tag_str(&span, "model", "small");
 *     lstrace_tag_int(&span, "tokens", 128);
 *     if (failed)
 *         lstrace_span_error(&span, "ConfigurationError", "Invalid format");
 *     lstrace_span_end(&span);
 *
 * or, with GCC/clang, LSTRACE_SPAN(span, "agent", "generate", "...") which
 * ends the span automatically when `span` goes out of scope.
 *
 * A recorded span costs two probe hits, begin and end: its tags are copied
 * into a buffer inside struct lstrace_span and handed to the end probe
 * (probe_abi.h, docs/probes.md).  A tag that does not fit goes through the
 * span_tag probe, and so do the span's later tags.
 *
 * Spans nest per thread: a span begun while another is open on the same
 * thread gets it as parent and shares its trace id.  Spans must end in LIFO
 * order on the thread that began them.
 *
 * The probes, their arguments and the meaning of each are documented in
 * docs/probes.md; that document is the ABI between applications and the
 * recorder.
 *
 * Note for users of <sys/sdt.h>: this header defines _SDT_HAS_SEMAPHORES
 * (every probe in the translation unit then carries a semaphore) and,
 * unless already defined, STAP_SDT_ARG_CONSTRAINT as "nr" so that probe
 * arguments are registers or constants, never memory operands.
 */
#ifndef LSTRACE_LSTRACE_H
#define LSTRACE_LSTRACE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>

#if defined(_SYS_SDT_H) && !defined(_SDT_HAS_SEMAPHORES)
/* clang-format off: one line, as the compiler prints it */
#error                                                                                             \
    "<sys/sdt.h> was included before <lstrace/lstrace.h> without _SDT_HAS_SEMAPHORES: the langswarm probes would have no semaphores and would never be enabled; include lstrace.h first"
/* clang-format on */
#endif
#ifndef _SDT_HAS_SEMAPHORES
#define _SDT_HAS_SEMAPHORES 1
#endif
#ifndef STAP_SDT_ARG_CONSTRAINT
#define STAP_SDT_ARG_CONSTRAINT nr
#endif
#include <sys/sdt.h>

/*
 * The probe site's instruction.  <sys/sdt.h> places a 1-byte nop (0x90),
 * which the kernel replaces with an int3 breakpoint while a uprobe is
 * attached.  Kernels from 6.18 can instead turn a 5-byte nop
 * (0f 1f 44 00 00) into a call to a uprobe trampoline, which is cheaper,
 * but that first form of the optimisation pushes the return address below
 * the stack pointer, into the x86-64 red zone, where the interrupted code
 * may keep live data (docs/probes.md, "The probe instruction").  So the
 * 1-byte nop stays the default; define LSTRACE_USDT_NOP5 to 1 (CMake:
 * -DLSTRACE_USDT_NOP5=ON) for kernels that carry the fix.  The bytes are
 * written out because the site is expanded inside one macro argument,
 * where the commas of `nopl 0(%rax,%rax,1)` would split it.
 */
#if defined(LSTRACE_USDT_NOP5) && LSTRACE_USDT_NOP5 && defined(__x86_64__)
#undef _SDT_NOP
#define _SDT_NOP                                                                                   \
	.byte 0x0f;                                                                                \
	.byte 0x1f;                                                                                \
	.byte 0x44;                                                                                \
	.byte 0x00;                                                                                \
	.byte 0x00
#endif

#include "probe_abi.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * USDT semaphores.  The kernel increments one while a uprobe is attached to
 * its probe, so reading it tells the application whether anyone listens.
 * Hidden visibility: each ELF object (executable or shared library) has its
 * own copy, which is what its own probe notes point at.  Weak: the header
 * can be included in any number of translation units.
 */
#define LSTRACE__SEMAPHORE(name)                                                                   \
	__attribute__((weak, used, section(".probes"),                                             \
		       visibility("hidden"))) volatile unsigned short langswarm_##name##_semaphore

LSTRACE__SEMAPHORE(recording);
LSTRACE__SEMAPHORE(span_begin);
LSTRACE__SEMAPHORE(span_end);
LSTRACE__SEMAPHORE(span_tag);
LSTRACE__SEMAPHORE(span_error);
LSTRACE__SEMAPHORE(component_init);
LSTRACE__SEMAPHORE(state_change);
LSTRACE__SEMAPHORE(config_change);
LSTRACE__SEMAPHORE(error);
LSTRACE__SEMAPHORE(error_handled);
LSTRACE__SEMAPHORE(error_recovery);
LSTRACE__SEMAPHORE(error_resolution);
LSTRACE__SEMAPHORE(data_flow);

/* True while a recorder is attached to the named probe of this object. */
#define LSTRACE_PROBE_ENABLED(name) __builtin_expect(langswarm_##name##_semaphore != 0, 0)

/*
 * True while a recorder is attached: spans begun now are recorded.  This is
 * the semaphore of langswarm:recording, a probe site that never executes:
 * the recorder arms it only after every other probe is fully attached (a
 * uprobe raises its semaphore before its BPF program is connected), and
 * disarms it first.
 */
#define LSTRACE_ENABLED() LSTRACE_PROBE_ENABLED(recording)

/*
 * One open span.  Lives on the caller's stack; span_id and status are set
 * by lstrace_span_begin(), the other fields only when a recorder was
 * attached then (span_id != 0), so an untraced span touches none of the
 * tag buffer.
 */
struct lstrace_span {
	uint64_t span_id;	 /* 0: not recorded */
	uint64_t parent_span_id; /* 0: root span */
	uint64_t trace_id_hi;
	uint64_t trace_id_lo;
	int32_t status;				  /* LSTRACE_STATUS_* */
	uint16_t tags_size_;			  /* bytes of tags_ in use */
	uint16_t tags_overflow_;		  /* a tag went through span_tag: so do the rest */
	unsigned char tags_[LSTRACE_TAG_BUF_LEN]; /* probe_abi.h: the tag buffer */
};

/* A span's identity: what a child span inherits. */
struct lstrace_context {
	uint64_t span_id; /* 0: no recorded span */
	uint64_t trace_id_hi;
	uint64_t trace_id_lo;
};

/*
 * Per-thread state shared by every object of the process that includes
 * this header (weak, default visibility even under -fvisibility=hidden: one
 * definition wins), so that spans nest across shared-library boundaries.
 * The current span is kept by value, not as a pointer to the caller's
 * struct: a span ended out of order, or on another thread, can leave the
 * thread with a stale parent but never with a dangling pointer.
 */
__attribute__((weak, visibility("default"))) __thread struct lstrace_context lstrace__current;
__attribute__((weak, visibility("default"))) __thread uint64_t lstrace__id_state;
__attribute__((weak, visibility("default"))) int lstrace__atfork_registered;

/* The calling thread's current recorded span ({0} when there is none). */
static inline struct lstrace_context lstrace_current_context(void)
{
	return lstrace__current;
}

/* A forked child must not repeat its parent's id sequence. */
static inline void lstrace__atfork_child(void)
{
	lstrace__id_state = 0;
}

/*
 * Random, non-zero 64-bit ids: splitmix64 over a per-thread state seeded
 * from getrandom().  Runs only when a recorder is attached.
 */
static inline uint64_t lstrace__next_id(void)
{
	if (__builtin_expect(lstrace__id_state == 0, 0)) {
		uint64_t seed = 0;
		/* The address of this thread's own state differs per thread (and
		 * per run under ASLR): a fallback if getrandom() is unavailable. */
		if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed))
			seed = (uint64_t)(uintptr_t)&seed * 0xff51afd7ed558ccdULL;
		lstrace__id_state = seed ^ (uint64_t)(uintptr_t)&lstrace__id_state;
		if (!__atomic_exchange_n(&lstrace__atfork_registered, 1, __ATOMIC_RELAXED))
			pthread_atfork(NULL, NULL, lstrace__atfork_child);
	}
	uint64_t z = (lstrace__id_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return z ? z : 1;
}

/*
 * The probe sites.  Each probe lives in exactly one out-of-line function
 * per ELF object, so it has exactly one site: the recorder arms it with a
 * single uprobe, and the semaphore the application checks turns non-zero
 * only once that site is armed.  (Inlined sites would multiply: the first
 * armed site would raise the shared semaphore while others were still
 * unarmed, and spans begun through those would be missed.)  In C++ the
 * functions are inline, hence COMDAT: the linker keeps one copy, and the
 * probe notes, which sdt.h places in the function's section group, go with
 * it.  C has no such merging: each C translation unit that includes this
 * header carries its own copy; harmless, because the recorder attaches
 * every site before it raises the langswarm:recording gate.  All are
 * `used`, so every probe exists in every instrumented object even if the
 * program never calls, say, lstrace_span_error().  noipa (GCC) keeps the compiler from cloning the
 * function with constant arguments, which would duplicate the site.
 *
 * Strings are read by BPF without being able to fault pages in, so each
 * string the probe passes is touched first (every byte up to the length the
 * recorder copies): a string literal in a never-read .rodata page would
 * otherwise arrive empty.  This runs only while a recorder is attached.
 */
#if defined(__clang__)
#define LSTRACE__NOIPA __attribute__((noinline))
#else
#define LSTRACE__NOIPA __attribute__((noipa))
#endif
#ifdef __cplusplus
#define LSTRACE__PROBE_FN inline LSTRACE__NOIPA __attribute__((used, visibility("hidden")))
#else
#define LSTRACE__PROBE_FN static LSTRACE__NOIPA __attribute__((used))
#endif

static inline void lstrace__fault_in(const char *s, size_t max)
{
	size_t n = 0;
	while (n < max && s[n])
		++n;
	__asm__ __volatile__("" : : "r"(n) : "memory");
}

LSTRACE__PROBE_FN void lstrace__probe_span_begin(uint64_t span_id, uint64_t parent_span_id,
						 uint64_t trace_id_hi, uint64_t trace_id_lo,
						 const char *tracer, const char *component,
						 const char *operation, const char *description)
{
	lstrace__fault_in(tracer, LSTRACE_NAME_LEN);
	lstrace__fault_in(component, LSTRACE_NAME_LEN);
	lstrace__fault_in(operation, LSTRACE_NAME_LEN);
	lstrace__fault_in(description, LSTRACE_DESC_LEN);
	STAP_PROBE8(langswarm, span_begin, span_id, parent_span_id, trace_id_hi, trace_id_lo,
		    tracer, component, operation, description);
}

/* Never called; it exists for its probe site and note. */
LSTRACE__PROBE_FN void lstrace__probe_recording(void)
{
	STAP_PROBE(langswarm, recording);
}

/* `tags`: the span's tag buffer, `tags_size` bytes of it (probe_abi.h).  It
 * was just written by this thread, so its pages are resident. */
LSTRACE__PROBE_FN void lstrace__probe_span_end(uint64_t span_id, int32_t status, const void *tags,
					       uint32_t tags_size)
{
	STAP_PROBE4(langswarm, span_end, span_id, status, tags, tags_size);
}

LSTRACE__PROBE_FN void lstrace__probe_span_tag(uint64_t span_id, const char *key, int32_t type,
					       int64_t num, const char *str)
{
	lstrace__fault_in(key, LSTRACE_NAME_LEN);
	if (str)
		lstrace__fault_in(str, LSTRACE_VALUE_LEN);
	STAP_PROBE5(langswarm, span_tag, span_id, key, type, num, str);
}

LSTRACE__PROBE_FN void lstrace__probe_span_error(uint64_t span_id, const char *error_type,
						 const char *message)
{
	lstrace__fault_in(error_type, LSTRACE_NAME_LEN);
	lstrace__fault_in(message, LSTRACE_VALUE_LEN);
	STAP_PROBE3(langswarm, span_error, span_id, error_type, message);
}

/* The component, error and data-flow probes.  Each carries the calling
 * thread's current span and trace (the event is linked to them). */
#define LSTRACE__NAME(s) lstrace__fault_in((s), LSTRACE_VALUE_LEN)

LSTRACE__PROBE_FN void lstrace__probe_component_init(uint64_t span_id, uint64_t trace_id_hi,
						     uint64_t trace_id_lo, const char *component,
						     const char *config_keys, int64_t config_size)
{
	LSTRACE__NAME(component);
	LSTRACE__NAME(config_keys);
	STAP_PROBE6(langswarm, component_init, span_id, trace_id_hi, trace_id_lo, component,
		    config_keys, config_size);
}

LSTRACE__PROBE_FN void lstrace__probe_state_change(uint64_t span_id, uint64_t trace_id_hi,
						   uint64_t trace_id_lo, const char *component,
						   const char *from_state, const char *to_state,
						   const char *reason)
{
	LSTRACE__NAME(component);
	LSTRACE__NAME(from_state);
	LSTRACE__NAME(to_state);
	LSTRACE__NAME(reason);
	STAP_PROBE7(langswarm, state_change, span_id, trace_id_hi, trace_id_lo, component,
		    from_state, to_state, reason);
}

LSTRACE__PROBE_FN void lstrace__probe_config_change(uint64_t span_id, uint64_t trace_id_hi,
						    uint64_t trace_id_lo, const char *component,
						    const char *key, const char *old_value,
						    const char *new_value)
{
	LSTRACE__NAME(component);
	LSTRACE__NAME(key);
	LSTRACE__NAME(old_value);
	LSTRACE__NAME(new_value);
	STAP_PROBE7(langswarm, config_change, span_id, trace_id_hi, trace_id_lo, component, key,
		    old_value, new_value);
}

LSTRACE__PROBE_FN void lstrace__probe_error(uint64_t span_id, uint64_t trace_id_hi,
					    uint64_t trace_id_lo, uint64_t error_id,
					    const char *type, const char *message,
					    const char *module, const char *severity,
					    const char *category, const char *context)
{
	LSTRACE__NAME(type);
	LSTRACE__NAME(message);
	LSTRACE__NAME(module);
	LSTRACE__NAME(severity);
	LSTRACE__NAME(category);
	LSTRACE__NAME(context);
	STAP_PROBE10(langswarm, error, span_id, trace_id_hi, trace_id_lo, error_id, type, message,
		     module, severity, category, context);
}

LSTRACE__PROBE_FN void lstrace__probe_error_handled(uint64_t span_id, uint64_t trace_id_hi,
						    uint64_t trace_id_lo, uint64_t error_id,
						    const char *handler)
{
	LSTRACE__NAME(handler);
	STAP_PROBE5(langswarm, error_handled, span_id, trace_id_hi, trace_id_lo, error_id, handler);
}

LSTRACE__PROBE_FN void lstrace__probe_error_recovery(uint64_t span_id, uint64_t trace_id_hi,
						     uint64_t trace_id_lo, uint64_t error_id,
						     const char *original_error,
						     const char *strategy, int32_t success)
{
	LSTRACE__NAME(original_error);
	LSTRACE__NAME(strategy);
	STAP_PROBE7(langswarm, error_recovery, span_id, trace_id_hi, trace_id_lo, error_id,
		    original_error, strategy, success);
}

LSTRACE__PROBE_FN void lstrace__probe_error_resolution(uint64_t span_id, uint64_t trace_id_hi,
						       uint64_t trace_id_lo, uint64_t error_id,
						       const char *outcome, const char *detail)
{
	LSTRACE__NAME(outcome);
	LSTRACE__NAME(detail);
	STAP_PROBE6(langswarm, error_resolution, span_id, trace_id_hi, trace_id_lo, error_id,
		    outcome, detail);
}

LSTRACE__PROBE_FN void lstrace__probe_data_flow(uint64_t span_id, uint64_t trace_id_hi,
						uint64_t trace_id_lo, int32_t direction,
						const char *data_type, int64_t size_bytes,
						int64_t length, const char *keys,
						const char *preview, uint64_t fingerprint)
{
	LSTRACE__NAME(data_type);
	LSTRACE__NAME(keys);
	LSTRACE__NAME(preview);
	STAP_PROBE10(langswarm, data_flow, span_id, trace_id_hi, trace_id_lo, direction, data_type,
		     size_bytes, length, keys, preview, fingerprint);
}

/* Opens a span on the calling thread (see the comment at the top). */
static inline void lstrace_span_begin_traced(struct lstrace_span *span, const char *tracer,
					     const char *component, const char *operation,
					     const char *description)
{
	span->span_id = 0;
	span->status = LSTRACE_STATUS_OK;
	if (!LSTRACE_ENABLED())
		return;
	const struct lstrace_context parent = lstrace__current;
	span->tags_size_ = 0;
	span->tags_overflow_ = 0;
	span->span_id = lstrace__next_id();
	if (parent.span_id) {
		span->parent_span_id = parent.span_id;
		span->trace_id_hi = parent.trace_id_hi;
		span->trace_id_lo = parent.trace_id_lo;
	} else {
		span->parent_span_id = 0;
		span->trace_id_hi = lstrace__next_id();
		span->trace_id_lo = lstrace__next_id();
	}
	lstrace__current.span_id = span->span_id;
	lstrace__current.trace_id_hi = span->trace_id_hi;
	lstrace__current.trace_id_lo = span->trace_id_lo;
	lstrace__probe_span_begin(span->span_id, span->parent_span_id, span->trace_id_hi,
				  span->trace_id_lo, tracer ? tracer : "",
				  component ? component : "", operation ? operation : "",
				  description ? description : "");
}

static inline void lstrace_span_begin(struct lstrace_span *span, const char *component,
				      const char *operation, const char *description)
{
	lstrace_span_begin_traced(span, "", component, operation, description);
}

/* Closes the span; its status goes to the recorder as success/failure. */
static inline void lstrace_span_end(struct lstrace_span *span)
{
	if (!span->span_id)
		return;
	lstrace__probe_span_end(span->span_id, span->status, span->tags_, span->tags_size_);
	/* LIFO on the thread that began it: the parent becomes current again
	 * (ended elsewhere or out of order, the thread's state is left alone) */
	if (lstrace__current.span_id == span->span_id) {
		lstrace__current.span_id = span->parent_span_id;
		if (!span->parent_span_id) {
			lstrace__current.trace_id_hi = 0;
			lstrace__current.trace_id_lo = 0;
		}
	}
	span->span_id = 0;
}

/*
 * True when the span is being recorded: worth computing expensive tags.
 * Tests the span_tag probe's own semaphore, not the recording gate: while a
 * recorder detaches (gate first, span_tag later), spans already begun keep
 * their tags for as long as they can still be delivered.
 */
static inline int lstrace_span_recording(const struct lstrace_span *span)
{
	return span->span_id != 0 && LSTRACE_PROBE_ENABLED(span_tag);
}

/* Length of `s` if it is shorter than `max` bytes, else `max`. */
static inline size_t lstrace__len_below(const char *s, size_t max)
{
	size_t n = 0;
	while (n < max && s[n])
		++n;
	return n;
}

/*
 * Appends a tag to the span's buffer (format in probe_abi.h); 0 when it does
 * not fit or would be cut, and then the caller fires span_tag for it and
 * every later tag of the span.  `str` is the value of STRING and JSON tags,
 * NULL for the others (their value is `num`).  Runs only while the span is
 * recorded.
 */
static inline int lstrace__tag_buffer(struct lstrace_span *span, const char *key, int32_t type,
				      int64_t num, const char *str)
{
	if (span->tags_overflow_)
		return 0;
	const size_t key_len = lstrace__len_below(key, LSTRACE_NAME_LEN);
	const size_t value_len =
	    str ? lstrace__len_below(str, LSTRACE_VALUE_LEN) : (size_t)LSTRACE_TAG_NUM_LEN;
	const size_t at = span->tags_size_;
	const size_t size = LSTRACE_TAG_ENTRY_HEAD + key_len + value_len;
	if (key_len >= LSTRACE_NAME_LEN || value_len >= LSTRACE_VALUE_LEN ||
	    size > LSTRACE_TAG_BUF_LEN - at) {
		span->tags_overflow_ = 1;
		return 0;
	}
	unsigned char *p = span->tags_ + at;
	p[0] = (unsigned char)type;
	p[1] = (unsigned char)key_len;
	p[2] = (unsigned char)value_len;
	memcpy(p + LSTRACE_TAG_ENTRY_HEAD, key, key_len);
	if (str)
		memcpy(p + LSTRACE_TAG_ENTRY_HEAD + key_len, str, value_len);
	else
		memcpy(p + LSTRACE_TAG_ENTRY_HEAD + key_len, &num, LSTRACE_TAG_NUM_LEN);
	span->tags_size_ = (uint16_t)(at + size);
	return 1;
}

/* A tag of a recorded span: into its buffer, else through span_tag. */
static inline void lstrace__tag(struct lstrace_span *span, const char *key, int32_t type,
				int64_t num, const char *str)
{
	if (!lstrace__tag_buffer(span, key, type, num, str))
		lstrace__probe_span_tag(span->span_id, key, type, num, str);
}

static inline void lstrace_tag_str(struct lstrace_span *span, const char *key, const char *value)
{
	if (lstrace_span_recording(span))
		lstrace__tag(span, key ? key : "", LSTRACE_TAG_STRING, 0, value ? value : "");
}

static inline void lstrace_tag_int(struct lstrace_span *span, const char *key, int64_t value)
{
	if (lstrace_span_recording(span))
		lstrace__tag(span, key ? key : "", LSTRACE_TAG_INT, value, (const char *)0);
}

static inline void lstrace_tag_double(struct lstrace_span *span, const char *key, double value)
{
	if (lstrace_span_recording(span)) {
		int64_t bits;
		memcpy(&bits, &value, sizeof(bits));
		lstrace__tag(span, key ? key : "", LSTRACE_TAG_DOUBLE, bits, (const char *)0);
	}
}

static inline void lstrace_tag_bool(struct lstrace_span *span, const char *key, int value)
{
	if (lstrace_span_recording(span))
		lstrace__tag(span, key ? key : "", LSTRACE_TAG_BOOL, value != 0, (const char *)0);
}

/* Marks the span failed (success=false) with an error type and message. */
static inline void lstrace_span_error(struct lstrace_span *span, const char *error_type,
				      const char *message)
{
	if (!span->span_id)
		return;
	span->status = LSTRACE_STATUS_ERROR;
	lstrace__probe_span_error(span->span_id, error_type ? error_type : "",
				  message ? message : "");
}

/*
 * Component, error and data-flow events (docs/probes.md).  Each is linked to
 * the calling thread's current span and trace, and costs one semaphore load
 * when no recorder listens.  NULL strings are sent as "".
 */

/* True while a recorder listens to the named event probe: worth computing
 * its arguments (e.g. a data fingerprint). */
#define LSTRACE_EVENT_ENABLED(name) (LSTRACE_ENABLED() && LSTRACE_PROBE_ENABLED(name))
#define LSTRACE__S(s) ((s) ? (s) : "")

/* A component was initialized with a configuration: its keys (comma
 * separated) and its size in bytes. */
static inline void lstrace_component_init(const char *component, const char *config_keys,
					  int64_t config_size)
{
	if (!LSTRACE_EVENT_ENABLED(component_init))
		return;
	const struct lstrace_context c = lstrace__current;
	lstrace__probe_component_init(c.span_id, c.trace_id_hi, c.trace_id_lo,
				      LSTRACE__S(component), LSTRACE__S(config_keys), config_size);
}

/* A component went from one state to another (reason may be NULL). */
static inline void lstrace_state_change(const char *component, const char *from_state,
					const char *to_state, const char *reason)
{
	if (!LSTRACE_EVENT_ENABLED(state_change))
		return;
	const struct lstrace_context c = lstrace__current;
	lstrace__probe_state_change(c.span_id, c.trace_id_hi, c.trace_id_lo, LSTRACE__S(component),
				    LSTRACE__S(from_state), LSTRACE__S(to_state),
				    LSTRACE__S(reason));
}

/* A component's configuration changed at run time. */
static inline void lstrace_config_change(const char *component, const char *key,
					 const char *old_value, const char *new_value)
{
	if (!LSTRACE_EVENT_ENABLED(config_change))
		return;
	const struct lstrace_context c = lstrace__current;
	lstrace__probe_config_change(c.span_id, c.trace_id_hi, c.trace_id_lo, LSTRACE__S(component),
				     LSTRACE__S(key), LSTRACE__S(old_value), LSTRACE__S(new_value));
}

/* An error occurrence.  `context` holds "key=value" pairs separated by
 * LSTRACE_CONTEXT_SEPARATOR (each becomes a context_<key> tag); any field
 * may be NULL. */
struct lstrace_error_info {
	const char *type; /* e.g. "RateLimitError" */
	const char *message;
	const char *module;   /* where the error type comes from */
	const char *severity; /* e.g. "critical", "error", "warning", "info" */
	const char *category; /* e.g. "network", "configuration" */
	const char *context;
};

/* Records an error occurrence; returns its id (0 when not recording), to
 * link the handling, recovery and resolution events to it. */
static inline uint64_t lstrace_error(const struct lstrace_error_info *info)
{
	if (!LSTRACE_EVENT_ENABLED(error))
		return 0;
	const struct lstrace_context c = lstrace__current;
	const uint64_t id = lstrace__next_id();
	lstrace__probe_error(c.span_id, c.trace_id_hi, c.trace_id_lo, id, LSTRACE__S(info->type),
			     LSTRACE__S(info->message), LSTRACE__S(info->module),
			     LSTRACE__S(info->severity), LSTRACE__S(info->category),
			     LSTRACE__S(info->context));
	return id;
}

/* The error was caught and handled by `handler`. */
static inline void lstrace_error_handled(uint64_t error_id, const char *handler)
{
	if (!LSTRACE_EVENT_ENABLED(error_handled))
		return;
	const struct lstrace_context c = lstrace__current;
	lstrace__probe_error_handled(c.span_id, c.trace_id_hi, c.trace_id_lo, error_id,
				     LSTRACE__S(handler));
}

/* A recovery attempt for the error and whether it worked. */
static inline void lstrace_error_recovery(uint64_t error_id, const char *original_error,
					  const char *strategy, int success)
{
	if (!LSTRACE_EVENT_ENABLED(error_recovery))
		return;
	const struct lstrace_context c = lstrace__current;
	lstrace__probe_error_recovery(c.span_id, c.trace_id_hi, c.trace_id_lo, error_id,
				      LSTRACE__S(original_error), LSTRACE__S(strategy),
				      success != 0);
}

/* How the error ended: LSTRACE_ERROR_RESOLVED or LSTRACE_ERROR_ESCALATED. */
#define LSTRACE_ERROR_RESOLVED "resolved"
#define LSTRACE_ERROR_ESCALATED "escalated"
static inline void lstrace_error_resolution(uint64_t error_id, const char *outcome,
					    const char *detail)
{
	if (!LSTRACE_EVENT_ENABLED(error_resolution))
		return;
	const struct lstrace_context c = lstrace__current;
	lstrace__probe_error_resolution(c.span_id, c.trace_id_hi, c.trace_id_lo, error_id,
					LSTRACE__S(outcome), LSTRACE__S(detail));
}

/* Data entering or leaving an operation (direction LSTRACE_DATA_*): its
 * type name, size in bytes, length (elements or characters; -1 if none),
 * keys (comma separated, when a mapping has fewer than 10), a preview of at
 * most 100 characters and a fingerprint (lstrace_fingerprint()).  A
 * transformation is LSTRACE_DATA_TRANSFORM_INPUT then _OUTPUT on one
 * thread.  Compute the arguments only if LSTRACE_EVENT_ENABLED(data_flow). */
static inline void lstrace_data_flow(int direction, const char *data_type, int64_t size_bytes,
				     int64_t length, const char *keys, const char *preview,
				     uint64_t fingerprint)
{
	if (!LSTRACE_EVENT_ENABLED(data_flow))
		return;
	const struct lstrace_context c = lstrace__current;
	lstrace__probe_data_flow(c.span_id, c.trace_id_hi, c.trace_id_lo, direction,
				 LSTRACE__S(data_type), size_bytes, length, LSTRACE__S(keys),
				 LSTRACE__S(preview), fingerprint);
}

/* 64-bit FNV-1a of `n` bytes: the data-flow fingerprint. */
static inline uint64_t lstrace_fingerprint(const void *data, size_t n)
{
	const unsigned char *p = (const unsigned char *)data;
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/*
 * Trace context across threads and processes.
 *
 * A worker thread joins a trace by attaching the context of a span of
 * another thread: spans it then begins are that span's children.
 *
 *     struct lstrace_context ctx = lstrace_current_context();   // producer
 *     ...
 *     struct lstrace_context prev = lstrace_context_attach(ctx); // worker
 *     ... spans ...
 *     lstrace_context_detach(prev);
 *
 * Across processes the context travels as a W3C traceparent string
 * ("00-<32 hex trace id>-<16 hex parent span id>-01"), e.g. in the
 * TRACEPARENT environment variable or a message header.
 */
static inline struct lstrace_context lstrace_context_attach(struct lstrace_context ctx)
{
	const struct lstrace_context previous = lstrace__current;
	lstrace__current = ctx;
	return previous;
}

static inline void lstrace_context_detach(struct lstrace_context previous)
{
	lstrace__current = previous;
}

#define LSTRACE_TRACEPARENT_LEN 56 /* 55 characters and the NUL */

/* Writes ctx as a traceparent (flags 01, sampled: a recorded span is); returns
 * 0 (and writes "") if ctx has no span or no trace. */
static inline int lstrace_context_to_traceparent(struct lstrace_context ctx,
						 char out[LSTRACE_TRACEPARENT_LEN])
{
	static const char digits[] = "0123456789abcdef";
	const uint64_t parts[3] = { ctx.trace_id_hi, ctx.trace_id_lo, ctx.span_id };
	char *p = out;
	if (!ctx.span_id || (!ctx.trace_id_hi && !ctx.trace_id_lo)) {
		out[0] = '\0';
		return 0;
	}
	*p++ = '0';
	*p++ = '0';
	for (int i = 0; i < 3; i++) {
		if (i != 1) /* the trace id's two halves are one 32-digit field */
			*p++ = '-';
		for (int shift = 60; shift >= 0; shift -= 4)
			*p++ = digits[(parts[i] >> shift) & 0xf];
	}
	*p++ = '-';
	*p++ = '0';
	*p++ = '1';
	*p = '\0';
	return 1;
}

static inline int lstrace__hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Parses a traceparent; returns 0 (and leaves *out alone) if it is not a
 * valid one: version ff, wrong lengths, upper-case or non-hex digits, or
 * an all-zero trace or span id. */
static inline int lstrace_context_from_traceparent(const char *s, struct lstrace_context *out)
{
	uint64_t parts[3] = { 0, 0, 0 };
	if (!s || lstrace__hex_digit(s[0]) < 0 || lstrace__hex_digit(s[1]) < 0 || s[2] != '-' ||
	    (s[0] == 'f' && s[1] == 'f'))
		return 0;
	const char *p = s + 3;
	for (int i = 0; i < 3; i++) {
		for (int k = 0; k < 16; k++) {
			const int d = lstrace__hex_digit(*p++);
			if (d < 0)
				return 0;
			parts[i] = (parts[i] << 4) | (uint64_t)d;
		}
		/* the trace id is 32 digits: its two halves have no dash between */
		if (i != 0 && *p++ != '-')
			return 0;
	}
	/* version 00 ends after the flags; later versions may append fields */
	const int v00 = s[0] == '0' && s[1] == '0';
	if (lstrace__hex_digit(p[0]) < 0 || lstrace__hex_digit(p[1]) < 0 ||
	    (p[2] != '\0' && (v00 || p[2] != '-')))
		return 0;
	if ((parts[0] == 0 && parts[1] == 0) || parts[2] == 0)
		return 0;
	out->trace_id_hi = parts[0];
	out->trace_id_lo = parts[1];
	out->span_id = parts[2];
	return 1;
}

static inline void lstrace__span_cleanup(struct lstrace_span *span)
{
	lstrace_span_end(span);
}

/* Declares `var` and opens a span that ends when `var` leaves scope. */
#define LSTRACE_SPAN(var, component, operation, description)                                       \
	__attribute__((cleanup(lstrace__span_cleanup))) struct lstrace_span var;                   \
	lstrace_span_begin(&var, (component), (operation), (description))

#ifdef __cplusplus
}
#endif

#endif /* LSTRACE_LSTRACE_H */
