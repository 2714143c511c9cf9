"""Measure what authentication costs a running server: HTTP Basic and bearer requests per second,
and a legitimate request's latency while anonymous clients send wrong passwords.

Start a server first (./scripts/serve.sh, or gunicorn on another port), then:

    .venv/bin/python scripts/bench_auth.py --url http://127.0.0.1:5000 --password "$ADMIN_PASSWORD"

It only talks to the URL it is given, for a bounded number of seconds per measurement. The
attackers all come from this machine's address, as one misbehaving client would.
"""
from __future__ import annotations

import argparse
import statistics
import threading
import time

import requests


def rate(session: requests.Session, url: str, seconds: float, **kw) -> tuple[float, dict[int, int]]:
    """Sequential requests for `seconds`: requests per second and the count of each status."""
    statuses: dict[int, int] = {}
    done, end = 0, time.monotonic() + seconds
    start = time.monotonic()
    while time.monotonic() < end:
        status = session.get(url, **kw).status_code
        statuses[status] = statuses.get(status, 0) + 1
        done += 1
    return done / (time.monotonic() - start), statuses


def under_attack(base: str, user: str, password: str, attackers: int, seconds: float) -> tuple[list, dict]:
    """Latencies of a legitimate Basic request, in order, while `attackers` threads send wrong passwords."""
    stop = threading.Event()
    attacker_statuses: dict[int, int] = {}
    lock = threading.Lock()

    def attack(n: int) -> None:
        with requests.Session() as s:
            while not stop.is_set():
                status = s.get(f"{base}/engine-rest/task",
                               auth=(f"nobody{n}", "wrong-password"), timeout=30).status_code
                with lock:
                    attacker_statuses[status] = attacker_statuses.get(status, 0) + 1

    threads = [threading.Thread(target=attack, args=(n,), daemon=True) for n in range(attackers)]
    for t in threads:
        t.start()
    latencies = []
    try:
        with requests.Session() as s:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                began = time.monotonic()
                s.get(f"{base}/engine-rest/task", auth=(user, password), timeout=30)
                latencies.append(time.monotonic() - began)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=35)
    return latencies, attacker_statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:5000")
    parser.add_argument("--user", default="admin")
    parser.add_argument("--password", required=True)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--attackers", type=int, default=16)
    parser.add_argument("--attack-seconds", type=float, default=30.0)
    args = parser.parse_args()
    base = args.url.rstrip("/")

    with requests.Session() as s:
        token = s.post(f"{base}/api/v1/auth/token", json={"username": args.user, "password": args.password},
                       timeout=30).json()["token"]
        basic, statuses = rate(s, f"{base}/engine-rest/task", args.seconds, auth=(args.user, args.password))
        print(f"HTTP Basic  GET /engine-rest/task: {basic:7.1f} requests/s {statuses}")
        bearer, statuses = rate(s, f"{base}/api/v1/tasks", args.seconds,
                                headers={"Authorization": f"Bearer {token}"})
        print(f"bearer      GET /api/v1/tasks:     {bearer:7.1f} requests/s {statuses}")
    latencies, attackers = under_attack(base, args.user, args.password, args.attackers, args.attack_seconds)
    half = latencies[len(latencies) // 2:]
    print(f"legitimate Basic requests with {args.attackers} clients sending wrong passwords for "
          f"{args.attack_seconds:.0f} s: {len(latencies)} done, median {statistics.median(latencies) * 1000:.0f} ms "
          f"(second half {statistics.median(half) * 1000:.0f} ms); the attackers' answers {attackers}")


if __name__ == "__main__":
    main()
