"""Python test program recorded by tests/python: each mode runs spans through
the lstrace API and writes, as JSON to TRUTH, the ground truth it measured
itself (time.thread_time for CPU, bytes returned by os.read/os.write, ...).

    python3 workloads.py MODE TRUTH.json
"""

import asyncio
import contextvars
import hashlib
import json
import os
import subprocess
import sys
import threading
import time

import lstrace
from lstrace import (ComponentTracer, DataFlowTracer, ErrorTracer, PerformanceTracer,
                     TraceContext, get_tracer, trace_async_function, trace_component_method,
                     trace_function)

tracer = get_tracer("tests.python")


def burn_cpu(seconds):
    """Spins on this thread until it has used `seconds` of its own CPU."""
    end = time.thread_time() + seconds
    x = 0
    while time.thread_time() < end:
        for i in range(1000):
            x += i * i
    return x


def measured(span_fn):
    t0 = time.thread_time()
    span_fn()
    return (time.thread_time() - t0) * 1000


def mode_tags(truth):
    with tracer.trace_operation(component="agent", operation="generate",
                                description="Generating a reply") as span:
        span.set_tag("model", "small")
        span.set_tag("tokens", 128)
        span.set_tag("temperature", 0.25)
        span.set_tag("streaming", True)
        span.set_tag("stop", ["\n\n", "END"])
        span.set_tag("usage", {"prompt": 12, "completion": 34, "nested": {"ok": None}})
        span.set_tag("big", 2**70)
        truth["span_id"] = span.span_id_hex
        truth["trace_id"] = span.trace_id
        truth["recording"] = span.recording
    truth["enabled"] = lstrace.is_tracing_enabled()


def mode_many_tags(truth):
    """More tags than the span's tag buffer holds (192 bytes): the first
    ride in the buffer to span_end, the rest go through span_tag; a key set
    again later wins; a value too long for a record is cut."""
    expected = {}
    with tracer.trace_operation(component="agent", operation="many_tags",
                                description="") as span:
        for i in range(30):
            value = [i, f"text-{i}", i * 0.5, i % 2 == 0, {"i": i}][i % 5]
            span.set_tag(f"k{i}", value)
            expected[f"k{i}"] = value
        span.set_tag("k0", "set again")
        expected["k0"] = "set again"
        span.set_tag("long", "x" * 300)
        truth["span"] = span.span_id_hex
    truth["expected"] = expected


def mode_cpu(truth):
    # alone, then with another thread burning CPU at the same time
    def alone():
        with tracer.trace_operation(component="cpu", operation="alone", description="") as s:
            t0 = time.thread_time()
            burn_cpu(0.2)
            truth["alone_ms"] = (time.thread_time() - t0) * 1000
            truth["alone_span"] = s.span_id_hex

    alone()
    stop = threading.Event()
    other = {}

    def busy():
        with tracer.trace_operation(component="cpu", operation="other_thread", description=""):
            t0 = time.thread_time()
            burn_cpu(0.15)
            other["ms"] = (time.thread_time() - t0) * 1000
        stop.set()

    with tracer.trace_operation(component="cpu", operation="contended", description="") as s:
        worker = threading.Thread(target=busy)
        t0 = time.thread_time()
        worker.start()
        burn_cpu(0.2)
        truth["contended_ms"] = (time.thread_time() - t0) * 1000
        truth["contended_span"] = s.span_id_hex
    worker.join()
    truth["other_ms"] = other["ms"]


