"""Shared helpers of the Python binding's tests (run by ctest, see
tests/python/CMakeLists.txt, which sets the environment below).

    LSTRACE_BPF          the lstrace-bpf binary
    LSTRACE_PYTHONPATH   build/python (the package with its extension)
    LSTRACE_STANDARD_BIN tests/testprogs/standard_workloads (a C++ child)
"""

import json
import os
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
WORKLOADS = os.path.join(HERE, "programs", "workloads.py")

sys.path.insert(0, os.environ.get("LSTRACE_PYTHONPATH", ""))


def child_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.environ["LSTRACE_PYTHONPATH"]
    env.pop("TRACEPARENT", None)
    return env


def lstrace_bin():
    return os.environ["LSTRACE_BPF"]


def read_records(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


class Recording:
    def __init__(self, records, truth, stderr):
        self.records = records
        self.truth = truth
        self.stderr = stderr

    def spans(self, component=None, operation=None):
        return [r for r in self.records if r["record_type"] == "span"
                and (component is None or r["component"] == component)
                and (operation is None or r["operation"] == operation)]

    def span(self, component, operation):
        found = self.spans(component, operation)
        assert len(found) == 1, f"{component}.{operation}: {len(found)} records\n{self.stderr}"
        return found[0]

    def by_id(self, span_id):
        found = [r for r in self.records if r["record_type"] == "span" and r["span_id"] == span_id]
        assert len(found) == 1, f"span {span_id}: {len(found)} records"
        return found[0]

    def events(self, record_type):
        return [r for r in self.records if r["record_type"] == record_type]


def record(tmp_path, mode, *extra_args, record_flags=()):
    """Records `python3 workloads.py MODE TRUTH` and returns its records and
    the ground truth the program wrote."""
    out = tmp_path / "trace.jsonl"
    truth = tmp_path / "truth.json"
    cmd = [lstrace_bin(), "record", "--force", *record_flags, "-o", str(out), "--",
           sys.executable, WORKLOADS, mode, str(truth), *extra_args]
    proc = subprocess.run(cmd, env=child_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"{cmd} exited {proc.returncode}:\n{proc.stderr}"
    with open(truth) as f:
        truth_data = json.load(f)
    return Recording(read_records(out), truth_data, proc.stderr)


def assert_summary_clean(stderr):
    """The recorder's summary line: nothing lost, open or unmatched."""
    for phrase in ("0 spans lost", "0 still open", "0 ended without a recorded begin",
                   "0 tags/errors lost"):
        assert phrase in stderr, f"summary lacks {phrase!r}:\n{stderr}"


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


requires_root = pytest.mark.skipif(os.geteuid() != 0, reason="loads BPF programs: needs root")


# ctest reads exit status 77 as "skipped" (SKIP_RETURN_CODE): a file whose
# every test was skipped (not root) says so instead of passing.
_outcomes = {"ran": 0, "skipped": 0}


def pytest_runtest_logreport(report):
    if report.when == "call" or (report.when == "setup" and report.skipped):
        _outcomes["skipped" if report.skipped else "ran"] += 1


def pytest_sessionfinish(session, exitstatus):
    if exitstatus == 0 and _outcomes["ran"] == 0 and _outcomes["skipped"] > 0:
        session.exitstatus = 77
