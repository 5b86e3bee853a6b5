"""Cost per span of the Python API (bench/python_bench.sh drives it).

    python3 bench/python_bench.py MODE [--spans N] [--runs R]

Each span is the standard's call shape with one tag:

    with tracer.trace_operation(component="bench", operation="op",
                                description="benchmark span") as span:
        span.set_tag("i", i)

MODE:
    nullcontext   `with contextlib.nullcontext() as span:` and no tag: the
                  floor of a with statement
    noop          a pure-Python no-op tracer of the same call shape
    lstrace       lstrace's tracer (detached unless run under a recorder or
                  bench/usdt_floor)
    psutil        the seed's ResourceMonitor (psutil reads at begin and end)
                  around a no-op span with the same tag

Prints one JSON object: mode, spans, the median over R runs of wall ns per
span, and the thread CPU ns per span of that run.
"""

import argparse
import contextlib
import json
import os
import sys
import time


class NoopSpan:
    __slots__ = ()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        return False

    def set_tag(self, key, value):
        pass


class NoopTracer:
    _span = NoopSpan()

    def trace_operation(self, component, operation, description=""):
        return self._span


def loop_nullcontext(n):
    null = contextlib.nullcontext
    for i in range(n):
        with null() as span:
            pass


def make_loop(tracer):
    def loop(n):
        for i in range(n):
            with tracer.trace_operation(component="bench", operation="op",
                                        description="benchmark span") as span:
                span.set_tag("i", i)
    return loop


def make_psutil_loop():
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from seed_resource_monitor import ResourceMonitor, new_process

    tracer = NoopTracer()
    process = new_process()

    def loop(n):
        for i in range(n):
            with ResourceMonitor(tracer, "op", "bench", process) as monitor:
                monitor.span.set_tag("i", i)
    return loop


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["nullcontext", "noop", "lstrace", "psutil"])
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if args.mode == "nullcontext":
        loop = loop_nullcontext
    elif args.mode == "noop":
        loop = make_loop(NoopTracer())
    elif args.mode == "psutil":
        loop = make_psutil_loop()
    else:
        import lstrace
        loop = make_loop(lstrace.get_tracer("bench"))
    loop(min(args.spans, 10_000))  # warm up
    runs = []
    for _ in range(args.runs):
        c0, t0 = time.thread_time_ns(), time.perf_counter_ns()
        loop(args.spans)
        t1, c1 = time.perf_counter_ns(), time.thread_time_ns()
        runs.append(((t1 - t0) / args.spans, (c1 - c0) / args.spans))
    wall, cpu = sorted(runs)[len(runs) // 2]  # the median run (R odd)
    result = {"mode": args.mode, "spans": args.spans, "runs": args.runs, "ns_per_span": wall,
              "cpu_ns_per_span": cpu}
    if args.mode == "lstrace":
        import lstrace
        result["attached"] = lstrace.is_tracing_enabled()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
