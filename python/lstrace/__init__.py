"""lstrace: the LangSwarm tracing standard's Python API on lstrace-bpf.

Code written to the standard runs with only its import changed::

    from lstrace import get_tracer

    tracer = get_tracer(__name__)
    with tracer.trace_operation(component="agent", operation="generate",
                                description="Generating a reply") as span:
        span.set_tag("model", "small")

Spans fire the ``langswarm`` USDT probes of the C extension
``lstrace._native``; ``lstrace-bpf record`` (``-- python3 app.py`` or
``-p PID``) records them with their CPU, memory and I/O measured by the
kernel.  With no recorder attached a span costs a semaphore load.  See
docs/python.md.
"""

from . import _native, _tasks, tracers
from ._span import Span, TraceContext, get_current_context, is_tracing_enabled
from .config import TracingConfig
from .tracers import (
    ComponentTracer,
    DataFlowTracer,
    ErrorTracer,
    PerformanceTracer,
    get_tracer,
    trace_async_function,
    trace_component_method,
    trace_function,
)

TraceSpan = Span

# Attached already (``lstrace-bpf record -- python3 app.py``): every event
# loop gets the task-step hook as it is made (see _tasks.py).
if _native.enabled():
    _tasks.hook_new_loops()
    _tasks.hook_running_loop()

__all__ = [
    "is_tracing_enabled",
    "TraceContext",
    "get_current_context",
    "TraceSpan",
    "Span",
    "TracingConfig",
] + tracers.__all__