def mode_io(truth):
    path = truth["_dir"] + "/io.bin"
    block = os.urandom(1 << 20)
    with tracer.trace_operation(component="tool", operation="file_io", description="") as s:
        fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
        written = 0
        for _ in range(3):
            written += os.write(fd, block)
        os.close(fd)
        fd = os.open(path, os.O_RDONLY)
        read = 0
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            read += len(chunk)
        os.close(fd)
        truth["written"] = written
        truth["read"] = read
        truth["span"] = s.span_id_hex
    with tracer.trace_operation(component="tool", operation="sleep", description="") as s:
        t0 = time.monotonic()
        c0 = time.thread_time()
        time.sleep(0.15)
        truth["sleep_wall_ms"] = (time.monotonic() - t0) * 1000
        truth["sleep_cpu_ms"] = (time.thread_time() - c0) * 1000
    with tracer.trace_operation(component="memory", operation="touch", description="") as s:
        size = 64 << 20
        buf = bytearray(size)  # calloc'd: pages arrive when written
        for i in range(0, size, 4096):
            buf[i] = 1
        truth["touched_bytes"] = size
        del buf


class ConfigurationError(Exception):
    pass


def mode_errors(truth):
    try:
        with tracer.trace_operation(component="config", operation="load", description="") as s:
            truth["raised_span"] = s.span_id_hex
            raise ConfigurationError("Invalid configuration format")
    except ConfigurationError as e:
        truth["propagated"] = str(e)
    with tracer.trace_operation(component="config", operation="validate", description="") as s:
        s.record_error("ValidationError", "field 'model' missing")
        truth["recorded_span"] = s.span_id_hex


async def mode_async_nesting(truth):
    loop_tid = threading.get_native_id()
    truth["loop_tid"] = loop_tid

    def blocking_work(name):
        with tracer.trace_operation(component="worker", operation=name, description="") as s:
            time.sleep(0.01)
            truth.setdefault("threads", {})[name] = threading.get_native_id()
            return s.span_id_hex

    async def task(name):
        async with tracer.trace_operation(component="task", operation=name, description="") as s:
            await asyncio.sleep(0.02)
            inner = await asyncio.to_thread(blocking_work, f"{name}_thread")
            truth.setdefault("tasks", {})[name] = {"span": s.span_id_hex, "thread_span": inner}

    async with tracer.trace_operation(component="workflow", operation="run", description="") as root:
        truth["root"] = root.span_id_hex
        truth["trace_id"] = root.trace_id
        await asyncio.gather(task("a"), task("b"), asyncio.create_task(task("c")))
        loop = asyncio.get_running_loop()
        # run_in_executor does not carry contextvars (asyncio.to_thread
        # does): with copy_context() it does, without it the span is a root
        truth["executor_span"] = await loop.run_in_executor(
            None, contextvars.copy_context().run, blocking_work, "executor")
        truth["bare_executor_span"] = await loop.run_in_executor(None, blocking_work, "bare")


async def mode_interleave(truth):
    # Spans on one thread ending in another order than they began.
    started = asyncio.Event()
    release = asyncio.Event()

    async def first():
        async with tracer.trace_operation(component="order", operation="first", description=""):
            started.set()
            await release.wait()

    async def second():
        await started.wait()
        async with tracer.trace_operation(component="order", operation="second", description=""):
            release.set()
            await asyncio.sleep(0.05)

    await asyncio.gather(first(), second())
    # and by hand, without any event loop
    a = tracer.trace_operation(component="order", operation="outer_manual", description="")
    a.__enter__()
    b = tracer.trace_operation(component="order", operation="inner_manual", description="")
    b.__enter__()
    a.__exit__(None, None, None)
    truth["current_after_outer_end"] = lstrace.get_current_context() is b
    b.__exit__(None, None, None)
    truth["current_after_both"] = lstrace.get_current_context() is None
    truth["manual"] = [a.span_id_hex, b.span_id_hex]


class Agent:
    def __init__(self):
        self.state_calls = 0

    def _get_trace_state(self):
        self.state_calls += 1
        return {"status": "ready", "turns": 3}

    @trace_component_method()
    def think(self, prompt, *, depth=1):
        return len(prompt) * depth

    @trace_component_method("Agent.chat")
    async def chat(self, message):
        await asyncio.sleep(0.01)
        return message.upper()


@trace_function(tags={"kind": "tool"})
def search(query, limit=3):
    return [query] * limit


@trace_async_function("fetch_page", component="http")
async def fetch(url):
    await asyncio.sleep(0.005)
    return url


