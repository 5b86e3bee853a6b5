"""Records real Python processes with `lstrace-bpf record -- python3 ...` and
checks their records against the ground truth the programs measured."""

import hashlib

import pytest

from conftest import assert_summary_clean, record, requires_root

pytestmark = requires_root


def test_tags_of_every_type_and_json_values(tmp_path):
    rec = record(tmp_path, "tags")
    assert_summary_clean(rec.stderr)
    s = rec.span("agent", "generate")
    assert s["span_id"] == rec.truth["span_id"]
    assert s["trace_id"] == rec.truth["trace_id"]
    assert s["parent_span_id"] is None
    assert s["description"] == "Generating a reply"
    assert s["metadata"]["tracer"] == "tests.python"
    tags = s["tags"]
    assert tags["model"] == "small"
    assert tags["tokens"] == 128
    assert tags["temperature"] == 0.25
    assert tags["streaming"] is True
    # lists and dicts are JSON values in the record, not strings
    assert tags["stop"] == ["\n\n", "END"]
    assert tags["usage"] == {"prompt": 12, "completion": 34, "nested": {"ok": None}}
    assert tags["big"] == 2**70
    assert tags["success"] is True
    assert rec.truth["recording"] is True and rec.truth["enabled"] is True


def test_more_tags_than_the_tag_buffer_holds(tmp_path):
    rec = record(tmp_path, "many_tags")
    assert_summary_clean(rec.stderr)
    span = rec.by_id(rec.truth["span"])
    for key, value in rec.truth["expected"].items():
        assert span["tags"][key] == value, key
    assert span["tags"]["long"] == "x" * 255
    assert span["metadata"]["truncated"] is True


def test_cpu_time_matches_thread_time_alone_and_contended(tmp_path):
    rec = record(tmp_path, "cpu")
    assert_summary_clean(rec.stderr)
    for span_key, truth_key in (("alone_span", "alone_ms"), ("contended_span", "contended_ms")):
        s = rec.by_id(rec.truth[span_key])
        cpu = s["resources"]["cpu_time_ms"]
        truth = rec.truth[truth_key]
        print(f"{s['operation']}: record cpu_time_ms {cpu:.2f}, thread_time {truth:.2f}")
        assert truth >= 100
        assert abs(cpu - truth) <= 0.02 * truth
    other = rec.span("cpu", "other_thread")
    assert abs(other["resources"]["cpu_time_ms"] - rec.truth["other_ms"]) <= 0.02 * rec.truth["other_ms"]
    # each thread's span is its own: the contended span's parent is none,
    # the worker thread began its span outside any context of its own
    assert other["metadata"]["thread_id"] != rec.by_id(rec.truth["contended_span"])["metadata"]["thread_id"]


def test_bytes_sleep_and_pages(tmp_path):
    rec = record(tmp_path, "io")
    assert_summary_clean(rec.stderr)
    io = rec.by_id(rec.truth["span"])["resources"]
    assert io["file_write_bytes"] == rec.truth["written"]
    assert io["file_read_bytes"] == rec.truth["read"]
    sleep = rec.span("tool", "sleep")
    r = sleep["resources"]
    print(f"sleep: off-cpu {r['offcpu_time_ms']:.2f} ms, wall {rec.truth['sleep_wall_ms']:.2f} ms")
    assert r["offcpu_time_ms"] >= 150
    assert abs(r["offcpu_time_ms"] - (rec.truth["sleep_wall_ms"] - rec.truth["sleep_cpu_ms"])) < 5
    assert r["cpu_time_ms"] < 5
    touch = rec.span("memory", "touch")["resources"]
    pages = rec.truth["touched_bytes"] // 4096
    print(f"touch: {touch['minor_faults']} faults for {pages} pages, peak {touch['peak_rss_bytes']}")
    # transparent huge pages may fault 2 MiB at a time
    assert touch["minor_faults"] >= pages // 512
    assert touch["peak_rss_bytes"] >= rec.truth["touched_bytes"]


def test_exception_fails_the_span_and_propagates(tmp_path):
    rec = record(tmp_path, "errors")
    assert rec.truth["propagated"] == "Invalid configuration format"
    s = rec.by_id(rec.truth["raised_span"])
    assert s["tags"]["success"] is False
    assert s["tags"]["error_type"] == "ConfigurationError"
    assert s["tags"]["error_message"] == "Invalid configuration format"
    v = rec.by_id(rec.truth["recorded_span"])
    assert v["tags"]["success"] is False
    assert v["tags"]["error_type"] == "ValidationError"
    assert v["tags"]["error_message"] == "field 'model' missing"


