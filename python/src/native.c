/* SPDX-License-Identifier: MIT */
/*
 * native.c - lstrace._native, the probe sites of the Python binding.
 *
 * Design.  The `langswarm` USDT probes (docs/probes.md) must live in an ELF
 * object, with their semaphores: this extension module is that object.  It
 * includes the C header <lstrace/lstrace.h>, so it carries the same thirteen
 * probes, one site each, plus two of its own at asyncio task steps (this is one translation unit),
 * and `lstrace-bpf record` finds them in the process's mappings like those of any shared library.
 *
 * The Python layer (python/lstrace/) keeps the current span in a
 * contextvars.ContextVar, not in the header's thread-local, because an
 * asyncio task's spans must follow the task, not the thread.  So every
 * function here takes the span and trace ids explicitly (span_tag and
 * span_end: the span's tag buffer, which span_begin returns) and fires the
 * probe; the id generator, the tag buffer and the traceparent codec are the
 * header's own.
 *
 * The detached cost is what matters most: `Tracer.trace_operation` and the
 * no-op span are implemented here, so a span with one tag costs, with no
 * recorder attached, one semaphore load plus the calls themselves (no
 * context variable, no clock, no allocation).  While a recorder is attached,
 * trace_operation hands over to the Python `Span` class registered by
 * lstrace/_span.py (`_configure`).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <lstrace/lstrace.h>
#include <string.h>

/* Set once by _configure(): the Python span class and the JSON encoder of
 * list/dict tag values (json.dumps with compact separators). */
static PyObject *span_class;
static PyObject *to_json;
/* Interned keyword names of trace_operation. */
static PyObject *kw_component, *kw_operation, *kw_description;

/* A Python str as a UTF-8 C string (cached in the object, NUL-terminated).
 * `what` names the argument in the TypeError. */
static const char *utf8(PyObject *o, const char *what)
{
	if (!PyUnicode_Check(o)) {
		PyErr_Format(PyExc_TypeError, "lstrace: %s must be a str, not %.100s", what,
			     Py_TYPE(o)->tp_name);
		return NULL;
	}
	return PyUnicode_AsUTF8(o);
}

static int as_u64(PyObject *o, uint64_t *out)
{
	const unsigned long long v = PyLong_AsUnsignedLongLong(o);
	if (v == (unsigned long long)-1 && PyErr_Occurred())
		return 0;
	*out = v;
	return 1;
}

static int check_nargs(Py_ssize_t n, Py_ssize_t want, const char *name)
{
	if (n == want)
		return 1;
	PyErr_Format(PyExc_TypeError, "%s() takes %zd arguments (%zd given)", name, want, n);
	return 0;
}

/* Reads the first three arguments (span id, trace id halves) of an event. */
static int event_context(PyObject *const *args, struct lstrace_context *c)
{
	return as_u64(args[0], &c->span_id) && as_u64(args[1], &c->trace_id_hi) &&
	       as_u64(args[2], &c->trace_id_lo);
}

/* ---- gates ---------------------------------------------------------- */

static PyObject *native_enabled(PyObject *self, PyObject *unused)
{
	(void)self;
	(void)unused;
	return PyBool_FromLong(LSTRACE_ENABLED());
}

/* ---- ids and trace context ------------------------------------------ */

static PyObject *native_next_id(PyObject *self, PyObject *unused)
{
	(void)self;
	(void)unused;
	return PyLong_FromUnsignedLongLong(lstrace__next_id());
}

/* (span_id, trace_id_hi, trace_id_lo) -> traceparent str, or None */
static PyObject *native_to_traceparent(PyObject *self, PyObject *const *args, Py_ssize_t n)
{
	(void)self;
	struct lstrace_context c;
	char out[LSTRACE_TRACEPARENT_LEN];
	if (!check_nargs(n, 3, "to_traceparent") || !event_context(args, &c))
		return NULL;
	if (!lstrace_context_to_traceparent(c, out))
		Py_RETURN_NONE;
	return PyUnicode_FromString(out);
}

