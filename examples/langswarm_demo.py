"""A LangSwarm-style multi-agent workflow in Python, traced with lstrace.

Async agents call a simulated LLM (network latency as awaited sleeps, token
work as CPU), use tools that do real file and socket I/O, keep a memory on
a worker thread, and one LLM call fails with a rate limit and is retried.
Written to the LangSwarm tracing standard: only the import line differs.

    lstrace-bpf record -o trace.jsonl -- python3 examples/langswarm_demo.py
"""

import asyncio
import hashlib
import os
import tempfile

from lstrace import (ComponentTracer, DataFlowTracer, ErrorTracer, PerformanceTracer,
                     get_tracer, trace_component_method)

tracer = get_tracer("langswarm.demo")
errors = ErrorTracer()
flow = DataFlowTracer()
perf = PerformanceTracer()


class RateLimitError(Exception):
    """What a provider raises on HTTP 429."""


class SimulatedLLM:
    def __init__(self, name, latency_s):
        self.name = name
        self.latency_s = latency_s
        self.calls = 0
        self.fail_on_call = 3
        ComponentTracer("llm").trace_initialization({"model": name, "latency_s": latency_s})

    def _get_trace_state(self):
        return {"model": self.name, "calls": self.calls}

    @trace_component_method("llm.generate")
    async def generate(self, prompt):
        self.calls += 1
        call = self.calls
        await asyncio.sleep(self.latency_s)  # the network round trip: off-CPU
        if call == self.fail_on_call:
            raise RateLimitError(f"429 Too Many Requests for model {self.name}")
        # "decoding": CPU work proportional to the prompt
        digest = prompt.encode()
        for _ in range(2000):
            digest = hashlib.sha256(digest).digest()
        return f"{self.name} answer to {prompt[:40]!r}: {digest.hex()[:16]}"


class FileTool:
    def __init__(self, directory):
        self.directory = directory

    @trace_component_method("tool.file_write")
    def write(self, name, text):
        path = os.path.join(self.directory, name)
        with open(path, "w") as f:
            f.write(text * 200)
        return path

    @trace_component_method("tool.file_read")
    def read(self, path):
        with open(path) as f:
            return f.read()


class SocketTool:
    """Talks to a local echo server: real socket I/O."""

    def __init__(self, port):
        self.port = port

    @trace_component_method("tool.http_fetch")
    async def fetch(self, query):
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        writer.write(query.encode() * 512)
        await writer.drain()
        writer.write_eof()
        data = await reader.read()
        writer.close()
        await writer.wait_closed()
        return len(data)


class Memory:
    def __init__(self):
        self.items = []
        self.component = ComponentTracer("memory")
        self.component.trace_state_change("empty", "ready", "demo start")

    def store(self, key, value):
        # runs in a worker thread (asyncio.to_thread): the span is its own,
        # and a child of the agent step that handed the work over
        with tracer.trace_operation(component="memory", operation="store",
                                    description=f"Storing {key}") as span:
            span.set_tag("key", key)
            blob = bytearray(4 << 20)  # an embedding cache: pages touched
            for i in range(0, len(blob), 4096):
                blob[i] = 1
            self.items.append((key, value, bytes(blob[:16])))
            span.set_tag("items", len(self.items))


class Agent:
    def __init__(self, name, llm, files, web, memory):
        self.name, self.llm, self.files, self.web, self.memory = name, llm, files, web, memory

    def _get_trace_state(self):
        return {"agent": self.name, "memory_items": len(self.memory.items)}

    async def think(self, prompt):
        for attempt in (1, 2):
            try:
                return await self.llm.generate(prompt)
            except RateLimitError as e:
                errors.trace_error_occurrence(e, {"agent": self.name, "attempt": attempt})
                errors.trace_error_handled(e, "Agent.think")
                async with tracer.trace_operation(component="agent", operation="retry_backoff",
                                                  description="Waiting before a retry"):
                    await asyncio.sleep(0.04)
                errors.trace_error_recovery(e, "retry_after_backoff", True)
                errors.trace_error_resolved(e, f"succeeded on attempt {attempt + 1}")
        raise RuntimeError("unreachable")

    @trace_component_method("agent.step")
    async def step(self, task):
        prompt = f"You are {self.name}. Task: {task}"
        flow.trace_data_input("step", {"agent": self.name, "task": task}, component="agent")
        answer = await self.think(prompt)
        path = self.files.write(f"{self.name}.txt", answer)
        notes = self.files.read(path)
        fetched = await self.web.fetch(task)
        await asyncio.to_thread(self.memory.store, self.name, answer)
        flow.trace_data_transformation("summarize", notes, answer, component="agent")
        return {"agent": self.name, "answer": answer, "fetched": fetched}


async def echo(reader, writer):
    data = await reader.read()
    writer.write(data)
    await writer.drain()
    writer.close()


async def main():
    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    with tempfile.TemporaryDirectory() as directory:
        async with tracer.trace_operation(component="orchestrator", operation="run_workflow",
                                          description="Three agents, two rounds") as run:
            llm = SimulatedLLM("claude-3-haiku", 0.06)
            memory = Memory()
            agents = [Agent(n, llm, FileTool(directory), SocketTool(port), memory)
                      for n in ("researcher", "analyst", "writer")]
            run.set_tag("agents", [a.name for a in agents])
            results = []
            for round_no in (1, 2):
                with perf.trace_execution_time(f"round_{round_no}", component="orchestrator"):
                    results += await asyncio.gather(
                        *(a.step(f"round {round_no} of market research") for a in agents))
            run.set_tag("results", len(results))
            flow.trace_data_output("run_workflow", [r["answer"] for r in results],
                                   component="orchestrator")
    server.close()
    await server.wait_closed()
    print(f"langswarm_demo.py: {len(results)} agent steps, {llm.calls} LLM calls "
          f"(1 rate-limited and retried)")


if __name__ == "__main__":
    asyncio.run(main())
