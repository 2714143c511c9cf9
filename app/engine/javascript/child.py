"""The process that holds V8 for a server process: it runs the server's JavaScript, one request at a time.

Why a process of its own: some scripts make V8 abort the process that holds it (`new Array(1e9).fill(0)`:
"Fatal JavaScript out of memory: invalid table size", a SIGTRAP that no exception handler sees), and some
builtins do not stop when V8 is told to terminate (`new Array(1e8).fill(0)` ran 8.9 s past a 2 s limit).
In the server's process either would kill or hold a worker; here the server (`process.py`) sees this
process die or overrun, kills it and starts another.

It is started as a script by path (`python -I child.py`), so it imports nothing of the application, and
speaks JSON, one object a line: first it reads `{"lockdown": text}` and answers `{"ready": true}` once a
context is locked down; then each request is

    {"code": text, "seconds": limit, "heap": bytes or null, "fresh": bool, "drain": bool}

answered by `{"text": value}` (what the code returned), `{"thrown": message}` (an exception it threw: the
syntax check always throws) or `{"broken": "time" | "memory" | "error: ..."}` (a limit or a failure; that
context is closed). The end of its input (the server closed the pipe or exited) ends it.
"""
from __future__ import annotations

import asyncio
import json
import signal
import sys
import threading
import time

from py_mini_racer import JSEvalException, JSOOMException, JSTimeoutException, mini_racer

_MAX_USES = 10_000  # runs of one context before it is replaced


class _Context:
    """One V8 isolate with the lockdown run."""

    def __init__(self, loop: asyncio.AbstractEventLoop, lockdown: str) -> None:
        self._maker = mini_racer(loop)
        self.racer = self._maker.__enter__()
        self.uses = 0
        try:
            if self.racer.eval(lockdown, timeout_sec=10) is not True:
                raise RuntimeError("the JavaScript sandbox could not be locked down")
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        try:
            self._maker.__exit__(None, None, None)
        except Exception:  # noqa: BLE001 - a context that failed is dropped whatever it says
            pass


def _answer(request: dict, ctx: _Context) -> dict:
    racer = ctx.racer
    seconds = request["seconds"]
    if request.get("heap"):
        racer.set_hard_memory_limit(request["heap"])
    started = time.monotonic()
    try:
        text = racer.eval(request["code"], timeout_sec=seconds)
        if request.get("drain"):  # promise callbacks it left run now, on its time
            racer.eval("0", timeout_sec=max(seconds - (time.monotonic() - started), 0.05))
    except JSTimeoutException:
        return {"broken": "time"}
    except JSOOMException:
        return {"broken": "memory"}
    except JSEvalException as exc:
        if request.get("heap") and racer.was_hard_memory_limit_reached():
            return {"broken": "memory"}
        if not request.get("drain"):
            return {"thrown": str(exc)}
        return {"broken": f"error: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"}
    return {"text": text}


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server decides when this process ends
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, name="javascript-loop", daemon=True).start()
    first = sys.stdin.readline()
    if not first:
        return 0
    lockdown = json.loads(first)["lockdown"]
    out = sys.stdout
    idle: _Context | None = _Context(loop, lockdown)
    out.write('{"ready":true}\n')
    out.flush()
    for line in sys.stdin:
        request = json.loads(line)
        ctx, idle = (None, idle) if request.get("fresh") else (idle, None)
        try:
            ctx = ctx or _Context(loop, lockdown)
        except Exception as exc:  # noqa: BLE001 - told to the server as the script's error
            answer = {"broken": f"error: V8 could not start: {type(exc).__name__}: {exc}"}
        else:
            answer = _answer(request, ctx)
            ctx.uses += 1
            if "broken" in answer or ctx.uses >= _MAX_USES or idle is not None:
                ctx.close()
            else:
                idle = ctx
        out.write(json.dumps(answer, separators=(",", ":")) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
