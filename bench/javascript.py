"""The cost of one JavaScript script run: a locked-down context in a pooled child process (the design: the
run and its answer cross a pipe), against a new context per run in this process, with the Python sandbox as
the yardstick.

Each mode runs the same small script (`total = amount * 2`, a branch, three variables in and out) N times
after a warm-up, in this process, one thread, and prints the median and 90th percentile in milliseconds:

- python:            `Sandbox.execute` (RestrictedPython), the yardstick;
- js pooled:         `JavaScript.execute` as the engine calls it (a child process's context: the run, then
                     the empty evaluation that lets leftover promise callbacks run on the script's time);
- js condition:      `JavaScript.evaluate` of a condition in a child process's context;
- js new context:    a new V8 context per run (mini-racer's own), with the same lockdown, then the run;
- js new, bare:      a new context and the run without the lockdown (its isolation is the new context alone,
                     but typed arrays would still take memory outside the heap limit).

    python bench/javascript.py          # N = 500
    python bench/javascript.py 2000
"""
from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from py_mini_racer import MiniRacer  # noqa: E402

from app.engine.javascript import JavaScript, mark, unmark  # noqa: E402
from app.engine.javascript.prelude import LOCKDOWN  # noqa: E402
from app.engine.javascript.runtime import _RUN_PREFIX, _SUFFIX  # noqa: E402
from app.engine.sandbox import Sandbox  # noqa: E402

DATA = {"amount": 7, "name": "ACME", "items": [1, 2, 3]}
PYTHON = "total = amount * 2\nif total > 10:\n    big = True\n"
JS = "total = amount * 2; if (total > 10) { big = true; }"


def timed(call, n: int) -> tuple[float, float]:
    for _ in range(min(50, n)):
        call()
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    samples.sort()
    return statistics.median(samples) * 1000, samples[int(len(samples) * 0.9)] * 1000


def new_context(lockdown: bool):
    code = (f"__stagecoach_run__({json.dumps(_RUN_PREFIX + JS + _SUFFIX)}, {json.dumps(json.dumps(DATA))}, "
            f"{json.dumps({'mode': 'script', 'maxOutput': 1 << 23, 'info': {}, 'typeofNames': []})})")

    def call():
        with MiniRacer() as racer:
            if lockdown:
                racer.eval(LOCKDOWN)
                racer.eval(code, timeout_sec=2)
            else:
                racer.eval(f"(function () {{ var amount = 7, total, big; total = amount * 2; if (total > 10) "
                           f"{{ big = true; }} return JSON.stringify({{amount, total, big}}); }})()", timeout_sec=2)
    return call


def main(argv: list[str]) -> int:
    n = int(argv[0]) if argv else 500
    sandbox = Sandbox()
    js = JavaScript()
    script, condition = unmark(mark(JS)), unmark(mark("amount > 5", kind="condition"))
    modes = {
        "python": lambda: sandbox.execute(PYTHON, dict(DATA)),
        "js pooled": lambda: js.execute(script, dict(DATA)),
        "js condition": lambda: js.evaluate(condition, dict(DATA)),
        "js new context": new_context(lockdown=True),
        "js new, bare": new_context(lockdown=False),
    }
    print(f"{'mode':<16} {'median ms':>10} {'p90 ms':>10}   ({n} runs each)")
    for name, call in modes.items():
        runs = n if "new" not in name else max(n // 5, 20)  # a new context per run is slow: fewer runs
        median, p90 = timed(call, runs)
        print(f"{name:<16} {median:>10.3f} {p90:>10.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