def test_nesting_across_await_gather_to_thread_and_executor(tmp_path):
    rec = record(tmp_path, "async_nesting")
    assert_summary_clean(rec.stderr)
    t = rec.truth
    root = rec.by_id(t["root"])
    assert root["parent_span_id"] is None
    for name in ("a", "b", "c"):
        task = rec.by_id(t["tasks"][name]["span"])
        assert task["parent_span_id"] == t["root"], name
        assert task["trace_id"] == t["trace_id"]
        assert task["metadata"]["thread_id"] == str(t["loop_tid"])
        worker = rec.by_id(t["tasks"][name]["thread_span"])
        assert worker["parent_span_id"] == task["span_id"], name
        assert worker["trace_id"] == t["trace_id"]
        assert worker["metadata"]["thread_id"] == str(t["threads"][f"{name}_thread"])
        assert worker["metadata"]["thread_id"] != str(t["loop_tid"])
        assert worker["resources"] is not None
    executor = rec.by_id(t["executor_span"])
    assert executor["parent_span_id"] == t["root"]
    assert rec.by_id(t["bare_executor_span"])["parent_span_id"] is None


def test_spans_ending_out_of_order_on_one_thread(tmp_path):
    rec = record(tmp_path, "interleave")
    assert_summary_clean(rec.stderr)
    first = rec.span("order", "first")
    second = rec.span("order", "second")
    # `second` began inside `first`'s task? No: in its own task, whose
    # context was copied before `first` began: both are roots.
    assert first["parent_span_id"] is None and second["parent_span_id"] is None
    for s in (first, second):
        assert s["resources"] is not None and s["resources"]["cpu_time_ms"] is not None
        assert "ended_on_other_thread" not in s["metadata"]
    outer, inner = (rec.by_id(i) for i in rec.truth["manual"])
    assert inner["parent_span_id"] == outer["span_id"]
    assert outer["resources"] is not None and inner["resources"] is not None
    # the context is left with no ended span in it
    assert rec.truth["current_after_outer_end"] is True
    assert rec.truth["current_after_both"] is True


def test_standard_api(tmp_path):
    rec = record(tmp_path, "standard")
    assert_summary_clean(rec.stderr)
    t = rec.truth
    assert t["think"] == 10 and t["chat"] == "HI" and t["fetch"] == "http://x"
    think = rec.span("Agent", "Agent.think")
    assert think["tags"]["args_count"] == 1
    assert think["tags"]["kwargs_keys"] == ["depth"]
    assert think["tags"]["component_state"] == {"status": "ready", "turns": 3}
    chat = rec.span("Agent", "Agent.chat")
    assert chat["tags"]["args_count"] == 1 and chat["duration_ms"] >= 10
    assert t["state_calls"] == 2  # computed only while attached: here it was
    search = rec.span("__main__", "search")
    assert search["tags"]["kind"] == "tool" and search["tags"]["kwargs_keys"] == ["limit"]
    fetch = rec.span("http", "fetch_page")
    assert fetch["metadata"]["tracer"] == "__main__"

    init = rec.events("component_init")[0]
    assert init["component"] == "memory" and init["span_id"] == t["step_span"]
    assert init["tags"]["config_keys"] == "backend,path"
    assert init["tags"]["config_size"] == len(str({"backend": "sqlite", "path": "/tmp/m.db"}))
    state = rec.events("state_change")[0]
    assert (state["tags"]["from_state"], state["tags"]["to_state"]) == ("cold", "ready")
    config = rec.events("config_change")[0]
    assert (config["tags"]["old_value"], config["tags"]["new_value"]) == ("16", "64")

    error = rec.events("error")[0]
    tags = error["tags"]
    assert tags["error_id"] == t["error_id"]
    assert tags["error_type"] == "RateLimitError"
    assert tags["error_message"] == "429 Too Many Requests"
    assert tags["error_module"] == "__main__"
    assert tags["severity"] == "warning" and tags["category"] == "rate_limit"
    assert tags["context_model"] == "claude"
    assert tags["context_stack_trace"].startswith("workloads.py:")
    assert "in fail_deep" in tags["context_stack_trace"]
    assert int(tags["context_stack_depth"]) >= 3
    for kind in ("error_handled", "error_recovery", "error_resolution"):
        assert rec.events(kind)[0]["tags"]["error_id"] == t["error_id"], kind
    assert rec.events("error_recovery")[0]["tags"]["recovery_success"] is True
    assert rec.events("error_resolution")[0]["tags"]["outcome"] == "resolved"

    rank = rec.span("ranker", "rank")
    assert rank["tags"]["execution_time_category"] in ("normal", "slow")  # 20 ms of CPU
    assert abs(rank["tags"]["execution_time_ms"] - rank["duration_ms"]) < 5
    embed = rec.by_id(t["resource_span"])
    assert embed["resources"]["cpu_time_ms"] >= 49

    data = t["data"]
    flows = rec.events("data_flow")
    ingest = [f for f in flows if f["tags"]["direction"] == "input"][0]
    assert ingest["tags"]["data_type"] == "dict"
    assert ingest["tags"]["size_bytes"] == data["dict_size"]
    assert ingest["tags"]["keys"] == "b,a"
    assert ingest["tags"]["fingerprint"][:8] == data["dict_md5"][:8]
    assert ingest["span_id"] == rec.span("pipeline", "ingest_input")["span_id"]
    out = [f for f in flows if f["tags"]["direction"] == "output"][0]
    assert out["tags"]["preview"] == "y" * 100 and out["tags"]["length"] == 150
    assert out["tags"]["fingerprint"][:8] == data["text_md5"][:8]
    transform = rec.events("data_transform")[0]
    assert transform["tags"]["size_change_bytes"] == -140


