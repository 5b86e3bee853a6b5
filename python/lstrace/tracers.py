"""The tracing standard's Python API (docs/python.md), on lstrace's probes.

Everything here costs a semaphore load when no recorder is attached: what
costs more to compute (component state, tracebacks, data fingerprints and
previews) is computed only while one is.
"""

import functools
import hashlib
import inspect
import json
import time
import traceback

from . import _native
from ._span import NOOP_SPAN, _current

__all__ = [
    "get_tracer",
    "trace_component_method",
    "trace_function",
    "trace_async_function",
    "ComponentTracer",
    "ErrorTracer",
    "PerformanceTracer",
    "DataFlowTracer",
]

_tracers = {}


def get_tracer(name):
    """The tracer named ``name`` (one per name); its name is each span's
    ``metadata.tracer``."""
    tracer = _tracers.get(name)
    if tracer is None:
        if not isinstance(name, str):
            raise TypeError(f"lstrace: tracer name must be a str, not {type(name).__name__}")
        tracer = _tracers.setdefault(name, _native.Tracer(name, NOOP_SPAN))
    return tracer


def _ids():
    """(span id, trace id hi, trace id lo) of the current span, zeros if none."""
    ctx = _current.get()
    if ctx is None:
        return 0, 0, 0
    return ctx.span_id, ctx.trace_id_hi, ctx.trace_id_lo


_method_tracer = get_tracer("lstrace.component")


def _method_span(self, func, operation_name, args, kwargs):
    component = self.__class__.__name__
    operation = operation_name or f"{component}.{func.__name__}"
    span = _method_tracer.trace_operation(component=component, operation=operation,
                                          description=f"Executing {operation}")
    return span


def _method_tags(span, self, args, kwargs):
    span.set_tag("args_count", len(args))
    span.set_tag("kwargs_keys", list(kwargs))
    get_state = getattr(self, "_get_trace_state", None)
    if get_state is not None:
        span.set_tag("component_state", get_state())


def trace_component_method(operation_name=None):
    """Decorator for component methods, plain or ``async def``: a span
    ``<Class>.<method>`` of component ``<Class>``, tagged with
    ``args_count``, ``kwargs_keys`` and ``component_state`` (the object's
    ``_get_trace_state()``, called only while a recorder is attached)."""

    def decorator(func):
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(self, *args, **kwargs):
                if not _native.enabled():
                    return await func(self, *args, **kwargs)
                with _method_span(self, func, operation_name, args, kwargs) as span:
                    _method_tags(span, self, args, kwargs)
                    return await func(self, *args, **kwargs)

            return async_wrapper

        @functools.wraps(func)
        def wrapper(self, *args, **kwargs):
            if not _native.enabled():
                return func(self, *args, **kwargs)
            with _method_span(self, func, operation_name, args, kwargs) as span:
                _method_tags(span, self, args, kwargs)
                return func(self, *args, **kwargs)

        return wrapper

    return decorator


def _function_span(func, operation_name, component, tags):
    tracer = get_tracer(func.__module__)
    operation = operation_name or func.__qualname__
    span = tracer.trace_operation(component=component or func.__module__, operation=operation,
                                  description=f"Executing {operation}")
    return span


def _function_tags(span, tags, args, kwargs):
    span.set_tag("args_count", len(args))
    span.set_tag("kwargs_keys", list(kwargs))
    for key, value in (tags or {}).items():
        span.set_tag(key, value)