/* traceparent str -> (span_id, trace_id_hi, trace_id_lo), or None if invalid */
static PyObject *native_from_traceparent(PyObject *self, PyObject *arg)
{
	(void)self;
	struct lstrace_context c;
	const char *s = utf8(arg, "traceparent");
	if (!s)
		return NULL;
	if (!lstrace_context_from_traceparent(s, &c))
		Py_RETURN_NONE;
	return Py_BuildValue("(KKK)", (unsigned long long)c.span_id,
			     (unsigned long long)c.trace_id_hi, (unsigned long long)c.trace_id_lo);
}

/* ---- task-step probes -------------------------------------------------
 *
 * Not in the C header: only this binding steps coroutine tasks.  Fired by
 * lstrace/_tasks.py around each step of an asyncio task, while a recorder
 * is attached, so that BPF counts a span's figures only while its own task
 * runs (bpf/task_steps.bpf.h, docs/probes.md).
 */
LSTRACE__SEMAPHORE(task_resume);
LSTRACE__SEMAPHORE(task_suspend);

static LSTRACE__NOIPA __attribute__((used)) void probe_task_resume(uint64_t task)
{
	STAP_PROBE1(langswarm, task_resume, task);
}

static LSTRACE__NOIPA __attribute__((used)) void probe_task_suspend(uint64_t task)
{
	STAP_PROBE1(langswarm, task_suspend, task);
}

/* task_resume(key), task_suspend(key): key is a non-zero int (the step
 * wrapper's id()); the argument is read only while the probe is attached */
static PyObject *task_step_probe(PyObject *arg, int resume)
{
	uint64_t task;
	if (resume ? !LSTRACE_PROBE_ENABLED(task_resume) : !LSTRACE_PROBE_ENABLED(task_suspend))
		Py_RETURN_NONE;
	if (!as_u64(arg, &task))
		return NULL;
	if (resume)
		probe_task_resume(task);
	else
		probe_task_suspend(task);
	Py_RETURN_NONE;
}

static PyObject *native_task_resume(PyObject *self, PyObject *arg)
{
	(void)self;
	return task_step_probe(arg, 1);
}

static PyObject *native_task_suspend(PyObject *self, PyObject *arg)
{
	(void)self;
	return task_step_probe(arg, 0);
}

/* ---- span probes ----------------------------------------------------- */

/*
 * A recorded span's tag buffer: the C header's struct lstrace_span, of which
 * only span_id and the buffer are used.  Tags set on the span are written
 * into it (or, past what it holds, fired through span_tag, as in C) and ride
 * to the span's span_end probe, so a span costs two probe hits however many
 * tags it has (docs/probes.md, the tag buffer).
 */
typedef struct {
	PyObject_HEAD struct lstrace_span span;
} SpanTags;

static PyTypeObject SpanTagsType = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "lstrace._native.SpanTags",
	.tp_basicsize = sizeof(SpanTags),
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "The tag buffer of a recorded span (made by span_begin).",
};

/* The tag buffer argument of span_tag / span_end. */
static struct lstrace_span *span_tags(PyObject *o)
{
	if (Py_IS_TYPE(o, &SpanTagsType))
		return &((SpanTags *)o)->span;
	PyErr_Format(PyExc_TypeError, "lstrace: expected the span's tag buffer, not %.100s",
		     Py_TYPE(o)->tp_name);
	return NULL;
}

/* span_begin(span_id, parent_span_id, trace_hi, trace_lo, tracer, component,
 *            operation, description) -> the span's tag buffer */
