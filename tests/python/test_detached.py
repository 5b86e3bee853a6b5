"""The API with no recorder attached (no root needed): everything runs,
nothing costly is computed, and bad input is refused the same way."""

import asyncio
import hashlib
import json

import pytest

import lstrace
from lstrace import (ComponentTracer, DataFlowTracer, ErrorTracer, PerformanceTracer,
                     TraceContext, TracingConfig, get_tracer, trace_async_function,
                     trace_component_method, trace_function)
from lstrace import tracers as tracers_module

tracer = get_tracer("tests.detached")


def test_not_enabled_and_no_span():
    assert lstrace.is_tracing_enabled() is False
    with tracer.trace_operation(component="agent", operation="generate",
                                description="Generating a reply") as span:
        span.set_tag("model", "small")
        span.set_tag("anything", object())  # not even looked at
        span.record_error("ConfigurationError", "Invalid configuration format")
        assert span.recording is False
        assert lstrace.get_current_context() is None


def test_positional_and_keyword_arguments():
    assert tracer.trace_operation("a", "b").recording is False
    assert tracer.trace_operation("a", operation="b", description="c").recording is False
    with pytest.raises(TypeError, match="unexpected keyword argument 'kind'"):
        tracer.trace_operation(component="a", operation="b", kind="x")
    with pytest.raises(TypeError, match="missing required argument"):
        tracer.trace_operation(component="a")
    with pytest.raises(TypeError, match="multiple values for argument 'component'"):
        tracer.trace_operation("a", "b", component="c")


@pytest.mark.parametrize("kwargs,message", [
    ({"component": 42, "operation": "x"}, "lstrace: component must be a str, not int"),
    ({"component": "a", "operation": None}, "lstrace: operation must be a str, not NoneType"),
    ({"component": "a", "operation": "b", "description": b"x"},
     "lstrace: description must be a str, not bytes"),
])
def test_non_string_names_are_refused(kwargs, message):
    with pytest.raises(TypeError) as e:
        tracer.trace_operation(**kwargs)
    assert str(e.value) == message


def test_exceptions_propagate_through_sync_and_async_spans():
    with pytest.raises(KeyError):
        with tracer.trace_operation(component="a", operation="b"):
            raise KeyError("x")

    async def run():
        async with tracer.trace_operation(component="a", operation="b") as span:
            span.set_tag("k", 1)
            raise ValueError("y")

    with pytest.raises(ValueError):
        asyncio.run(run())


def test_get_tracer_is_one_per_name_and_names_must_be_strings():
    assert get_tracer("x") is get_tracer("x")
    assert get_tracer("x").name == "x"
    with pytest.raises(TypeError, match="tracer name must be a str"):
        get_tracer(3)


def test_decorators_return_values_and_compute_no_state():
    calls = []

    class Component:
        def _get_trace_state(self):
            calls.append(1)
            return {"state": "ready"}

        @trace_component_method()
        def run(self, x, *, y=1):
            return x + y

        @trace_component_method("Component.go")
        async def go(self, x):
            await asyncio.sleep(0)
            return x * 2

    c = Component()
    assert c.run(1, y=2) == 3
    assert asyncio.run(c.go(4)) == 8
    assert calls == []  # costly state only while a recorder is attached
    assert Component.run.__name__ == "run"

    @trace_function(tags={"k": "v"})
    def f(a):
        return a

    @trace_async_function("op")
    async def g(a):
        return a

    assert f(5) == 5
    assert asyncio.run(g(6)) == 6
    with pytest.raises(TypeError, match="needs an async def"):
        trace_async_function()(lambda: None)


def test_tracers_run_detached():
    ComponentTracer("memory").trace_initialization({"a": 1})
    ComponentTracer("memory").trace_state_change("a", "b", "why")
    ComponentTracer("memory").trace_config_change("k", 1, 2)
    errors = ErrorTracer()
    try:
        raise RuntimeError("boom")
    except RuntimeError as e:
        assert errors.trace_error_occurrence(e, {"x": 1}) == 0
        errors.trace_error_handled(e, "h")
        errors.trace_error_recovery(e, "retry", True)
        errors.trace_error_resolved(e)
        errors.trace_error_escalated(e, "gave up")
    perf = PerformanceTracer()
    with perf.trace_execution_time("op", "c") as timer:
        pass
    assert timer.span.recording is False
    with perf.trace_resource_usage("op", "c") as span:
        assert span.recording is False
    flow = DataFlowTracer()
    flow.trace_data_input("op", {"a": 1})
    flow.trace_data_output("op", "text")
    flow.trace_data_transformation("op", [1], [1, 2])
    with pytest.raises(TypeError, match="must be a str"):
        ComponentTracer(None)


def test_seed_size_and_fingerprint_rules():
    # the seed's DataFlowTracer._calculate_data_size / _calculate_fingerprint
    for data in ({"b": 1, "a": [1, 2]}, [3, {"z": None}], "héllo", 12.5):
        if isinstance(data, str):
            size = len(data.encode("utf-8"))
            text = data
        elif isinstance(data, (dict, list)):
            size = len(json.dumps(data, default=str).encode("utf-8"))
            text = json.dumps(data, sort_keys=True, default=str)
        else:
            size = len(str(data).encode("utf-8"))
            text = str(data)
        assert tracers_module._data_size(data) == size
        md5 = hashlib.md5(text.encode("utf-8")).hexdigest()
        assert f"{tracers_module._fingerprint(data):016x}"[:8] == md5[:8]


