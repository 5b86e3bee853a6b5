"""Spans and trace context of the lstrace Python binding.

The current span lives in a ``contextvars.ContextVar``: an asyncio task
starts with a copy of the context of the code that created it, so spans
begun in tasks created inside a span (``create_task``, ``gather``) are its
children, and ``run_in_executor`` / ``asyncio.to_thread`` carry it to the
worker thread.  A span may therefore end on another thread or after a
sibling that began later; the recorder matches each end to its begin by
span id.

Only spans begun while a recorder is attached exist as :class:`Span`;
otherwise ``trace_operation`` returns one shared no-op span (see
``native.c``), whose methods do nothing.
"""

import contextvars
import json

from . import _native, _tasks

__all__ = ["Span", "TraceContext", "get_current_context", "is_tracing_enabled"]

_current = contextvars.ContextVar("lstrace_current_span", default=None)

_NEW, _OPEN, _ENDED = 0, 1, 2


def is_tracing_enabled():
    """True while a recorder (``lstrace-bpf record``) is attached."""
    return _native.enabled()


class TraceContext:
    """A span's identity: what a child span inherits (its span id becomes
    the child's parent, its trace id the child's).  Passed across processes
    as a W3C ``traceparent``."""

    __slots__ = ("span_id", "trace_id_hi", "trace_id_lo")

    def __init__(self, span_id, trace_id_hi, trace_id_lo):
        self.span_id = span_id
        self.trace_id_hi = trace_id_hi
        self.trace_id_lo = trace_id_lo

    @property
    def trace_id(self):
        """The trace id as 32 lower-case hex digits (as in the records)."""
        return f"{self.trace_id_hi:016x}{self.trace_id_lo:016x}"

    @property
    def span_id_hex(self):
        return f"{self.span_id:016x}"

    def traceparent(self):
        """``00-<trace id>-<span id>-01``, or ``None`` for an unrecorded span."""
        return _native.to_traceparent(self.span_id, self.trace_id_hi, self.trace_id_lo)

    @classmethod
    def from_traceparent(cls, text):
        """Parses a W3C traceparent; raises ValueError if it is not one."""
        ids = _native.from_traceparent(text)
        if ids is None:
            raise ValueError(f"lstrace: not a valid W3C traceparent: {text!r}")
        return cls(*ids)

    @classmethod
    def from_environment(cls, name="TRACEPARENT"):
        """The context in environment variable ``name``; ``None`` if it is
        unset or not a valid traceparent (as the C++ API)."""
        import os

        text = os.environ.get(name)
        if text is None:
            return None
        ids = _native.from_traceparent(text)
        return cls(*ids) if ids else None

    def attach(self):
        """A context manager that makes this context the current one: spans
        begun inside are its children (in another thread, task or process)."""
        return _Attached(self)

    def __repr__(self):
        return f"TraceContext(trace_id={self.trace_id}, span_id={self.span_id_hex})"


class _Attached:
    __slots__ = ("_ctx", "_token")

    def __init__(self, ctx):
        self._ctx = ctx

    def __enter__(self):
        self._token = _current.set(self._ctx)
        return self._ctx

    def __exit__(self, *exc):
        _current.reset(self._token)
        return False


def get_current_context():
    """The current span (a TraceContext) in this thread or task, or None."""
    return _current.get()


def _describe_error(error, message):
    if isinstance(error, BaseException):
        return type(error).__name__, str(error) if message is None else str(message)
    if isinstance(error, str):
        return error, "" if message is None else str(message)
    raise TypeError(
        f"lstrace: record_error takes an exception or an error type name, not {type(error).__name__}"
    )


