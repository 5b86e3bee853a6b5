"""Per-task kernel figures under asyncio: the event-loop hook that marks
each step of a task.

Two tasks on one event loop, each inside its own span, interleave at every
``await``.  The kernel counts CPU time, faults and I/O per thread, so a
span measured from its begin to its end would include the other task's
work.  Instead, each step of a task (one resumption of its coroutine, up to
its next ``await``) fires ``langswarm:task_resume`` and
``langswarm:task_suspend`` with a key of the task, and BPF counts a span's
figures only while the task that began it runs (bpf/task_steps.bpf.h).

The steps are marked by wrapping the task's coroutine in :class:`TaskSteps`
when the task is created: an event-loop task factory does it, installed on
every new event loop when ``lstrace`` is imported while a recorder is
attached, and on a running loop at the first span recorded in it.  It wraps
only while a recorder is attached, and a step fires the probes only while its task holds a
recorded span: with no recorder a task costs one Python call more at its
creation and nothing per step.  Tasks created before the
hook (a recorder attached later, by ``-p``) are not stepped: their spans
keep per-thread figures, and the records say which are which
(``resources.per_task``).
"""

import collections.abc
import sys

from . import _native

__all__ = ["TaskSteps", "install", "hook_new_loops", "hook_running_loop", "span_begins"]

_resume = _native.task_resume
_suspend = _native.task_suspend


class TaskSteps(collections.abc.Coroutine):
    """A task's coroutine, each of whose ``send``/``throw`` calls (one step)
    is marked with the task-step probes while the task holds a recorded
    span: a step of a task without one costs no probe hit.  The first span
    a task begins marks its step from there (:func:`span_begins`).  Anything
    else is the wrapped coroutine's (``cr_code``, ``__qualname__``, ... for
    the task's repr)."""

    __slots__ = ("_coro", "open_spans", "announced")

    def __init__(self, coro):
        self._coro = coro
        self.open_spans = 0  # recorded spans begun in this task, not ended
        self.announced = False  # task_resume fired for the step running now

    def _step(self, method, *args):
        if self.open_spans:
            _resume(id(self))
            self.announced = True
        try:
            return method(*args)
        finally:
            if self.announced:
                self.announced = False
                _suspend(id(self))

    def send(self, value):
        return self._step(self._coro.send, value)

    def throw(self, *args):
        return self._step(self._coro.throw, *args)

    def close(self):
        return self._coro.close()

    def __await__(self):
        return self._coro.__await__()

    def __getattr__(self, name):
        return getattr(self._coro, name)

    def __repr__(self):
        return repr(self._coro)


def _factory(previous):
    """A task factory that wraps each new task's coroutine while a recorder
    is attached, then hands over to `previous` (the loop's own factory, if
    the application had set one) or makes a plain Task."""
    import asyncio

    def lstrace_task_factory(loop, coro, **kwargs):
        if _native.enabled() and not isinstance(coro, TaskSteps):
            coro = TaskSteps(coro)
        if previous is not None:
            return previous(loop, coro, **kwargs)
        return asyncio.Task(coro, loop=loop, **kwargs)

    lstrace_task_factory.lstrace_previous = previous
    return lstrace_task_factory


def install(loop):
    """Installs the task-step hook on `loop` (once; an application factory
    already there is kept and called by it).  An application that sets its
    own factory afterwards replaces it: its tasks then get per-thread
    figures."""
    current = loop.get_task_factory()
    if current is None or not hasattr(current, "lstrace_previous"):
        loop.set_task_factory(_factory(current))


def hook_new_loops():
    """Every event loop made from now on (``asyncio.run``, ``new_event_loop``)
    gets the hook as it is made, so even its first task is stepped."""
    import asyncio

    policy = asyncio.get_event_loop_policy()
    make = policy.new_event_loop
    if getattr(make, "lstrace_hooked", False):
        return

    def new_event_loop():
        loop = make()
        install(loop)
        return loop

    new_event_loop.lstrace_hooked = True
    policy.new_event_loop = new_event_loop


_hooked_loop = None


def hook_running_loop():
    """Installs the hook on the event loop running in this thread, if any
    (once per loop), and returns that loop (None: no loop runs here)."""
    global _hooked_loop
    asyncio = sys.modules.get("asyncio")
    if asyncio is None:
        return None
    loop = asyncio.events._get_running_loop()
    if loop is not None and loop is not _hooked_loop:
        install(loop)
        _hooked_loop = loop
    return loop


def span_begins():
    """Called as a recorded span begins.  Hooks the running loop (tasks
    created from now on are stepped) and returns the stepped task the span
    begins in, or None; that task's step is marked as running from here if
    it was not yet."""
    if hook_running_loop() is None:
        return None
    task = sys.modules["asyncio"].current_task()
    steps = task.get_coro() if task is not None else None
    if not isinstance(steps, TaskSteps):
        return None
    if not steps.announced:
        _resume(id(steps))
        steps.announced = True
    steps.open_spans += 1
    return steps
