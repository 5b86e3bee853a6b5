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
#error "<sys/sdt.h> was included before <lstrace/lstrace.h> without _SDT_HAS_SEMAPHORES: the langswarm probes would have no semaphores and would never be enabled; include lstrace.h first"
#endif
#ifndef _SDT_HAS_SEMAPHORES
#define _SDT_HAS_SEMAPHORES 1
#endif
#ifndef STAP_SDT_ARG_CONSTRAINT
#define STAP_SDT_ARG_CONSTRAINT nr
#endif
#include <sys/sdt.h>

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
#define LSTRACE__SEMAPHORE(name)                                                             \
	__attribute__((weak, used, section(".probes"), visibility("hidden"))) volatile unsigned short \
		langswarm_##name##_semaphore

LSTRACE__SEMAPHORE(recording);
LSTRACE__SEMAPHORE(span_begin);
LSTRACE__SEMAPHORE(span_end);
LSTRACE__SEMAPHORE(span_tag);
LSTRACE__SEMAPHORE(span_error);

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
 * One open span.  Lives on the caller's stack; the fields are filled only
 * when a recorder was attached at lstrace_span_begin() (span_id != 0).
 */
struct lstrace_span {
	uint64_t span_id;        /* 0: not recorded */
	uint64_t parent_span_id; /* 0: root span */
	uint64_t trace_id_hi;
	uint64_t trace_id_lo;
	int32_t status;          /* LSTRACE_STATUS_* */
	int32_t reserved_;
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

LSTRACE__PROBE_FN void lstrace__probe_span_end(uint64_t span_id, int32_t status)
{
	STAP_PROBE2(langswarm, span_end, span_id, status);
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

/* Opens a span on the calling thread (see the comment at the top). */
static inline void lstrace_span_begin_traced(struct lstrace_span *span, const char *tracer,
					     const char *component, const char *operation,
					     const char *description)
{
	span->span_id = 0;
	span->status = LSTRACE_STATUS_OK;
	span->reserved_ = 0;
	if (!LSTRACE_ENABLED())
		return;
	const struct lstrace_context parent = lstrace__current;
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
				  span->trace_id_lo, tracer ? tracer : "", component ? component : "",
				  operation ? operation : "", description ? description : "");
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
	lstrace__probe_span_end(span->span_id, span->status);
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

static inline void lstrace_tag_str(struct lstrace_span *span, const char *key, const char *value)
{
	if (lstrace_span_recording(span))
		lstrace__probe_span_tag(span->span_id, key, LSTRACE_TAG_STRING, 0, value ? value : "");
}

static inline void lstrace_tag_int(struct lstrace_span *span, const char *key, int64_t value)
{
	if (lstrace_span_recording(span))
		lstrace__probe_span_tag(span->span_id, key, LSTRACE_TAG_INT, value, (const char *)0);
}

static inline void lstrace_tag_double(struct lstrace_span *span, const char *key, double value)
{
	if (lstrace_span_recording(span)) {
		int64_t bits;
		memcpy(&bits, &value, sizeof(bits));
		lstrace__probe_span_tag(span->span_id, key, LSTRACE_TAG_DOUBLE, bits, (const char *)0);
	}
}

static inline void lstrace_tag_bool(struct lstrace_span *span, const char *key, int value)
{
	if (lstrace_span_recording(span))
		lstrace__probe_span_tag(span->span_id, key, LSTRACE_TAG_BOOL, value != 0,
					(const char *)0);
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

static inline void lstrace__span_cleanup(struct lstrace_span *span)
{
	lstrace_span_end(span);
}

/* Declares `var` and opens a span that ends when `var` leaves scope. */
#define LSTRACE_SPAN(var, component, operation, description)                        \
	__attribute__((cleanup(lstrace__span_cleanup))) struct lstrace_span var; \
	lstrace_span_begin(&var, (component), (operation), (description))

#ifdef __cplusplus
}
#endif

#endif /* LSTRACE_LSTRACE_H */