def test_traceparent_joins_python_and_cpp_children(tmp_path):
    import os
    cpp = os.environ["LSTRACE_STANDARD_BIN"]
    rec = record(tmp_path, "context", cpp, record_flags=("--follow",))
    t = rec.truth
    py_child, cpp_child = t["children"]
    for child_pid, component in ((py_child["pid"], "stage2"), (cpp_child["pid"], "stage2")):
        spans = [s for s in rec.spans(component, "consume")
                 if s["metadata"]["process_id"] == str(child_pid)]
        assert len(spans) == 1, (child_pid, rec.stderr)
        assert spans[0]["parent_span_id"] == t["parent_span"]
        assert spans[0]["trace_id"] == t["trace_id"]
    assert py_child["parent"] == t["parent_span"]


def test_bad_input(tmp_path):
    rec = record(tmp_path, "bad_input")
    errors = rec.truth["errors"]
    assert errors["component"] == "lstrace: component must be a str, not int"
    assert "not JSON serializable" in errors["tag"]
    assert errors["after_end"] == "lstrace: set_tag('late') on span 'bad.tags', which has ended"
    assert errors["closed_loop"] == "Event loop is closed"
    s = rec.by_id(rec.truth["span"])
    # nothing recorded half: the failed tag is absent, the others are there
    assert "obj" not in s["tags"] and s["tags"]["before"] == 1 and s["tags"]["after"] == 2
    assert rec.spans("bad", "closed_loop") == []
    assert_summary_clean(rec.stderr)