static PyObject *native_span_begin(PyObject *self, PyObject *const *args, Py_ssize_t n)
{
	(void)self;
	uint64_t id, parent, hi, lo;
	if (!check_nargs(n, 8, "span_begin") || !as_u64(args[0], &id) ||
	    !as_u64(args[1], &parent) || !as_u64(args[2], &hi) || !as_u64(args[3], &lo))
		return NULL;
	const char *tracer = utf8(args[4], "tracer");
	const char *component = tracer ? utf8(args[5], "component") : NULL;
	const char *operation = component ? utf8(args[6], "operation") : NULL;
	const char *description = operation ? utf8(args[7], "description") : NULL;
	if (!description)
		return NULL;
	SpanTags *tags = PyObject_New(SpanTags, &SpanTagsType);
	if (!tags)
		return NULL;
	tags->span.span_id = id;
	tags->span.tags_size_ = 0;
	tags->span.tags_overflow_ = 0;
	lstrace__probe_span_begin(id, parent, hi, lo, tracer, component, operation, description);
	return (PyObject *)tags;
}

/* span_end(tags, status): the span of the tag buffer, with its tags */
static PyObject *native_span_end(PyObject *self, PyObject *const *args, Py_ssize_t n)
{
	(void)self;
	struct lstrace_span *span;
	if (!check_nargs(n, 2, "span_end") || !(span = span_tags(args[0])))
		return NULL;
	const long status = PyLong_AsLong(args[1]);
	if (status == -1 && PyErr_Occurred())
		return NULL;
	lstrace__probe_span_end(span->span_id, (int32_t)status, span->tags_, span->tags_size_);
	Py_RETURN_NONE;
}

/*
 * span_tag(tags, key, value): into the span's tag buffer (span_tag past
 * it); bool, int (64-bit), float and str go as
 * the probe's own types; anything else (list, dict, tuple, None, an int
 * beyond 64 bits) as JSON text (LSTRACE_TAG_JSON), which the recorder writes
 * as a JSON value.  A value json.dumps cannot encode raises its TypeError
 * before anything is fired: nothing is recorded half.
 */
static PyObject *native_span_tag(PyObject *self, PyObject *const *args, Py_ssize_t n)
{
	(void)self;
	struct lstrace_span *span;
	if (!check_nargs(n, 3, "span_tag") || !(span = span_tags(args[0])))
		return NULL;
	const char *key = utf8(args[1], "tag key");
	if (!key)
		return NULL;
	PyObject *v = args[2];
	if (PyBool_Check(v)) {
		lstrace__tag(span, key, LSTRACE_TAG_BOOL, v == Py_True, NULL);
		Py_RETURN_NONE;
	}
	if (PyLong_Check(v)) {
		int overflow = 0;
		const long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
		if (x == -1 && PyErr_Occurred())
			return NULL;
		if (!overflow) {
			lstrace__tag(span, key, LSTRACE_TAG_INT, (int64_t)x, NULL);
			Py_RETURN_NONE;
		}
	} else if (PyFloat_Check(v)) {
		const double d = PyFloat_AS_DOUBLE(v);
		int64_t bits;
		memcpy(&bits, &d, sizeof(bits));
		lstrace__tag(span, key, LSTRACE_TAG_DOUBLE, bits, NULL);
		Py_RETURN_NONE;
	} else if (PyUnicode_Check(v)) {
		const char *s = PyUnicode_AsUTF8(v);
		if (!s)
			return NULL;
		lstrace__tag(span, key, LSTRACE_TAG_STRING, 0, s);
		Py_RETURN_NONE;
	}
	if (!to_json) {
		PyErr_SetString(PyExc_RuntimeError, "lstrace._native is not configured");
		return NULL;
	}
	PyObject *text = PyObject_CallOneArg(to_json, v);
	if (!text)
		return NULL;
	const char *s = utf8(text, "JSON text");
	if (s)
		lstrace__tag(span, key, LSTRACE_TAG_JSON, 0, s);
	Py_DECREF(text);
	if (!s)
		return NULL;
	Py_RETURN_NONE;
}