class Span(TraceContext):
    """A recorded span: ``with tracer.trace_operation(...) as span`` or
    ``async with``.  It begins at ``__enter__`` and ends at ``__exit__``; an
    exception leaving the block marks it failed (``error_type`` is the
    exception's class name, ``error_message`` its text)."""

    __slots__ = ("tracer", "component", "operation", "description", "_parent", "_state",
                 "_status", "_task", "_tags")

    def __init__(self, tracer, component, operation, description):
        self.tracer = tracer
        self.component = component
        self.operation = operation
        self.description = "" if description is None else description
        self._state = _NEW
        self._status = _native.STATUS_OK
        self._parent = None
        self._task = None
        self._tags = None
        self.span_id = 0

    @property
    def parent_span_id(self):
        return self._parent.span_id if self._parent is not None else 0

    @property
    def recording(self):
        """True while the span is open and recorded: worth computing costly
        tags."""
        return self._state == _OPEN

    def _name(self):
        return f"{self.component}.{self.operation}"

    def _misuse(self, what):
        state = "has not begun" if self._state == _NEW else "has ended"
        return RuntimeError(f"lstrace: {what} on span {self._name()!r}, which {state}")

    def __enter__(self):
        if self._state != _NEW:
            raise RuntimeError(f"lstrace: span {self._name()!r} entered twice")
        parent = _current.get()
        self.span_id = _native.next_id()
        if parent is not None:
            self.trace_id_hi = parent.trace_id_hi
            self.trace_id_lo = parent.trace_id_lo
            parent_id = parent.span_id
        else:
            self.trace_id_hi = _native.next_id()
            self.trace_id_lo = _native.next_id()
            parent_id = 0
        self._parent = parent
        # per-task figures for this span if its task is stepped, and for
        # spans of tasks created from now on (_tasks.py)
        self._task = _tasks.span_begins()
        try:
            self._tags = _native.span_begin(self.span_id, parent_id, self.trace_id_hi,
                                            self.trace_id_lo, self.tracer, self.component,
                                            self.operation, self.description)
        except BaseException:
            # the span never began: its task must not go on counting it
            if self._task is not None:
                self._task.open_spans -= 1
                self._task = None
            raise
        _current.set(self)
        self._state = _OPEN
        return self

    def __exit__(self, exc_type, exc, tb):
        self.end(exc)
        return False

    async def __aenter__(self):
        return self.__enter__()

    async def __aexit__(self, exc_type, exc, tb):
        self.end(exc)
        return False

    def end(self, exc=None):
        """Ends the span (``__exit__`` does); ``exc``, if given, fails it."""
        if self._state != _OPEN:
            raise self._misuse("end")
        if exc is not None:
            self.record_error(exc)
        self._state = _ENDED
        _native.span_end(self._tags, self._status)
        if self._task is not None:
            self._task.open_spans -= 1
        # The context holding this span gets its nearest open ancestor back
        # (not ContextVar.reset: with ends out of order, that would bring
        # back a span that already ended).  A context that holds another
        # span (this one ended out of order) keeps it; its end skips this one.
        if _current.get() is self:
            parent = self._parent
            while isinstance(parent, Span) and parent._state == _ENDED:
                parent = parent._parent
            _current.set(parent)

    def set_tag(self, key, value):
        """Tags the span: str, int, float, bool, or any JSON-serializable
        value (list, dict, None), recorded as a JSON value.  A value json
        cannot encode raises TypeError and records nothing."""
        if self._state != _OPEN:
            raise self._misuse(f"set_tag({key!r})")
        _native.span_tag(self._tags, key, value)

    def record_error(self, error, message=None):
        """Marks the span failed: ``record_error(exc)`` or
        ``record_error("ConfigurationError", "Invalid format")``."""
        if self._state != _OPEN:
            raise self._misuse("record_error")
        error_type, text = _describe_error(error, message)
        self._status = _native.STATUS_ERROR
        _native.span_error(self.span_id, error_type, text)


def _tag_json(value):
    # compact, and exactly the value (no default=str: an unserializable
    # value is the caller's TypeError, not a silently different record)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


class NoopSpan(_native.NoopSpan):
    """The span of an operation begun while no recorder was attached."""

    __slots__ = ()

    async def __aenter__(self):
        return self

    async def __aexit__(self, exc_type, exc, tb):
        return False


NOOP_SPAN = NoopSpan()
_native._configure(Span, _tag_json)