def test_the_python_demo(tmp_path):
    """examples/langswarm_demo.py, as tools/demo.sh records it."""
    import os
    import subprocess
    import sys

    from conftest import child_env, lstrace_bin, read_records
    demo = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "langswarm_demo.py")
    out = tmp_path / "demo.jsonl"
    proc = subprocess.run([lstrace_bin(), "record", "--force", "-o", str(out), "--",
                           sys.executable, demo], env=child_env(), capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert_summary_clean(proc.stderr)
    assert "6 agent steps" in proc.stdout
    records = read_records(out)
    spans = [r for r in records if r["record_type"] == "span"]
    steps = [s for s in spans if s["operation"] == "agent.step"]
    assert len(steps) == 6 and all(s["tags"]["success"] for s in steps)
    failed = [s for s in spans if s["operation"] == "llm.generate" and not s["tags"]["success"]]
    assert len(failed) == 1 and failed[0]["tags"]["error_type"] == "RateLimitError"
    kinds = {r["record_type"] for r in records}
    assert {"error", "error_handled", "error_recovery", "error_resolution",
            "error_propagation", "data_flow", "data_transform"} <= kinds
    stores = [s for s in spans if s["component"] == "memory"]
    # on worker threads (to_thread), children of their agent steps
    step_ids = {s["span_id"]: s["metadata"]["thread_id"] for s in steps}
    assert len(stores) == 6
    for s in stores:
        assert s["parent_span_id"] in step_ids
        assert s["metadata"]["thread_id"] != step_ids[s["parent_span_id"]]
    fetches = [s for s in spans if s["operation"] == "tool.http_fetch"]
    assert all(s["resources"]["net_write_bytes"] > 0 for s in fetches)


def test_traceparent_from_a_cpp_parent_to_a_python_child(tmp_path):
    """The other direction: a C++ span (standard_workloads context) hands its
    traceparent to a Python child, whose span joins that trace."""
    import json
    import os
    import subprocess
    import sys

    from conftest import WORKLOADS, child_env, lstrace_bin, read_records
    out, truth = tmp_path / "trace.jsonl", tmp_path / "truth.json"
    env = dict(child_env(), CONTEXT_CHILD_PYTHON=sys.executable, CONTEXT_CHILD_SCRIPT=WORKLOADS)
    proc = subprocess.run([lstrace_bin(), "record", "--force", "--follow", "-o", str(out), "--",
                           os.environ["LSTRACE_STANDARD_BIN"], "context", str(truth)],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    parent = json.load(open(truth))
    child = json.load(open(str(truth) + ".child"))
    assert parent["child_ok"] is True
    _, trace_id, span_id, _ = parent["traceparent"].split("-")
    spans = [r for r in read_records(out) if r["record_type"] == "span"
             and r["metadata"]["process_id"] == str(child["pid"])]
    assert len(spans) == 1, proc.stderr
    assert spans[0]["component"] == "stage2"
    assert spans[0]["parent_span_id"] == span_id == child["parent"]
    assert spans[0]["trace_id"] == trace_id


def test_a_python_program_without_the_package_is_refused(tmp_path):
    """record -- python3 when lstrace is not importable: exit code 5 (no
    probes), one line that says why."""
    import subprocess
    import sys

    from conftest import lstrace_bin
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    installed = subprocess.run([sys.executable, "-c", "import importlib.util as u, sys; "
                                "sys.exit(u.find_spec('lstrace') is not None)"],
                               env=env, cwd=tmp_path).returncode
    if installed:
        pytest.skip("lstrace is installed for this interpreter")
    proc = subprocess.run([lstrace_bin(), "record", "--force", "-o", str(tmp_path / "t.jsonl"),
                           "--", sys.executable, "-c", "pass"], env=env, capture_output=True,
                          text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 5, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if "lstrace package" in line]
    assert len(lines) == 1 and "docs/python.md" in lines[0], proc.stderr


def test_interleaved_asyncio_tasks_get_their_own_figures(tmp_path):
    """Two tasks on one thread, each in its own span, interleaving in ~1 ms
    slices: each span's CPU and bytes are its own task's, not the thread's
    (the task-step probes, bpf/task_steps.bpf.h)."""
    rec = record(tmp_path, "task_figures")
    assert_summary_clean(rec.stderr)
    t = rec.truth
    for name in ("heavy", "light"):
        truth = t[name]
        span = rec.by_id(truth["span"])
        res = span["resources"]
        assert res.get("per_task") is True, (name, res)
        assert truth["slices"] >= 50, truth  # they did interleave
        cpu = res["cpu_time_ms"]
        print(f"{name}: record cpu_time_ms {cpu:.2f}, task's own {truth['cpu_ms']:.2f}, "
              f"write_bytes {res['write_bytes']} (wrote {truth['written']}), "
              f"{truth['slices']} slices, wall {span['duration_ms']:.1f} ms")
        assert abs(cpu - truth["cpu_ms"]) <= 0.05 * truth["cpu_ms"], (name, cpu, truth)
        assert res["write_bytes"] == truth["written"], (name, res["write_bytes"], truth)
        assert res["file_write_bytes"] == truth["written"], (name, res, truth)
        # an awaiting span's off-CPU time is its wall time minus its CPU
        assert res["offcpu_time_ms"] == pytest.approx(span["duration_ms"] - cpu, abs=0.01)
    # the parent task's span counts its own steps only: not its children's work
    parent = rec.by_id(t["parent"])
    assert parent["resources"].get("per_task") is True
    children_ms = t["heavy"]["cpu_ms"] + t["light"]["cpu_ms"]
    print(f"parent: cpu_time_ms {parent['resources']['cpu_time_ms']:.2f}; "
          f"children {children_ms:.2f}")
    assert parent["resources"]["cpu_time_ms"] < 0.05 * children_ms
    assert parent["resources"]["write_bytes"] == 0
    # a plain span around the event loop is the thread's: everything in it
    loop = rec.by_id(t["loop"]["span"])
    assert "per_task" not in loop["resources"]
    assert loop["resources"]["cpu_time_ms"] >= children_ms
    assert loop["resources"]["cpu_time_ms"] == pytest.approx(t["loop"]["cpu_ms"], rel=0.02)
    assert loop["resources"]["write_bytes"] == t["heavy"]["written"] + t["light"]["written"]