static PyObject *native_span_error(PyObject *self, PyObject *const *args, Py_ssize_t n)
{
	(void)self;
	uint64_t id;
	if (!check_nargs(n, 3, "span_error") || !as_u64(args[0], &id))
		return NULL;
	const char *type = utf8(args[1], "error type");
	const char *message = type ? utf8(args[2], "error message") : NULL;
	if (!message)
		return NULL;
	lstrace__probe_span_error(id, type, message);
	Py_RETURN_NONE;
}

/* ---- component, error and data-flow events ---------------------------- */

/* Each takes (span_id, trace_hi, trace_lo, ...) and fires only while its
 * own probe is attached (LSTRACE_EVENT_ENABLED). */

static PyObject *native_component_init(PyObject *self, PyObject *const *args, Py_ssize_t n)
{
	(void)self;
	struct lstrace_context c;
	if (!check_nargs(n, 6, "component_init") || !event_context(args, &c))
		return NULL;
	const char *component = utf8(args[3], "component");
	const char *keys = component ? utf8(args[4], "config_keys") : NULL;
	if (!keys)
		return NULL;
	const long long size = PyLong_AsLongLong(args[5]);
	if (size == -1 && PyErr_Occurred())
		return NULL;
	if (LSTRACE_EVENT_ENABLED(component_init))
		lstrace__probe_component_init(c.span_id, c.trace_id_hi, c.trace_id_lo, component,
					      keys, size);
	Py_RETURN_NONE;
}

/* state_change and config_change: four strings after the context */
static PyObject *four_strings(PyObject *const *args, Py_ssize_t n, const char *name,
			      const char *s[4])
{
	struct lstrace_context c;
	if (!check_nargs(n, 7, name) || !event_context(args, &c))
		return NULL;
	for (int i = 0; i < 4; i++)
		if (!(s[i] = utf8(args[3 + i], name)))
			return NULL;
	if (name[0] == 's') {
		if (LSTRACE_EVENT_ENABLED(state_change))
			lstrace__probe_state_change(c.span_id, c.trace_id_hi, c.trace_id_lo, s[0],
						    s[1], s[2], s[3]);
	} else if (LSTRACE_EVENT_ENABLED(config_change)) {
		lstrace__probe_config_change(c.span_id, c.trace_id_hi, c.trace_id_lo, s[0], s[1],
					     s[2], s[3]);
	}
	Py_RETURN_NONE;
}

static PyObject *native_state_change(PyObject *self, PyObject *const *args, Py_ssize_t n)
{
	(void)self;
	const char *s[4];
	return four_strings(args, n, "state_change", s);
}

static PyObject *native_config_change(PyObject *self, PyObject *const *args, Py_ssize_t n)
{
	(void)self;
	const char *s[4];
	return four_strings(args, n, "config_change", s);
}

/* error(span, hi, lo, type, message, module, severity, category, context)
 * -> error id (0 when not recording) */
static PyObject *native_error(PyObject *self, PyObject *const *args, Py_ssize_t n)
{
	(void)self;
	struct lstrace_context c;
	const char *s[6];
	if (!check_nargs(n, 9, "error") || !event_context(args, &c))
		return NULL;
	for (int i = 0; i < 6; i++)
		if (!(s[i] = utf8(args[3 + i], "error field")))
			return NULL;
	if (!LSTRACE_EVENT_ENABLED(error))
		return PyLong_FromLong(0);
	const uint64_t id = lstrace__next_id();
	lstrace__probe_error(c.span_id, c.trace_id_hi, c.trace_id_lo, id, s[0], s[1], s[2], s[3],
			     s[4], s[5]);
	return PyLong_FromUnsignedLongLong(id);
}

/* The arguments the error_handled, error_recovery and error_resolution
 * events start with: the context, then the id of the error they are about. */
