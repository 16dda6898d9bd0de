"""HTTP benchmark: GET /v2/catalog and GET last_operation, ours vs openbrokerapi vs raw WSGI.

Run (needs ``wrk``: ``apt-get install -y wrk``)::

    .venv/bin/python benchmarks/http_throughput.py [--seconds 5] [--warmup 2] [--rounds 7]
        [--connections 16] [--threads 4] [--variants flask-only,...] [--before DIR]

``--variants`` adds, as further apps of the same run, ours with one mechanism turned off
(``bench_apps.VARIANTS``; ``all`` for every one), and ``--before DIR`` ours as served by
another copy of the project (a folder holding its ``openbroker_aliyun``, ``examples``
and ``benchmarks/bench_apps.py``).

All the apps run under gunicorn with the same settings (2 gthread workers, 4 threads
each) on 127.0.0.1, started together; wrk loads one at a time (2 threads, 16
connections, a ``--warmup`` of load, then ``--seconds``; a measurement in which one
worker got (nearly) all the connections is taken again, see ``measure``). Every other
app is measured in a pair with ours, back to back on the same endpoint (which of the two
goes first alternates), and each round takes one pair per app and endpoint, in an order
that turns from round to round. The tables report each app's median, and the ratio of
each pair (ours ÷ the other) with their median: a pair compares two apps measured
seconds apart, so a slow spell of the shared machine hits both alike, and the median
drops the rounds it hit only in part.
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_apps import PASSWORD, USERNAME  # noqa: E402

INSTANCE = "bench-instance"
APPS = {"ours": "ours()", "openbrokerapi": "openbrokerapi_app()", "raw WSGI": "raw()"}
ENDPOINTS = {"catalog": "/v2/catalog", "last_operation": f"/v2/service_instances/{INSTANCE}/last_operation"}
AUTH = "Basic " + base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
HEADERS = {"X-Broker-API-Version": "2.17", "Authorization": AUTH}


@dataclass
class Result:
    rps: float
    p50_ms: float
    p99_ms: float


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare_state(state_url: str, key: str) -> None:
    """Provision the instance whose last_operation is polled, through our own app."""
    from benchmarks.bench_apps import ours

    os.environ["BENCH_STATE_URL"], os.environ["BENCH_KEY"] = state_url, key
    client = ours().test_client()
    service = client.get("/v2/catalog", headers=HEADERS).get_json()["services"][0]
    body = {"service_id": service["id"], "plan_id": service["plans"][0]["id"]}
    body |= {"organization_guid": "org", "space_guid": "space"}
    response = client.put(f"/v2/service_instances/{INSTANCE}", json=body, headers=HEADERS)
    if response.status_code not in (200, 201, 202):
        raise SystemExit(
            f"could not provision the benchmark instance: {response.status_code} {response.data!r}"
        )


@dataclass
class Served:
    url: str
    port: int
    master_pid: int


@contextmanager
def gunicorn(app: str, env: dict[str, str], threads: int = 4, cwd: Path = ROOT) -> Iterator[Served]:
    port = free_port()
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "--workers", "2", "--worker-class", "gthread", "--threads", str(threads),
        "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
        f"benchmarks.bench_apps:{app}",
    ]  # fmt: skip
    # gunicorn puts its working directory first on the path: the project copy it imports.
    process = subprocess.Popen(command, cwd=cwd, env={**env, "PYTHONPATH": str(cwd)})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(url + ENDPOINTS["catalog"], headers=HEADERS, timeout=5)
                break
            except requests.RequestException:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise SystemExit(f"{app} did not start") from None
                time.sleep(0.2)
        yield Served(url, port, process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(
    url: str, seconds: int, connections: int, served: Served | None = None
) -> tuple[Result, list[int]]:
    """One wrk run; with ``served``, also how its connections were spread over the workers."""
    headers = [arg for name, value in HEADERS.items() for arg in ("-H", f"{name}: {value}")]
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", *headers, url]
    wrk = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    split: list[int] = []
    if served is not None:
        time.sleep(min(1.0, seconds / 2))
        split = worker_split(served)
    out, _ = wrk.communicate(timeout=seconds + 60)
    if wrk.returncode != 0:
        raise SystemExit(f"wrk failed on {url}")
    if "Non-2xx or 3xx responses" in out:
        raise SystemExit(f"{url} answered errors under load:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    return Result(rps, p50, p99), split


def worker_split(served: Served) -> list[int]:
    """Established connections per gunicorn worker, most first (``ss`` of iproute2)."""
    workers = subprocess.run(["pgrep", "-P", str(served.master_pid)], capture_output=True, text=True)
    pids = set(workers.stdout.split())
    listing = subprocess.run(
        ["ss", "-tnpH", "state", "established", f"sport = :{served.port}"], capture_output=True, text=True
    ).stdout
    counts = Counter(pid for pid in re.findall(r"pid=(\d+)", listing) if pid in pids)
    return sorted(counts.values(), reverse=True)


MAX_TRIES = 5  # measurements of one app and endpoint in a round, at most


def measure(served: Served, path: str, seconds: int, connections: int) -> tuple[Result, list[int], int]:
    """A measurement with both workers busy (up to 5 tries), the split, the tries.

    Which worker accepts each of wrk's connections is a race: now and then one worker gets
    all or nearly all of them (16/0, 15/1), and the run measures little more than one
    worker's capacity, for every app alike (one run: openbrokerapi 1599 req/s at 15/1,
    2390 at 9/7). Such a run says nothing about the app, so it is measured again until
    each worker holds at least a quarter of the connections.
    """
    tries = 0
    while True:
        tries += 1
        result, split = run_wrk(served.url + path, seconds, connections, served)
        if (len(split) >= 2 and split[-1] >= connections // 4) or tries == MAX_TRIES:
            return result, split, tries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2, help="seconds of load before each measurement")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--variants", default="", help="comma-separated bench_apps.VARIANTS, or 'all'")
    parser.add_argument("--before", type=Path, help="another copy of the project, served as the app 'before'")
    parser.add_argument("--endpoints", default=",".join(ENDPOINTS), help="comma-separated, of: %(default)s")
    args = parser.parse_args()
    endpoints = {name: ENDPOINTS[name] for name in args.endpoints.split(",")}
    # A SIGTERM (a stopped run) unwinds like Ctrl-C: the gunicorn servers are stopped too.
    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(f"stopped by signal {number}"))
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    from benchmarks.bench_apps import VARIANTS

    variants = list(VARIANTS) if args.variants == "all" else [v for v in args.variants.split(",") if v]
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        raise SystemExit(f"unknown variants {sorted(unknown)}; known: {', '.join(VARIANTS)}")
    apps: dict[str, tuple[str, Path]] = {name: (app, ROOT) for name, app in APPS.items()}
    apps |= {f"ours {name}": (f"variant({name!r})", ROOT) for name in variants}
    if args.before is not None:
        apps["before"] = ("ours()", args.before.resolve())

    from openbroker_aliyun.store.encryption import generate_key

    workdir = tempfile.mkdtemp(prefix="bench-")
    state_url, key = f"sqlite:///{workdir}/state.db", generate_key()
    prepare_state(state_url, key)
    env = {**os.environ, "BENCH_STATE_URL": state_url, "BENCH_KEY": key}

    load_before = _load()
    pairs: dict[tuple[str, str], list[Pair]] = {}
    others = [name for name in apps if name != "ours"]
    with ExitStack() as stack:
        # All serve from the start (an idle one costs nothing), so that each round
        # measures every app back to back with ours, in an order that turns.
        servers = {
            name: stack.enter_context(gunicorn(app, env, args.threads, cwd))
            for name, (app, cwd) in apps.items()
        }
        for name, served in servers.items():
            for path in ENDPOINTS.values():
                check = requests.get(served.url + path, headers=HEADERS, timeout=5)
                if check.status_code != 200:
                    raise SystemExit(f"{name} {path}: {check.status_code} {check.text}")
        for round_number in range(1, args.rounds + 1):
            turn = (round_number - 1) % len(others)
            for endpoint, path in endpoints.items():
                for index, other in enumerate(others[turn:] + others[:turn]):
                    # Ours and the other seconds apart, each first in every other pair.
                    order = ("ours", other) if (round_number + index) % 2 == 0 else (other, "ours")
                    got: dict[str, Result] = {}
                    for name in order:
                        run_wrk(servers[name].url + path, args.warmup, args.connections)
                        result, split, tries = measure(servers[name], path, args.seconds, args.connections)
                        got[name] = result
                        print(f"round {round_number} {name:28} {endpoint:15} {result.rps:9.0f} req/s "
                              f"p50 {result.p50_ms:6.2f} ms p99 {result.p99_ms:6.2f} ms "
                              f"connections per worker {split} (try {tries})", flush=True)  # fmt: skip
                    pairs.setdefault((other, endpoint), []).append((got["ours"], got[other]))

    print(f"\nload average (1, 5, 15 min): before {load_before}, after {_load()}; {os.cpu_count()} CPUs")
    report(pairs, others, list(endpoints))


#: A measurement of ours and one of another app, taken back to back.
Pair = tuple[Result, Result]


def report(pairs: dict[tuple[str, str], list[Pair]], others: list[str], endpoints: list[str]) -> None:
    """Each app's medians; the ratio of each pair (ours ÷ the other app, req/s), their median."""
    print("\n| endpoint | app | req/s | p50 ms | p99 ms |")
    print("| --- | --- | ---: | ---: | ---: |")
    for endpoint in endpoints:
        ours = [pair[0] for other in others for pair in pairs[(other, endpoint)]]
        for name, runs in [("ours", ours)] + [
            (o, [pair[1] for pair in pairs[(o, endpoint)]]) for o in others
        ]:
            print(
                f"| {endpoint} | {name} | {statistics.median(r.rps for r in runs):.0f} "
                f"| {statistics.median(r.p50_ms for r in runs):.2f} | {statistics.median(r.p99_ms for r in runs):.2f} |"
            )
    print(
        "\nPer round, ours ÷ the app from measurements seconds apart (single rounds in brackets),"
        "\nand the app ÷ openbrokerapi that follows (ours ÷ openbrokerapi ÷ ours ÷ app, per round):\n"
    )
    print("| endpoint | app | ours ÷ app | app ÷ openbrokerapi (≥ 1.3) | p99 ms, app / openbrokerapi |")
    print("| --- | --- | --- | --- | --- |")
    for endpoint in endpoints:
        theirs = [o.rps / t.rps for o, t in pairs[("openbrokerapi", endpoint)]]
        theirs_p99 = statistics.median(t.p99_ms for _, t in pairs[("openbrokerapi", endpoint)])
        for name in others:
            ours_versus = [o.rps / a.rps for o, a in pairs[(name, endpoint)]]
            versus_theirs = [t / v for t, v in zip(theirs, ours_versus, strict=True)]
            p99 = statistics.median(a.p99_ms for _, a in pairs[(name, endpoint)])
            print(
                f"| {endpoint} | {name} | **{statistics.median(ours_versus):.2f}** ({_listed(ours_versus)}) "
                f"| **{statistics.median(versus_theirs):.2f}** ({_listed(versus_theirs)}) "
                f"| {p99:.2f} / {theirs_p99:.2f} |"
            )
        ours_p99 = statistics.median(o.p99_ms for o, _ in pairs[("openbrokerapi", endpoint)])
        print(f"| {endpoint} | ours | 1 | **{statistics.median(theirs):.2f}** ({_listed(theirs)}) "
              f"| {ours_p99:.2f} / {theirs_p99:.2f} |")  # fmt: skip


def _listed(ratios: list[float]) -> str:
    return " ".join(f"{ratio:.2f}" for ratio in ratios)


def _load() -> str:
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


if __name__ == "__main__":
    main()
