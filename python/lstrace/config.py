"""The standard's TracingConfig.

With lstrace the recorder, not the application, decides what is recorded:
the same fields are given to ``lstrace-bpf record --config FILE``
(docs/tracing-config.md).  ``to_json()`` writes that file from a
TracingConfig, so a configuration written in Python can be used as it is.
"""

import dataclasses
import json
from dataclasses import dataclass
from typing import List, Optional


@dataclass
class TracingConfig:
    """Configuration for tracing (the standard's fields and defaults)."""

    # Output configuration
    output_file: Optional[str] = None
    output_format: str = "jsonl"  # jsonl, json, text

    # Filtering configuration
    enabled_components: List[str] = None  # None = all components
    disabled_components: List[str] = None
    min_duration_ms: float = 0.0  # Minimum duration to trace

    # Performance configuration
    max_trace_size: int = 10000  # Maximum traces in memory
    flush_interval: int = 100  # Flush every N traces

    # Context configuration
    include_stack_trace: bool = False
    include_environment: bool = False
    include_thread_info: bool = False

    # Debug configuration
    debug_mode: bool = False
    verbose_errors: bool = False

    def to_json(self):
        """The configuration as ``lstrace-bpf record --config`` reads it
        (fields left at None are left out)."""
        fields = {k: v for k, v in dataclasses.asdict(self).items() if v is not None}
        return json.dumps(fields, indent=2)