static int error_event_args(PyObject *const *args, Py_ssize_t n, Py_ssize_t want, const char *name,
			    struct lstrace_context *c, uint64_t *id)
{
	return check_nargs(n, want, name) && event_context(args, c) && as_u64(args[3], id);
}

/* error_handled(span, hi, lo, error_id, handler) */
static PyObject *native_error_handled(PyObject *self, PyObject *const *args, Py_ssize_t n)
{
	(void)self;
	struct lstrace_context c;
	uint64_t id;
	if (!error_event_args(args, n, 5, "error_handled", &c, &id))
		return NULL;
	const char *handler = utf8(args[4], "handler");
	if (!handler)
		return NULL;
	if (LSTRACE_EVENT_ENABLED(error_handled))
		lstrace__probe_error_handled(c.span_id, c.trace_id_hi, c.trace_id_lo, id, handler);
	Py_RETURN_NONE;
}

/* error_recovery(span, hi, lo, error_id, original_error, strategy, success) */
static PyObject *native_error_recovery(PyObject *self, PyObject *const *args, Py_ssize_t n)
{
	(void)self;
	struct lstrace_context c;
	uint64_t id;
	if (!error_event_args(args, n, 7, "error_recovery", &c, &id))
		return NULL;
	const char *original = utf8(args[4], "original_error");
	const char *strategy = original ? utf8(args[5], "recovery_strategy") : NULL;
	if (!strategy)
		return NULL;
	const int success = PyObject_IsTrue(args[6]);
	if (success < 0)
		return NULL;
	if (LSTRACE_EVENT_ENABLED(error_recovery))
		lstrace__probe_error_recovery(c.span_id, c.trace_id_hi, c.trace_id_lo, id, original,
					      strategy, success);
	Py_RETURN_NONE;
}

/* error_resolution(span, hi, lo, error_id, outcome, detail) */
static PyObject *native_error_resolution(PyObject *self, PyObject *const *args, Py_ssize_t n)
{
	(void)self;
	struct lstrace_context c;
	uint64_t id;
	if (!error_event_args(args, n, 6, "error_resolution", &c, &id))
		return NULL;
	const char *outcome = utf8(args[4], "outcome");
	const char *detail = outcome ? utf8(args[5], "detail") : NULL;
	if (!detail)
		return NULL;
	if (LSTRACE_EVENT_ENABLED(error_resolution))
		lstrace__probe_error_resolution(c.span_id, c.trace_id_hi, c.trace_id_lo, id,
						outcome, detail);
	Py_RETURN_NONE;
}

/* data_flow(span, hi, lo, direction, type, size, length, keys, preview,
 *           fingerprint) */
static PyObject *native_data_flow(PyObject *self, PyObject *const *args, Py_ssize_t n)
{
	(void)self;
	struct lstrace_context c;
	uint64_t fingerprint;
	if (!check_nargs(n, 10, "data_flow") || !event_context(args, &c) ||
	    !as_u64(args[9], &fingerprint))
		return NULL;
	const long direction = PyLong_AsLong(args[3]);
	const long long size = PyLong_AsLongLong(args[5]);
	const long long length = PyLong_AsLongLong(args[6]);
	if (PyErr_Occurred())
		return NULL;
	const char *type = utf8(args[4], "data type");
	const char *keys = type ? utf8(args[7], "keys") : NULL;
	const char *preview = keys ? utf8(args[8], "preview") : NULL;
	if (!preview)
		return NULL;
	if (LSTRACE_EVENT_ENABLED(data_flow))
		lstrace__probe_data_flow(c.span_id, c.trace_id_hi, c.trace_id_lo,
					 (int32_t)direction, type, size, length, keys, preview,
					 fingerprint);
	Py_RETURN_NONE;
}

/* ---- the no-op span --------------------------------------------------- */

/*
 * What trace_operation returns while no recorder is attached: one shared
 * object whose methods do nothing.  Python subclasses it (lstrace/_span.py)
 * to add __aenter__/__aexit__, which must return awaitables.
 */
