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

from . import tracers
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

__all__ = [
    "is_tracing_enabled",
    "TraceContext",
    "get_current_context",
    "TraceSpan",
    "Span",
    "TracingConfig",
] + tracers.__all__