def trace_function(operation_name=None, tags=None, component=None):
    """LangSwarm's decorator for functions: a span named ``operation_name``
    (default: the function's qualified name) of ``component`` (default: its
    module), with ``tags``."""

    def decorator(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            if not _native.enabled():
                return func(*args, **kwargs)
            with _function_span(func, operation_name, component, tags) as span:
                _function_tags(span, tags, args, kwargs)
                return func(*args, **kwargs)

        return wrapper

    return decorator


def trace_async_function(operation_name=None, tags=None, component=None):
    """``trace_function`` for ``async def`` functions."""

    def decorator(func):
        if not inspect.iscoroutinefunction(func):
            raise TypeError(f"lstrace: trace_async_function needs an async def, got {func!r}")

        @functools.wraps(func)
        async def wrapper(*args, **kwargs):
            if not _native.enabled():
                return await func(*args, **kwargs)
            with _function_span(func, operation_name, component, tags) as span:
                _function_tags(span, tags, args, kwargs)
                return await func(*args, **kwargs)

        return wrapper

    return decorator


def _text(value):
    return "" if value is None else str(value)


class ComponentTracer:
    """The standard's component tracer: initialization, state and
    configuration changes of one component, each an event record
    (``component_init``, ``state_change``, ``config_change``) linked to the
    current span."""

    def __init__(self, component_name):
        if not isinstance(component_name, str):
            raise TypeError(
                f"lstrace: component name must be a str, not {type(component_name).__name__}")
        self.component_name = component_name
        self.tracer = get_tracer(f"component.{component_name}")

    def trace_initialization(self, config):
        """``config_keys`` (comma separated) and ``config_size`` (the
        length of ``str(config)``, as the standard computes it)."""
        if _native.enabled():
            _native.component_init(*_ids(), self.component_name, ",".join(map(str, config)),
                                   len(str(config)))

    def trace_state_change(self, from_state, to_state, reason=None):
        if _native.enabled():
            _native.state_change(*_ids(), self.component_name, _text(from_state),
                                 _text(to_state), _text(reason))

    def trace_config_change(self, key, old_value, new_value):
        if _native.enabled():
            _native.config_change(*_ids(), self.component_name, _text(key), _text(old_value),
                                  _text(new_value))


def _error_id(error):
    return getattr(error, "__lstrace_error_id__", 0) if error is not None else 0


def _enum_text(value):
    return _text(getattr(value, "value", value))


def _compact_traceback(error):
    """The traceback, innermost frame first ("file:line in function"), so
    that the part the probe's 255 bytes keep is the most useful."""
    frames = traceback.extract_tb(error.__traceback__)
    return " < ".join(f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} in {f.name}"
                      for f in reversed(frames))


class ErrorTracer:
    """The standard's error tracer.  ``trace_error_occurrence`` records an
    ``error`` event (type, message, module, severity and category when the
    exception carries them, its traceback and context as ``context_<key>``)
    and returns its id, which the exception also keeps, so the handling,
    recovery and resolution events of the same exception are linked to it."""

    def __init__(self):
        self.tracer = get_tracer("errors")

    def trace_error_occurrence(self, error, context=None):
        if not _native.enabled():
            return 0
        pairs = []
        if error.__traceback__ is not None:
            tb = traceback.format_exception(type(error), error, error.__traceback__)
            pairs.append(("stack_depth", str(len(tb))))
        for key, value in (context or {}).items():
            pairs.append((str(key), _text(value)))
        err_ctx = getattr(error, "context", None)
        if err_ctx is not None:
            for attr in ("component", "operation"):
                if getattr(err_ctx, attr, None) is not None:
                    pairs.append((f"error_{attr}", _text(getattr(err_ctx, attr))))
        if error.__traceback__ is not None:
            # last: the probe carries 255 bytes of context, cut at the end
            pairs.append(("stack_trace", _compact_traceback(error)))
        sep = _native.CONTEXT_SEPARATOR
        context_text = sep.join(f"{k}={v.replace(sep, ' ')}" for k, v in pairs)
        error_id = _native.error(*_ids(), type(error).__name__, str(error),
                                 type(error).__module__,
                                 _enum_text(getattr(error, "severity", None)),
                                 _enum_text(getattr(error, "category", None)), context_text)
        try:
            error.__lstrace_error_id__ = error_id
        except AttributeError:  # an exception type with __slots__
            pass
        return error_id

    def trace_error_handled(self, error, handler):
        if _native.enabled():
            _native.error_handled(*_ids(), _error_id(error), _text(handler))

    def trace_error_recovery(self, error, recovery_strategy, success):
        if _native.enabled():
            _native.error_recovery(*_ids(), _error_id(error), type(error).__name__,
                                   _text(recovery_strategy), bool(success))

    def trace_error_resolved(self, error, detail=None):
        if _native.enabled():
            _native.error_resolution(*_ids(), _error_id(error), "resolved", _text(detail))

    def trace_error_escalated(self, error, detail=None):
        if _native.enabled():
            _native.error_resolution(*_ids(), _error_id(error), "escalated", _text(detail))


def _categorize_time(seconds):
    if seconds < 0.001:
        return "very_fast"
    if seconds < 0.01:
        return "fast"
    if seconds < 0.1:
        return "normal"
    if seconds < 1.0:
        return "slow"
    return "very_slow"


