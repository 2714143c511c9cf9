"""The server's side of V8: a pool of child processes (`child.py`), each running one request at a time.

A server process never holds V8 itself. It sends a request to an idle child and waits for the answer
until a deadline of its own (the script's time limit and a grace): past it, the child is killed and the
request is `Overran`, however V8 was busy (a builtin that ignores V8's termination). A child that ends
before it answers (a signal, V8's fatal out-of-memory abort) makes the request `Died`. Either way the
child is gone and the next request starts a new one; the server process lives on.

The pool belongs to one process: one that forks (gunicorn's workers, after the application was imported)
starts a pool of its own, never sharing a pipe with its parent. Children are started on first use; at exit
their input is closed, which ends them.
"""
from __future__ import annotations

import atexit
import json
import os
import select
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .prelude import LOCKDOWN

_CHILD = str(Path(__file__).with_name("child.py"))
_MAX_IDLE = 4  # children kept per server process
_START_SECONDS = 20.0  # a new child: interpreter, mini-racer and the lockdown
_GRACE_SECONDS = 0.5  # past the script's own limit, which the child enforces with V8's termination


class Died(Exception):
    """The child ended before it answered."""


class Overran(Exception):
    """The child did not answer before the deadline; it was killed."""


class _Child:
    def __init__(self) -> None:
        # -I: neither the environment's PYTHON* settings nor the working directory reach it
        self.proc = subprocess.Popen([sys.executable, "-I", _CHILD], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, bufsize=0, close_fds=True, start_new_session=True)
        self._pending = b""
        try:
            ready = self.call({"lockdown": LOCKDOWN}, _START_SECONDS)
        except (Died, Overran):
            ready = None
        if ready != {"ready": True}:
            self.close()
            raise OSError("the JavaScript process did not lock V8 down")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def call(self, request: dict, seconds: float) -> dict:
        """Send `request`, return the answer read within `seconds`."""
        deadline = time.monotonic() + seconds
        try:
            self.proc.stdin.write(json.dumps(request, separators=(",", ":")).encode() + b"\n")
        except OSError:  # a broken pipe: it is gone
            self.close()
            raise Died() from None
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._pending:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                self.close()
                raise Overran()
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                self.close()
                raise Died()
            self._pending += chunk
        line, self._pending = self._pending.split(b"\n", 1)
        return json.loads(line)

    def close(self) -> None:
        """Kill it and reap it."""
        if self.proc.poll() is None:
            self.proc.kill()
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass

    def end(self) -> None:
        """Let it finish: its input closes, it exits."""
        try:
            self.proc.stdin.close()
            self.proc.wait(2)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.close()


class Pool:
    """Idle children of this process, lent to one caller at a time."""

    def __init__(self) -> None:
        self._idle: list[_Child] = []
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._orphans: list[_Child] = []  # inherited through fork(): their pipes are the parent's

    def _own(self) -> None:
        if self._pid != os.getpid():
            self.forget()

    def forget(self) -> None:
        """After fork(): the children belong to the parent; never write to them, never kill them."""
        self._orphans.extend(self._idle)
        self._idle, self._pid = [], os.getpid()
        self._lock = threading.Lock()

    @contextmanager
    def child(self) -> Iterator[_Child]:
        """Lend a child (a new one if none is idle); it goes back to the pool if it is still alive."""
        self._own()
        with self._lock:
            child = self._idle.pop() if self._idle else None
        if child is None:
            child = _Child()
        answered = False
        try:
            yield child
            answered = True
        finally:  # one interrupted mid-request would answer the next request with this one's answer
            if answered and child.proc.returncode is None and not child.proc.stdout.closed:
                with self._lock:
                    if len(self._idle) < _MAX_IDLE and self._pid == os.getpid():
                        self._idle.append(child)
                        child = None
            if child is not None:
                child.close()

    def call(self, request: dict, seconds: float) -> dict:
        """Answer `request` in a child within `seconds` and a grace (raises Died, Overran)."""
        with self.child() as child:
            return child.call(request, seconds + _GRACE_SECONDS)

    def close_all(self) -> None:
        if self._pid != os.getpid():
            return
        with self._lock:
            idle, self._idle = self._idle, []
        for child in idle:
            child.end()


POOL = Pool()
atexit.register(POOL.close_all)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=POOL.forget)