typedef struct {
	PyObject_HEAD
} NoopSpan;

static PyObject *noop_self(PyObject *self, PyObject *unused)
{
	(void)unused;
	Py_INCREF(self);
	return self;
}

static PyObject *noop_none(PyObject *self, PyObject *const *args, Py_ssize_t n)
{
	(void)self;
	(void)args;
	(void)n;
	Py_RETURN_NONE;
}

static PyObject *noop_false(PyObject *self, PyObject *const *args, Py_ssize_t n)
{
	(void)self;
	(void)args;
	(void)n;
	Py_RETURN_FALSE;
}

static PyObject *noop_none_kw(PyObject *self, PyObject *const *args, Py_ssize_t n,
			      PyObject *kwnames)
{
	(void)self;
	(void)args;
	(void)n;
	(void)kwnames;
	Py_RETURN_NONE;
}

static PyMethodDef noop_methods[] = {
	{ "__enter__", noop_self, METH_NOARGS, "Returns the span itself." },
	{ "__exit__", (PyCFunction)(void (*)(void))noop_false, METH_FASTCALL,
	  "Does nothing; exceptions propagate." },
	{ "set_tag", (PyCFunction)(void (*)(void))noop_none, METH_FASTCALL,
	  "Does nothing: no recorder is attached." },
	{ "record_error", (PyCFunction)(void (*)(void))noop_none_kw, METH_FASTCALL | METH_KEYWORDS,
	  "Does nothing: no recorder is attached." },
	{ "end", (PyCFunction)(void (*)(void))noop_none_kw, METH_FASTCALL | METH_KEYWORDS,
	  "Does nothing: no recorder is attached." },
	{ NULL, NULL, 0, NULL },
};

static PyObject *noop_recording(PyObject *self, void *closure)
{
	(void)self;
	(void)closure;
	Py_RETURN_FALSE;
}

static PyGetSetDef noop_getset[] = {
	{ "recording", noop_recording, NULL, "False: this span is not recorded.", NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};

static PyTypeObject NoopSpanType = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "lstrace._native.NoopSpan",
	.tp_basicsize = sizeof(NoopSpan),
	.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
	.tp_doc = "A span that is not recorded (no recorder was attached when it began).",
	.tp_methods = noop_methods,
	.tp_getset = noop_getset,
	.tp_new = PyType_GenericNew,
};

/* ---- Tracer ------------------------------------------------------------ */

typedef struct {
	PyObject_HEAD PyObject *name; /* str */
	PyObject *noop;		      /* the shared no-op span */
} Tracer;

static int tracer_init(Tracer *self, PyObject *args, PyObject *kwds)
{
	PyObject *name = NULL, *noop = NULL;
	static char *kwlist[] = { "name", "noop", NULL };
	if (!PyArg_ParseTupleAndKeywords(args, kwds, "UO:Tracer", kwlist, &name, &noop))
		return -1;
	Py_INCREF(name);
	Py_INCREF(noop);
	Py_XSETREF(self->name, name);
	Py_XSETREF(self->noop, noop);
	return 0;
}

static void tracer_dealloc(Tracer *self)
{
	Py_XDECREF(self->name);
	Py_XDECREF(self->noop);
	Py_TYPE(self)->tp_free((PyObject *)self);
}

/*
 * trace_operation(component, operation, description="") - the standard's
 * signature, positional or by keyword.  Detached: checks that the names
 * are strings and returns the shared no-op span.  Attached: a new Span.
 */
