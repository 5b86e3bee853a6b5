"""`record -p` and `list -p` on a running asyncio Python process."""

import json
import os
import signal
import subprocess
import sys
import time

from conftest import (WORKLOADS, assert_summary_clean, child_env, lstrace_bin, read_records,
                      requires_root, wait_for)

pytestmark = requires_root


def windows(path):
    try:
        with open(path) as f:
            return json.load(f)["windows"]
    except (OSError, ValueError):
        return []


def cpu_per_request(ws):
    """Median thread CPU ns per request over the windows."""
    values = sorted(w[4] for w in ws)
    return values[len(values) // 2]


def test_list_and_record_attach_to_a_running_asyncio_server(tmp_path):
    truth = tmp_path / "server.json"
    server = subprocess.Popen([sys.executable, WORKLOADS, "server", str(truth)], env=child_env())
    try:
        wait_for(lambda: len(windows(truth)) >= 15, 30, "the server's first 1.5 s")

        listed = subprocess.run([lstrace_bin(), "list", "-p", str(server.pid)],
                                capture_output=True, text=True, timeout=60)
        assert listed.returncode == 0, listed.stderr
        assert "_native.cpython" in listed.stdout
        for probe in ("span_begin", "span_end", "span_tag", "recording", "data_flow"):
            assert probe in listed.stdout, listed.stdout

        before = windows(truth)[5:]  # past its warm-up
        out = tmp_path / "trace.jsonl"
        attach_wall = time.time()
        rec = subprocess.run([lstrace_bin(), "record", "--force", "-p", str(server.pid),
                              "--duration", "2", "-o", str(out)],
                             capture_output=True, text=True, timeout=60)
        detach_wall = time.time()
        assert rec.returncode == 0, rec.stderr
        assert_summary_clean(rec.stderr)
        assert server.poll() is None, "the server died"

        spans = [r for r in read_records(out) if r["record_type"] == "span"]
        assert len(spans) > 100, rec.stderr
        seqs = sorted(s["tags"]["seq"] for s in spans)
        # only spans begun after the attach, none lost between: consecutive
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
        assert seqs[0] > before[-1][2] - 1
        for s in spans:
            assert s["component"] == "server" and s["tags"]["success"] is True
            assert s["resources"] is not None and "aborted" not in s["metadata"]
        # the first span recorded installs the task-step hook on the running
        # loop: requests (tasks) created from then on get per-task figures
        by_seq = sorted(spans, key=lambda s: s["tags"]["seq"])
        per_thread = [s["tags"]["seq"] for s in by_seq if not s["resources"].get("per_task")]
        assert len(per_thread) <= 2 and all(q <= seqs[0] + 1 for q in per_thread), per_thread

        # detached again: still serving, at the rate it had before the attach
        wait_for(lambda: len([w for w in windows(truth) if w[0] > detach_wall + 0.3]) >= 10, 30,
                 "a second after the detach")
        after = [w for w in windows(truth) if w[0] > detach_wall + 0.3]
        assert not any(w[3] for w in after), "is_tracing_enabled() stayed true after the detach"
        assert any(w[3] for w in windows(truth) if attach_wall < w[0] < detach_wall)
        during = [w for w in windows(truth) if w[3]]
        print(f"thread CPU per request: before {cpu_per_request(before):.0f} ns, attached "
              f"{cpu_per_request(during):.0f} ns, after the detach {cpu_per_request(after):.0f} ns")
        assert cpu_per_request(after) <= 1.25 * cpu_per_request(before)
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()
