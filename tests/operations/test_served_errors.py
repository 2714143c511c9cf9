"""A request gunicorn itself cannot read is answered in problem+json too, by the served configuration.

One real `gunicorn -c gunicorn.conf.py wsgi:app` on a SQLite file, spoken to over a raw socket: what a
client sends that never reaches the app (a request line over the limit, a malformed header) gets the
status gunicorn gives it, with a problem+json body instead of gunicorn's HTML page.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pytest

from ..factories import ROOT

READY_WITHIN_S = 60


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ask(port: int, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send `raw`, read until the server closes: (status, headers, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(raw)
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    folder = tmp_path_factory.mktemp("served")
    port = _free_port()
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{folder / 'served.db'}", SECRET_KEY="served-errors-test",
               STAGECOACH_ADMIN_PASSWORD="served-errors-admin", STAGECOACH_JOBS_EMBEDDED="0",
               STAGECOACH_OUTBOX_DISPATCH="0")
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # gunicorn makes its own for the run
    log = open(folder / "gunicorn.log", "wb")  # noqa: SIM115 - open while the server runs
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "--workers", "1",
                             "--bind", f"127.0.0.1:{port}", "wsgi:app"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + READY_WITHIN_S
        while True:
            try:
                if _ask(port, b"GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")[0] == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail("gunicorn did not start:\n" + (folder / "gunicorn.log").read_text(errors="replace"))
            time.sleep(0.1)  # polling a starting process, not waiting for a timer
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _problem(status: int, headers: dict, body: bytes, expected: int) -> dict:
    assert status == expected, body
    assert headers["content-type"] == "application/problem+json"
    assert int(headers["content-length"]) == len(body)
    problem = json.loads(body)
    assert problem["status"] == expected and problem["title"] and problem["detail"]
    return problem


def test_a_request_line_over_the_limit_is_414_in_problem_json(served):
    path = "/engine-rest/process-instance?processInstanceIds=" + ",".join(["x" * 32] * 260)
    assert 8190 < len(path) + 14
    problem = _problem(*_ask(served, f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode()), 414)
    assert problem["title"] == "URI Too Long"


def test_a_request_line_within_gunicorns_largest_limit_reaches_the_app(served):
    ids = ",".join(["x" * 32] * 200)  # 6,600 characters: over gunicorn's default 4,094
    status, headers, body = _ask(served, f"GET /engine-rest/process-instance?processInstanceIds={ids} HTTP/1.1\r\n"
                                         "Host: x\r\nConnection: close\r\n\r\n".encode())
    assert status == 401, body  # the app answered: no credentials
    assert headers["content-type"] == "application/json"  # Camunda's error format, from the app


def test_a_malformed_header_is_400_in_problem_json(served):
    problem = _problem(*_ask(served, b"GET /health/live HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n"), 400)
    assert problem["title"] == "Bad Request"


def test_a_detail_quoting_what_the_client_sent_stays_json(served):
    problem = _problem(*_ask(served, b'GET /health/live HTTP/1.1\r\nHost: x\r\n"<b>\x01: y\r\n\r\n'), 400)
    assert isinstance(problem["detail"], str)


@pytest.mark.parametrize("chunks", [b"ZZ\r\nabc\r\n0\r\n\r\n", b"5\r\nabcdefgh\r\n0\r\n\r\n",
                                    b"2\r\n{}\r\n0\r\nBad Trailer\r\n\r\n"])
def test_a_malformed_chunked_body_is_400_where_the_app_reads_it(served, chunks):
    """gunicorn reads a chunked body only as the app asks for it: its error reaches the app, which answers
    400 in the shape of the API asked (and nothing is started)."""
    head = "Host: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    problem = _problem(*_ask(served, b"POST /api/v1/auth/token HTTP/1.1\r\n" + head.encode() + chunks), 400)
    assert "chunked body cannot be read" in problem["detail"]
    status, headers, body = _ask(served, b"POST /engine-rest/signal HTTP/1.1\r\nAuthorization: Basic eDp5\r\n"
                                 + head.encode() + chunks)
    assert status == 400 and headers["content-type"] == "application/json", body
    assert json.loads(body)["type"] == "InvalidRequestException"