static PyObject *tracer_trace_operation(Tracer *self, PyObject *const *args, Py_ssize_t n,
					PyObject *kwnames)
{
	PyObject *v[3] = { NULL, NULL, NULL };
	if (n > 3) {
		PyErr_Format(PyExc_TypeError,
			     "trace_operation() takes at most 3 arguments (%zd given)", n);
		return NULL;
	}
	for (Py_ssize_t i = 0; i < n; i++)
		v[i] = args[i];
	const Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
	for (Py_ssize_t i = 0; i < nkw; i++) {
		PyObject *k = PyTuple_GET_ITEM(kwnames, i);
		int slot = -1;
		if (k == kw_component || PyUnicode_Compare(k, kw_component) == 0)
			slot = 0;
		else if (k == kw_operation || PyUnicode_Compare(k, kw_operation) == 0)
			slot = 1;
		else if (k == kw_description || PyUnicode_Compare(k, kw_description) == 0)
			slot = 2;
		if (slot < 0 || v[slot]) {
			PyErr_Format(
			    PyExc_TypeError,
			    slot < 0 ? "trace_operation() got an unexpected keyword argument '%U'"
				     : "trace_operation() got multiple values for argument '%U'",
			    k);
			return NULL;
		}
		v[slot] = args[n + i];
	}
	if (!v[0] || !v[1]) {
		PyErr_SetString(
		    PyExc_TypeError,
		    "trace_operation() missing required argument: 'component' and 'operation'");
		return NULL;
	}
	if (!PyUnicode_Check(v[0]) || !PyUnicode_Check(v[1]) || (v[2] && !PyUnicode_Check(v[2]))) {
		PyObject *bad = !PyUnicode_Check(v[0])	 ? v[0]
				: !PyUnicode_Check(v[1]) ? v[1]
							 : v[2];
		const char *what = bad == v[0]	 ? "component"
				   : bad == v[1] ? "operation"
						 : "description";
		PyErr_Format(PyExc_TypeError, "lstrace: %s must be a str, not %.100s", what,
			     Py_TYPE(bad)->tp_name);
		return NULL;
	}
	if (!LSTRACE_ENABLED() || !span_class) {
		Py_INCREF(self->noop);
		return self->noop;
	}
	PyObject *call[4] = { self->name, v[0], v[1], v[2] ? v[2] : Py_None };
	return PyObject_Vectorcall(span_class, call, 4, NULL);
}

static PyMethodDef tracer_methods[] = {
	{ "trace_operation", (PyCFunction)(void (*)(void))tracer_trace_operation,
	  METH_FASTCALL | METH_KEYWORDS,
	  "trace_operation(component, operation, description='') -> span context manager" },
	{ NULL, NULL, 0, NULL },
};

static PyObject *tracer_name(Tracer *self, void *closure)
{
	(void)closure;
	Py_INCREF(self->name);
	return self->name;
}

static PyGetSetDef tracer_getset[] = {
	{ "name", (getter)tracer_name, NULL, "The tracer's name (get_tracer's argument).", NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};

static PyTypeObject TracerType = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "lstrace._native.Tracer",
	.tp_basicsize = sizeof(Tracer),
	.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
	.tp_doc = "A named tracer: trace_operation() opens spans.",
	.tp_methods = tracer_methods,
	.tp_getset = tracer_getset,
	.tp_init = (initproc)tracer_init,
	.tp_dealloc = (destructor)tracer_dealloc,
	.tp_new = PyType_GenericNew,
};

/* _configure(span_class, to_json): called once by lstrace/_span.py. */
static PyObject *native_configure(PyObject *self, PyObject *const *args, Py_ssize_t n)
{
	(void)self;
	if (!check_nargs(n, 2, "_configure"))
		return NULL;
	Py_INCREF(args[0]);
	Py_INCREF(args[1]);
	Py_XSETREF(span_class, args[0]);
	Py_XSETREF(to_json, args[1]);
	Py_RETURN_NONE;
}

#define FAST(name, doc)                                                                            \
	{                                                                                          \
#name, (PyCFunction)(void (*)(void))native_##name, METH_FASTCALL, doc              \
	}

