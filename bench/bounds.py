"""Bounded execution: time and peak memory of each former attack, now refused by a limit.

Each attack runs in a fresh Python process (so its peak resident memory is its own) through
`app.engine.Engine` with the default limits, as the server would run it: a script in the
sandbox, or a diagram started and run until it waits. Prints one row per attack: what stopped
it (the setting the message names), the wall time of the refused run and the process's peak RSS.

    python bench/bounds.py              # every attack
    python bench/bounds.py mi-33000     # one
"""
from __future__ import annotations

import json
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SCRIPTS = {
    "300-MB-string": "blob = 'x' * 300_000_000",
    "huge-list": "blob = [0] * 10**9",
    "list-of-range": "blob = list(range(10**9))",
    "power-tower": "blob = 10**10**8",
    "zfill": "blob = '1'.zfill(10**9)",
    "percent-width": "blob = '%(a)999999999s' % {'a': 1}",
    "to-bytes": "blob = (1).to_bytes(10**9, 'big')",
    "translate": "blob = ('a' * 100000).translate({97: 'b' * 100000})",
    "f-string-doubling": "blob = 'x'\nfor i in range(40):\n    blob = f'{blob}{blob}'",
    "unpacking-doubling": "blob = [0]\nfor i in range(40):\n    blob = [*blob, *blob]",
    "lists-in-a-loop": "blob = [[0] * 99999 for i in range(1000)]",
    "shared-nesting-stored": "blob = [0]\nfor i in range(60):\n    blob = [blob, blob]",
    "shared-nesting-compared": "a = [0]\nb = [0]\nfor i in range(60):\n    a = [a, a]\n    b = [b, b]\nx = a == b",
    "wide-sharing-printed": "a = [0]\nfor i in range(4):\n    a = [a] * 1000\nx = str(a)",
    "round-digits": "x = round(5, -10**8)",
    "sum-of-lists": "x = sum([[0]] * 99999, [])",  # within the limits: runs, in linear time
}
MULTI_INSTANCE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="fan_out" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="work"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>count</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work" />
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""
ATTACKS = [*SCRIPTS, "mi-33000"]


def run_one(name: str) -> dict:
    from app.engine import Engine

    engine = Engine()
    started = time.perf_counter()
    if name == "mi-33000":
        [model] = engine.parse([("fan_out.bpmn", MULTI_INSTANCE.encode())])
        wf = engine.new_workflow("fan_out:1", model.dialect, engine.dump_spec(model), {"count": 33_000})
        outcome = engine.runner.advance(wf)
        message = outcome.incident.message if outcome.incident else f"ran: {len(outcome.open_tasks)} tasks"
    else:
        try:
            engine.script_engine.sandbox.execute(SCRIPTS[name], {})
            message = "ran"
        except Exception as exc:  # the refusal being measured
            message = f"{type(exc).__name__}: {exc}"
    seconds = time.perf_counter() - started
    setting = re.findall(r"STAGECOACH_[A-Z_]+", message)
    return {"attack": name, "stopped_by": setting[-1] if setting else message[:40], "ms": round(seconds * 1000, 1),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}


def main(names: list[str]) -> None:
    print(f"{'attack':26} {'stopped by':40} {'ms':>8} {'peak RSS MB':>12}")
    for name in names or ATTACKS:
        out = subprocess.run([sys.executable, __file__, "--one", name], capture_output=True, text=True, timeout=300)
        row = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{row['attack']:26} {row['stopped_by']:40} {row['ms']:>8} {row['peak_rss_mb']:>12}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        print(json.dumps(run_one(sys.argv[2])))
    else:
        main(sys.argv[1:])
