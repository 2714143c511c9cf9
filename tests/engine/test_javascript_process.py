"""V8 runs in child processes (`app.engine.javascript.process`): a script that makes V8 abort its process,
or that keeps a builtin busy past V8's termination, fails as that script's limit; the server process lives
on, the child that ran it is replaced, and the next script runs."""
from __future__ import annotations

import os
import signal

import pytest

from app.engine import ScriptError, ScriptLimitError
from app.engine.javascript import JavaScript, mark, unmark
from app.engine.javascript import process
from app.engine.limits import Limits

LIMITS = Limits(script_max_seconds=0.5, script_max_allocation=16 << 20)
LIMIT_SETTINGS = ("STAGECOACH_SCRIPT_MAX_ALLOCATION", "STAGECOACH_SCRIPT_MAX_SECONDS")


def run(js: JavaScript, source: str, data: dict | None = None) -> dict:
    data = dict(data or {})
    js.execute(unmark(mark(source)), data)
    return data


def idle_pids() -> set[int]:
    return {child.pid for child in process.POOL._idle}


@pytest.mark.parametrize("source", [
    "var a = new Array(1e9).fill(0);",  # V8 aborts its process: "invalid table size"
    "var a = []; a.length = 5e8; a.fill(1);",
    "var a = new Array(1e8).fill(0);",  # a builtin that V8's termination does not interrupt
], ids=["array-1e9", "length-5e8", "array-1e8"])
def test_a_script_that_kills_or_holds_v8_fails_at_its_limit_and_the_next_script_runs(source):
    js = JavaScript(LIMITS)
    assert run(js, "before = 1;") == {"before": 1}
    before = idle_pids()

    with pytest.raises(ScriptLimitError) as caught:
        run(js, source)

    assert any(name in str(caught.value) for name in LIMIT_SETTINGS)
    assert run(js, "after = x + 1;", {"x": 1}) == {"x": 1, "after": 2}
    assert not before <= idle_pids()  # the child that ran it is gone, a new one took its place


def test_a_child_killed_while_it_runs_a_script_is_a_memory_limit_and_the_pool_recovers(monkeypatch):
    js = JavaScript(LIMITS)
    assert run(js, "warm = 1;") == {"warm": 1}
    call, killed = process._Child.call, []

    def kill_then_call(child, request, seconds):
        if "code" in request and not killed:
            killed.append(child.pid)
            os.kill(child.pid, signal.SIGKILL)
        return call(child, request, seconds)

    monkeypatch.setattr(process._Child, "call", kill_then_call)
    with pytest.raises(ScriptLimitError) as caught:
        run(js, "x = 1;")

    assert "STAGECOACH_SCRIPT_MAX_ALLOCATION" in str(caught.value)
    assert killed and killed[0] not in idle_pids()
    assert run(js, "x = 2;") == {"x": 2}


def test_a_child_that_overruns_the_deadline_is_killed_and_the_script_times_out(monkeypatch):
    js = JavaScript(LIMITS)
    monkeypatch.setattr(process, "_GRACE_SECONDS", -0.45)  # the server gives up before V8 terminates it
    with pytest.raises(ScriptLimitError) as caught:
        run(js, "while (true) {}")

    assert "STAGECOACH_SCRIPT_MAX_SECONDS" in str(caught.value)
    monkeypatch.setattr(process, "_GRACE_SECONDS", 0.5)
    assert run(js, "x = 3;") == {"x": 3}


def test_a_script_error_keeps_its_child():
    js = JavaScript(LIMITS)
    run(js, "warm = 1;")
    before = idle_pids()
    with pytest.raises(ScriptError):
        run(js, "throw new Error('no');")
    assert before & idle_pids()


def test_a_forked_process_starts_children_of_its_own():
    js = JavaScript(LIMITS)
    run(js, "warm = 1;")
    inherited = idle_pids()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the forked process: it must not write to its parent's children
        try:
            ok = run(js, "x = 4;") == {"x": 4} and not (idle_pids() & inherited) and idle_pids()
            os.write(write, b"ok" if ok else b"no")
        finally:
            os._exit(0)
    os.close(write)
    answer = os.read(read, 2)
    os.waitpid(pid, 0)
    os.close(read)

    assert answer == b"ok"
    assert run(js, "y = 5;") == {"y": 5} and inherited & idle_pids()  # the parent keeps its own