static PyMethodDef native_methods[] = {
	{ "enabled", native_enabled, METH_NOARGS,
	  "True while a recorder is attached (the langswarm:recording semaphore)." },
	{ "next_id", native_next_id, METH_NOARGS, "A random non-zero 64-bit id." },
	FAST(to_traceparent, "(span_id, trace_id_hi, trace_id_lo) -> traceparent or None"),
	{ "from_traceparent", native_from_traceparent, METH_O,
	  "traceparent -> (span_id, trace_id_hi, trace_id_lo), or None if invalid" },
	{ "task_resume", native_task_resume, METH_O, "Fires langswarm:task_resume." },
	{ "task_suspend", native_task_suspend, METH_O, "Fires langswarm:task_suspend." },
	FAST(span_begin, "Fires langswarm:span_begin; returns the span's tag buffer."),
	FAST(span_end, "Fires langswarm:span_end with the span's tags."),
	FAST(span_tag, "Puts a tag in the span's buffer (past it, fires langswarm:span_tag)."),
	FAST(span_error, "Fires langswarm:span_error."),
	FAST(component_init, "Fires langswarm:component_init."),
	FAST(state_change, "Fires langswarm:state_change."),
	FAST(config_change, "Fires langswarm:config_change."),
	FAST(error, "Fires langswarm:error; returns the error id."),
	FAST(error_handled, "Fires langswarm:error_handled."),
	FAST(error_recovery, "Fires langswarm:error_recovery."),
	FAST(error_resolution, "Fires langswarm:error_resolution."),
	FAST(data_flow, "Fires langswarm:data_flow."),
	{ "_configure", (PyCFunction)(void (*)(void))native_configure, METH_FASTCALL,
	  "Registers the Span class and the JSON encoder." },
	{ NULL, NULL, 0, NULL },
};

static struct PyModuleDef native_module = {
	PyModuleDef_HEAD_INIT,
	.m_name = "lstrace._native",
	.m_doc = "The langswarm USDT probe sites of the lstrace Python binding.",
	.m_size = -1,
	.m_methods = native_methods,
};

PyMODINIT_FUNC PyInit__native(void)
{
	if (PyType_Ready(&NoopSpanType) < 0 || PyType_Ready(&TracerType) < 0 ||
	    PyType_Ready(&SpanTagsType) < 0)
		return NULL;
	kw_component = PyUnicode_InternFromString("component");
	kw_operation = PyUnicode_InternFromString("operation");
	kw_description = PyUnicode_InternFromString("description");
	if (!kw_component || !kw_operation || !kw_description)
		return NULL;
	PyObject *m = PyModule_Create(&native_module);
	if (!m)
		return NULL;
	Py_INCREF(&NoopSpanType);
	Py_INCREF(&TracerType);
	if (PyModule_AddObject(m, "NoopSpan", (PyObject *)&NoopSpanType) < 0 ||
	    PyModule_AddObject(m, "Tracer", (PyObject *)&TracerType) < 0 ||
	    PyModule_AddIntConstant(m, "STATUS_OK", LSTRACE_STATUS_OK) < 0 ||
	    PyModule_AddIntConstant(m, "STATUS_ERROR", LSTRACE_STATUS_ERROR) < 0 ||
	    PyModule_AddIntConstant(m, "DATA_INPUT", LSTRACE_DATA_INPUT) < 0 ||
	    PyModule_AddIntConstant(m, "DATA_OUTPUT", LSTRACE_DATA_OUTPUT) < 0 ||
	    PyModule_AddIntConstant(m, "DATA_TRANSFORM_INPUT", LSTRACE_DATA_TRANSFORM_INPUT) < 0 ||
	    PyModule_AddIntConstant(m, "DATA_TRANSFORM_OUTPUT", LSTRACE_DATA_TRANSFORM_OUTPUT) <
		0 ||
	    PyModule_AddStringConstant(m, "CONTEXT_SEPARATOR", "\x1f") < 0) {
		Py_DECREF(m);
		return NULL;
	}
	return m;
}