def test_traceparent_round_trip_and_rejections():
    ctx = TraceContext(0x1122334455667788, 0x0102030405060708, 0x090A0B0C0D0E0F10)
    text = ctx.traceparent()
    assert text == "00-0102030405060708090a0b0c0d0e0f10-1122334455667788-01"
    back = TraceContext.from_traceparent(text)
    assert (back.span_id, back.trace_id_hi, back.trace_id_lo) == (
        ctx.span_id, ctx.trace_id_hi, ctx.trace_id_lo)
    for bad in ("", "00-0102030405060708090A0B0C0D0E0F10-1122334455667788-01",
                "ff-0102030405060708090a0b0c0d0e0f10-1122334455667788-01",
                "00-00000000000000000000000000000000-1122334455667788-01",
                "00-0102030405060708090a0b0c0d0e0f10-0000000000000000-01",
                "00-0102030405060708090a0b0c0d0e0f1-1122334455667788-01"):
        with pytest.raises(ValueError, match="not a valid W3C traceparent"):
            TraceContext.from_traceparent(bad)
    with pytest.raises(TypeError):
        TraceContext.from_traceparent(None)
    assert TraceContext(0, 0, 0).traceparent() is None


def test_context_attach_sets_and_restores_the_current_context(monkeypatch):
    monkeypatch.setenv("TRACEPARENT", "00-0102030405060708090a0b0c0d0e0f10-1122334455667788-01")
    ctx = TraceContext.from_environment()
    assert lstrace.get_current_context() is None
    with ctx.attach():
        assert lstrace.get_current_context() is ctx
    assert lstrace.get_current_context() is None
    monkeypatch.setenv("TRACEPARENT", "garbage")
    assert TraceContext.from_environment() is None
    monkeypatch.delenv("TRACEPARENT")
    assert TraceContext.from_environment() is None


def test_tracing_config_has_the_seed_fields():
    c = TracingConfig()
    assert (c.output_file, c.output_format, c.enabled_components, c.disabled_components,
            c.min_duration_ms, c.max_trace_size, c.flush_interval, c.include_stack_trace,
            c.include_environment, c.include_thread_info, c.debug_mode,
            c.verbose_errors) == (None, "jsonl", None, None, 0.0, 10000, 100, False, False,
                                  False, False, False)
    c = TracingConfig(disabled_components=["tool"], min_duration_ms=1.0)
    assert json.loads(c.to_json())["disabled_components"] == ["tool"]
    assert "output_file" not in json.loads(c.to_json())


def test_no_task_hook_without_a_recorder():
    # importing lstrace detached leaves event loops alone
    async def main():
        with tracer.trace_operation(component="a", operation="b"):
            await asyncio.sleep(0)
        return asyncio.get_running_loop().get_task_factory()

    assert asyncio.run(main()) is None


def test_task_steps_wrapper_keeps_a_task_s_behaviour():
    """The wrapper the task-step hook puts around a task's coroutine (only
    while a recorder is attached): results, exceptions, cancellation,
    the task's name in its repr, and an application's own task factory."""
    from lstrace import _tasks

    async def answer():
        await asyncio.sleep(0)
        return 42

    async def fails():
        await asyncio.sleep(0)
        raise KeyError("missing")

    async def sleeps_long():
        await asyncio.sleep(60)

    made_by_app = []

    def app_factory(loop, coro, **kwargs):
        made_by_app.append(coro)
        return asyncio.Task(coro, loop=loop, **kwargs)

    async def main():
        loop = asyncio.get_running_loop()
        loop.set_task_factory(app_factory)
        _tasks.install(loop)
        _tasks.install(loop)  # once only
        factory = loop.get_task_factory()
        assert factory.lstrace_previous is app_factory
        # detached, the hook wraps nothing but still calls the app's factory
        assert await loop.create_task(answer()) == 42
        assert not isinstance(made_by_app[-1], _tasks.TaskSteps)
        # the wrapper itself, as the hook makes it while attached
        task = asyncio.Task(_tasks.TaskSteps(answer()))
        assert "answer" in repr(task)
        assert await task == 42
        with pytest.raises(KeyError, match="missing"):
            await asyncio.Task(_tasks.TaskSteps(fails()))
        long = asyncio.Task(_tasks.TaskSteps(sleeps_long()))
        await asyncio.sleep(0)
        long.cancel()
        with pytest.raises(asyncio.CancelledError):
            await long
        assert long.cancelled()

    asyncio.run(main())


def test_a_span_that_fails_to_begin_is_not_counted_by_its_task(monkeypatch):
    """If the native span_begin raises (no memory for the tag buffer), the
    task it would have begun in must not go on counting an open span:
    its steps would fire probes for as long as it runs."""
    from lstrace import _span, _tasks

    async def body():
        await asyncio.sleep(0)

    steps = _tasks.TaskSteps(body())

    def refuses(*args):
        raise MemoryError("no tag buffer")

    def begins_in_steps():
        steps.open_spans += 1
        return steps

    monkeypatch.setattr(_span._tasks, "span_begins", begins_in_steps)
    monkeypatch.setattr(_span._native, "span_begin", refuses)
    span = _span.Span("tests.detached", "a", "b", "")
    with pytest.raises(MemoryError, match="no tag buffer"):
        span.__enter__()
    assert steps.open_spans == 0
    assert _span.get_current_context() is None
    steps.close()
