"""The tracing standard's own in-process resource monitor, as the seed
(tracing-standards.md, "Performance Tracing") writes it: psutil reads at
span begin and end.  The alternative a user has today; bench/python_bench.py
times it against lstrace.  Kept as the seed has it (its tracer is whatever
`tracer` is passed in)."""

import psutil


class ResourceMonitor:
    """Context manager for monitoring resource usage"""

    def __init__(self, tracer, operation: str, component: str, process):
        self.tracer = tracer
        self.operation = operation
        self.component = component
        self.process = process
        self.start_memory = None
        self.start_cpu_time = None
        self.span = None

    def __enter__(self):
        self.start_memory = self.process.memory_info().rss
        self.start_cpu_time = self.process.cpu_times()
        self.span = self.tracer.trace_operation(
            component=self.component,
            operation=self.operation,
            description=f"Resource monitoring {self.operation}"
        ).__enter__()
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        end_memory = self.process.memory_info().rss
        end_cpu_time = self.process.cpu_times()

        memory_delta = end_memory - self.start_memory
        cpu_delta = (end_cpu_time.user - self.start_cpu_time.user) + \
                   (end_cpu_time.system - self.start_cpu_time.system)

        self.span.set_tag("memory_usage_bytes", end_memory)
        self.span.set_tag("memory_delta_bytes", memory_delta)
        self.span.set_tag("cpu_time_delta", cpu_delta)
        self.span.set_tag("memory_category", self._categorize_memory(memory_delta))

        self.span.__exit__(exc_type, exc_val, exc_tb)

    def _categorize_memory(self, memory_delta: int) -> str:
        """Categorize memory usage for analysis"""
        if memory_delta < 1024:  # < 1KB
            return "minimal"
        elif memory_delta < 1024 * 1024:  # < 1MB
            return "small"
        elif memory_delta < 10 * 1024 * 1024:  # < 10MB
            return "moderate"
        elif memory_delta < 100 * 1024 * 1024:  # < 100MB
            return "large"
        else:
            return "very_large"


def new_process():
    return psutil.Process()