class RateLimitError(Exception):
    class _Enum:
        def __init__(self, value):
            self.value = value

    def __init__(self, message):
        super().__init__(message)
        self.severity = self._Enum("warning")
        self.category = self._Enum("rate_limit")


def fail_deep():
    raise RateLimitError("429 Too Many Requests")


def mode_standard(truth):
    agent = Agent()
    truth["think"] = agent.think("hello", depth=2)
    truth["chat"] = asyncio.run(agent.chat("hi"))
    truth["state_calls"] = agent.state_calls
    truth["search"] = search("q", limit=2)
    truth["fetch"] = asyncio.run(fetch("http://x"))

    memory = ComponentTracer("memory")
    errors = ErrorTracer()
    with tracer.trace_operation(component="agent", operation="step", description="") as step:
        truth["step_span"] = step.span_id_hex
        memory.trace_initialization({"backend": "sqlite", "path": "/tmp/m.db"})
        memory.trace_state_change("cold", "ready", "index loaded")
        memory.trace_config_change("capacity", 16, 64)
        try:
            fail_deep()
        except RateLimitError as e:
            truth["error_id"] = f"{errors.trace_error_occurrence(e, {'model': 'claude'}):016x}"
            errors.trace_error_handled(e, "Agent.step")
            errors.trace_error_recovery(e, "retry_with_backoff", True)
            errors.trace_error_resolved(e, "succeeded on attempt 2")

    perf = PerformanceTracer()
    with perf.trace_execution_time("rank", component="ranker"):
        burn_cpu(0.02)
    with perf.trace_resource_usage("embed", component="embedder") as s:
        truth["resource_span"] = s.span_id_hex
        burn_cpu(0.05)

    flow = DataFlowTracer()
    data = {"b": [1, 2], "a": "x" * 150}
    flow.trace_data_input("ingest", data, component="pipeline")
    text = "y" * 150
    flow.trace_data_output("answer", text, component="pipeline")
    flow.trace_data_transformation("summarize", text, text[:10], component="pipeline")
    truth["data"] = {
        "dict_size": len(json.dumps(data, default=str).encode()),
        "dict_md5": hashlib.md5(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest(),
        "text_md5": hashlib.md5(text.encode()).hexdigest(),
    }


def mode_context(truth):
    with tracer.trace_operation(component="pipeline", operation="fan_out", description="") as s:
        truth["parent_span"] = s.span_id_hex
        truth["trace_id"] = s.trace_id
        env = dict(os.environ, TRACEPARENT=s.traceparent())
        children = []
        child_truth = truth["_dir"] + "/child.json"
        subprocess.run([sys.executable, __file__, "child", child_truth], env=env, check=True)
        children.append(json.load(open(child_truth)))
        if len(sys.argv) > 3:  # a C++ child too (standard_workloads child)
            cpp_truth = truth["_dir"] + "/cpp_child.json"
            subprocess.run([sys.argv[3], "child", cpp_truth], env=env, check=True)
            children.append(json.load(open(cpp_truth)))
        truth["children"] = children


def mode_child(truth):
    ctx = TraceContext.from_environment()
    with ctx.attach():
        with tracer.trace_operation(component="stage2", operation="consume", description="") as s:
            truth["span"] = s.span_id_hex
            truth["parent"] = f"{s.parent_span_id:016x}"
    truth["pid"] = os.getpid()


def mode_bad_input(truth):
    errors = {}
    try:
        tracer.trace_operation(component=42, operation="x", description="")
    except TypeError as e:
        errors["component"] = str(e)
    with tracer.trace_operation(component="bad", operation="tags", description="") as s:
        s.set_tag("before", 1)
        try:
            s.set_tag("obj", {"when": object()})
        except TypeError as e:
            errors["tag"] = str(e)
        s.set_tag("after", 2)
        truth["span"] = s.span_id_hex
    try:
        s.set_tag("late", 3)
    except RuntimeError as e:
        errors["after_end"] = str(e)
    loop = asyncio.new_event_loop()
    loop.close()

    async def traced():
        async with tracer.trace_operation(component="bad", operation="closed_loop",
                                          description=""):
            pass

    coro = traced()
    try:
        loop.run_until_complete(coro)
    except RuntimeError as e:
        errors["closed_loop"] = str(e)
    coro.close()
    truth["errors"] = errors


def mode_task_figures(truth):
    """Two asyncio tasks on one thread, each in its own span, taking turns
    in slices of about 1 ms: one burns 200 ms of CPU and writes 4096 bytes
    a slice, the other 100 ms and 1000 bytes.  Each measures its own CPU
    (time.thread_time around its own slices) and bytes.  A span around both
    in the parent task, and a plain span around the whole event loop."""
    path = truth["_dir"] + "/task_figures.bin"
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)

    async def worker(name, cpu_seconds, chunk):
        async with tracer.trace_operation(component="task", operation=name,
                                          description="") as span:
            own_cpu = 0.0
            written = 0
            slices = 0
            while own_cpu < cpu_seconds:
                t0 = time.thread_time()
                burn_cpu(0.001)
                written += os.write(fd, b"x" * chunk)
                own_cpu += time.thread_time() - t0
                slices += 1
                await asyncio.sleep(0)
            truth[name] = {"span": span.span_id_hex, "cpu_ms": own_cpu * 1000,
                           "written": written, "slices": slices}

    async def parent():
        async with tracer.trace_operation(component="task", operation="parent",
                                          description="") as span:
            truth["parent"] = span.span_id_hex
            await asyncio.gather(worker("heavy", 0.2, 4096), worker("light", 0.1, 1000))

    with tracer.trace_operation(component="task", operation="loop", description="") as span:
        t0 = time.thread_time()
        asyncio.run(parent())
        truth["loop"] = {"span": span.span_id_hex, "cpu_ms": (time.thread_time() - t0) * 1000}
    os.close(fd)