class PerformanceTracer:
    """The standard's performance tracer.  Both context managers open a
    span; its CPU, memory, faults and I/O figures (``resources`` in the
    record) are measured by the kernel for that span, so no psutil is
    needed.  ``trace_execution_time`` also tags ``execution_time_ms`` and
    ``execution_time_category`` as the standard does."""

    def __init__(self):
        self.tracer = get_tracer("performance")

    def trace_execution_time(self, operation, component=None):
        return self.ExecutionTimer(self.tracer, operation, component)

    def trace_resource_usage(self, operation, component=None):
        return self.tracer.trace_operation(component=component or "unknown",
                                           operation=operation,
                                           description=f"Resource monitoring {operation}")

    class ExecutionTimer:
        def __init__(self, tracer, operation, component=None):
            self.tracer = tracer
            self.operation = operation
            self.component = component or "unknown"
            self.span = None

        def __enter__(self):
            self.span = self.tracer.trace_operation(component=self.component,
                                                    operation=self.operation,
                                                    description=f"Timing {self.operation}")
            self.span.__enter__()
            self.start_time = time.perf_counter() if self.span.recording else 0.0
            return self

        def __exit__(self, exc_type, exc, tb):
            if self.span.recording:
                elapsed = time.perf_counter() - self.start_time
                self.span.set_tag("execution_time_ms", elapsed * 1000)
                self.span.set_tag("execution_time_category", _categorize_time(elapsed))
            return self.span.__exit__(exc_type, exc, tb)

        async def __aenter__(self):
            return self.__enter__()

        async def __aexit__(self, exc_type, exc, tb):
            return self.__exit__(exc_type, exc, tb)


def _data_size(data):
    """The standard's size: UTF-8 bytes of a string, of the JSON text of a
    list or dict, of str() otherwise."""
    try:
        if isinstance(data, str):
            return len(data.encode("utf-8"))
        if isinstance(data, (dict, list)):
            return len(json.dumps(data, default=str).encode("utf-8"))
        return len(str(data).encode("utf-8"))
    except Exception:
        return 0


def _fingerprint(data):
    """The standard's fingerprint: MD5 of the sorted JSON text (of str()
    otherwise).  The probe carries 64 bits: the first 16 hex digits, of
    which the standard keeps the first 8."""
    try:
        if isinstance(data, (dict, list)):
            text = json.dumps(data, sort_keys=True, default=str)
        else:
            text = str(data)
        return int(hashlib.md5(text.encode("utf-8")).hexdigest()[:16], 16)
    except Exception:
        return 0


def _send_data(direction, data):
    length = -1
    keys = ""
    preview = ""
    if isinstance(data, (dict, list)):
        length = len(data)
        if isinstance(data, dict):
            keys = ",".join(map(str, data)) if len(data) < 10 else f"{len(data)} keys"
    elif isinstance(data, str):
        length = len(data)
        preview = data[:100]
    _native.data_flow(*_ids(), direction, type(data).__name__, _data_size(data), length, keys,
                      preview, _fingerprint(data))


class DataFlowTracer:
    """The standard's data-flow tracer: each call opens a span
    ``<operation>_input`` / ``_output`` / ``_transform`` and records in it a
    ``data_flow`` (or ``data_transform``) event with the data's type, size,
    length, keys, preview and fingerprint, computed only while a recorder is
    attached."""

    def __init__(self):
        self.tracer = get_tracer("data_flow")

    def _span(self, operation, suffix, component, description):
        return self.tracer.trace_operation(component=component or "unknown",
                                           operation=f"{operation}_{suffix}",
                                           description=f"{description} {operation}")

    def trace_data_input(self, operation, data, component=None):
        with self._span(operation, "input", component, "Data input for") as span:
            if span.recording:
                _send_data(_native.DATA_INPUT, data)

    def trace_data_output(self, operation, data, component=None):
        with self._span(operation, "output", component, "Data output for") as span:
            if span.recording:
                _send_data(_native.DATA_OUTPUT, data)

    def trace_data_transformation(self, operation, input_data, output_data, component=None):
        with self._span(operation, "transform", component, "Data transformation for") as span:
            if span.recording:
                _send_data(_native.DATA_TRANSFORM_INPUT, input_data)
                _send_data(_native.DATA_TRANSFORM_OUTPUT, output_data)