def mode_server(truth):
    """Server-like: requests served in spans until killed; TRUTH holds, per
    100 ms window: its end (time.time()), requests served, the last
    sequence number, whether a recorder was attached, and the thread CPU ns
    per request (what "full speed" means on a machine shared with others)."""
    path = truth["_path"]

    async def handle(seq):
        async with tracer.trace_operation(component="server", operation="request",
                                          description="") as span:
            span.set_tag("seq", seq)
            burn_cpu(0.0005)
            await asyncio.sleep(0)

    async def serve():
        seq = 0
        windows = []
        while True:
            t_end = time.monotonic() + 0.1
            n = 0
            cpu0 = time.thread_time_ns()
            while time.monotonic() < t_end:
                # each request in a task of its own, as servers do
                await asyncio.create_task(handle(seq))
                seq += 1
                n += 1
            cpu_per_request = (time.thread_time_ns() - cpu0) / max(n, 1)
            windows.append([time.time(), n, seq, lstrace.is_tracing_enabled(), cpu_per_request])
            with open(path + ".tmp", "w") as f:
                json.dump({"windows": windows[-400:]}, f)
            os.replace(path + ".tmp", path)

    asyncio.run(serve())


MODES = {
    "tags": mode_tags,
    "many_tags": mode_many_tags,
    "cpu": mode_cpu,
    "io": mode_io,
    "errors": mode_errors,
    "async_nesting": lambda t: asyncio.run(mode_async_nesting(t)),
    "interleave": lambda t: asyncio.run(mode_interleave(t)),
    "standard": mode_standard,
    "context": mode_context,
    "child": mode_child,
    "bad_input": mode_bad_input,
    "server": mode_server,
    "task_figures": mode_task_figures,
}


def main():
    mode, path = sys.argv[1], sys.argv[2]
    truth = {"_dir": os.path.dirname(os.path.abspath(path)), "_path": path}
    MODES[mode](truth)
    truth["pid"] = truth.get("pid", os.getpid())
    with open(path, "w") as f:
        json.dump(truth, f)


if __name__ == "__main__":
    main()
