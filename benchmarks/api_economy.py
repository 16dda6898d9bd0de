"""API economy of the RDS broker: Alibaba calls while a platform polls many creations.

Run it (about two minutes with the defaults)::

    .venv/bin/python benchmarks/api_economy.py

What it does: starts the Alibaba Cloud emulator (``aliyun-emulator``, metadata only,
every create taking ``--create-seconds``) and the broker (``rds-broker``, one gunicorn
worker, SQLite state) as their own processes, as in production. It provisions ``--instances`` MySQL instances at once, then
acts as a platform that polls each instance's last_operation every ``--poll-seconds``,
until all of them succeeded. It counts every Alibaba call with the emulator's admin API
(``/_emulator/calls``) once a second, and records when each instance became Running (the
emulator's ``/_emulator/instances``) and when the platform first saw it ``succeeded``.

Reported: Alibaba calls per minute while the instances are being created (the polling
cost; a naive broker describing the instance on each poll makes instances x 60 / poll
interval), the busiest minute over the whole run (which includes the one-off
CreateDBInstance burst), the delay between Running and ``succeeded`` as the platform saw
it, and the calls of one full lifecycle (provision, bind, unbind, update, deprovision).
The results go to stdout as a Markdown table (for docs/performance.md).
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests
from aliyun_brokers.common.cli import emulator_settings
from aliyun_brokers.common.naming import TAG_INSTANCE
from aliyun_brokers.rds.broker import RdsBroker
from aliyun_brokers.rds.settings import RdsSettings

from openbroker_aliyun.aliyun.sdk_client import SdkAliyunClient
from openbroker_aliyun.config import Credential
from openbroker_aliyun.emulator import EmulatorConfig, EmulatorServer
from openbroker_aliyun.emulator.admin_client import EmulatorAdmin
from openbroker_aliyun.engine import DriverSettings
from openbroker_aliyun.store.encryption import generate_key
from openbroker_aliyun.testing.client import OSBClient, PollingPolicy
from openbroker_aliyun.testing.servers import broker_server

KEY_ID, KEY_SECRET = "bench", secrets.token_urlsafe(16)
MYSQL_SERVICE = "da672c0b-e683-47c9-b7da-7ab6f26cbebf"
SMALL, MEDIUM = "e8a9bc3e-01f7-445c-8083-f74f6ee760e7", "688cb684-20d0-4648-98c3-40bab6507744"


def _settings(emulator_url: str, state_dir: str, refresh: float) -> RdsSettings:
    return emulator_settings(
        RdsSettings,
        emulator_url,
        access_key_id=KEY_ID,
        access_key_secret=KEY_SECRET,
        state_dir=state_dir,
        credentials=(Credential(username="bench", password=secrets.token_urlsafe(16)),),
        log_level="WARNING",
        broker_id="bench",
        security_ips=("10.0.0.0/8",),
        refresh_seconds=refresh,
        postgres_shared_ownership=False,
    )


def _calls(admin: EmulatorAdmin) -> Counter[str]:
    """The RDS calls so far, per action."""
    return Counter({action: entry["total"] for action, entry in admin.calls().items()})


def _statuses(admin: EmulatorAdmin) -> dict[str, str]:
    """OSB instance id → the status of its RDS instance."""
    return {i["Tags"].get(TAG_INSTANCE, ""): i["DBInstanceStatus"] for i in admin.instances()}


class Sampler(threading.Thread):
    """Once a second: the cumulative calls per action, and who is Running."""

    def __init__(self, admin: EmulatorAdmin) -> None:
        super().__init__(daemon=True)
        self.admin = admin
        self.samples: list[tuple[float, Counter[str]]] = []
        self.running_at: dict[str, float] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            now = time.monotonic()
            for osb_id, status in _statuses(self.admin).items():
                if status == "Running" and osb_id not in self.running_at:
                    self.running_at[osb_id] = now
            self.samples.append((now, _calls(self.admin)))
            self.stop.wait(max(0.0, now + 1.0 - time.monotonic()))

    def calls_between(self, start: float, end: float) -> Counter[str]:
        before = next((c for t, c in reversed(self.samples) if t <= start), Counter())
        after = next((c for t, c in reversed(self.samples) if t <= end), self.samples[-1][1])
        return after - before

    def busiest_minute(self) -> int:
        best = 0
        for index, (start, counts) in enumerate(self.samples):
            later = [c for t, c in self.samples[index:] if t - start <= 60.0]
            best = max(best, sum((later[-1] - counts).values()))
        return best


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(url: str, process: subprocess.Popen[bytes], what: str) -> None:
    session = requests.Session()
    session.trust_env = False
    for _ in range(1200):
        try:
            if session.get(url, timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        if process.poll() is not None:
            raise SystemExit(f"{what} exited with status {process.returncode}")
        time.sleep(0.1)
    raise SystemExit(f"{what} did not start")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


def economy(instances: int, create_seconds: float, poll_seconds: float, refresh: float) -> dict[str, Any]:
    """The emulator and ``rds-broker`` as their own processes, as in production."""
    bin_dir = Path(sys.executable).parent
    emulator_port, broker_port = _free_port(), _free_port()
    emulator_url, broker_url = f"http://127.0.0.1:{emulator_port}", f"http://127.0.0.1:{broker_port}"
    password = secrets.token_urlsafe(16)
    clean = {k: v for k, v in os.environ.items() if "PROXY" not in k.upper()}
    with tempfile.TemporaryDirectory() as state_dir:
        emulator = subprocess.Popen(
            [
                str(bin_dir / "aliyun-emulator"),
                "--port", str(emulator_port),
                "--access-key-id", KEY_ID,
                "--create-seconds", str(create_seconds),
                "--log-level", "WARNING",
            ],
            env={**clean, "ALIYUN_EMULATOR_ACCESS_KEY_SECRET": KEY_SECRET},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        broker_env = {
            **clean,
            "BROKER_USERNAME": "bench",
            "BROKER_PASSWORD": password,
            "BROKER_STATE_URL": f"sqlite:///{Path(state_dir) / 'state.db'}",
            "BROKER_ENCRYPTION_KEYS": generate_key(),
            "BROKER_WORKERS": "1",
            "BROKER_THREADS": "8",
            "BROKER_LOG_LEVEL": "WARNING",
            "ALIBABA_CLOUD_ACCESS_KEY_ID": KEY_ID,
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": KEY_SECRET,
            "ALIBABA_CLOUD_REGION_ID": "cn-hangzhou",
            "ALIBABA_CLOUD_ENDPOINT": emulator_url,
            "BROKER_ID": "bench",
            "BROKER_VPC_ID": "vpc-bench",
            "BROKER_VSWITCH_ID": "vsw-bench",
            "BROKER_ZONE_ID": "cn-hangzhou-h",
            "BROKER_SECURITY_IPS": "10.0.0.0/8",
            "BROKER_REFRESH_SECONDS": str(refresh),
        }
        broker = None
        try:
            _wait_for(f"{emulator_url}/_emulator/health", emulator, "aliyun-emulator")
            broker = subprocess.Popen(
                [str(bin_dir / "rds-broker"), "--host", "127.0.0.1", "--port", str(broker_port)],
                env=broker_env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            _wait_for(f"{broker_url}/health/live", broker, "rds-broker")
            return _measure(
                emulator_url, broker_url, password, instances, create_seconds, poll_seconds, refresh
            )
        finally:
            if broker is not None:
                _stop(broker)
            _stop(emulator)


def _measure(
    emulator_url: str,
    broker_url: str,
    password: str,
    instances: int,
    create_seconds: float,
    poll_seconds: float,
    refresh: float,
) -> dict[str, Any]:
    admin = EmulatorAdmin(emulator_url, "rds")
    sampler = Sampler(admin)
    sampler.start()
    local = threading.local()

    def client() -> OSBClient:
        if not hasattr(local, "client"):
            local.client = OSBClient(broker_url, "bench", password)
        return local.client  # type: ignore[no-any-return]

    ids = [str(uuid.uuid4()) for _ in range(instances)]
    succeeded_at: dict[str, float] = {}
    polls = 0
    reconnects = [0]
    try:
        with ThreadPoolExecutor(max_workers=16) as pool:
            started = time.monotonic()
            statuses = list(
                pool.map(lambda osb_id: client().provision(osb_id, MYSQL_SERVICE, SMALL).status, ids)
            )
            if set(statuses) != {202}:
                raise SystemExit(f"provision answers: {Counter(statuses)}")

            def poll(osb_id: str) -> None:
                for attempt in range(3):
                    try:
                        state = client().last_operation(osb_id).json["state"]
                        break
                    except requests.ConnectionError:
                        # gunicorn closes idle keep-alive connections; a platform retries.
                        reconnects[0] += 1
                        if attempt == 2:
                            raise
                if state == "succeeded":
                    succeeded_at.setdefault(osb_id, time.monotonic())
                elif state == "failed":
                    raise SystemExit(f"provision of {osb_id} failed")

            # The platform: each instance polled every poll_seconds, spread evenly.
            deadline = started + create_seconds + 600
            next_round = time.monotonic()
            while len(succeeded_at) < instances and time.monotonic() < deadline:
                pending = [osb_id for osb_id in ids if osb_id not in succeeded_at]
                futures = []
                for index, osb_id in enumerate(pending):
                    time.sleep(max(0.0, next_round + index * poll_seconds / len(pending) - time.monotonic()))
                    futures.append(pool.submit(poll, osb_id))
                    polls += 1
                for future in futures:
                    future.result()
                next_round += poll_seconds
                time.sleep(max(0.0, next_round - time.monotonic()))
            finished = time.monotonic()
    finally:
        sampler.stop.set()
        sampler.join(timeout=10)
    creates_done = next(t for t, c in sampler.samples if c["CreateDBInstance"] >= instances)
    first_running = min(sampler.running_at.values())
    window = first_running - creates_done
    waiting_calls = sampler.calls_between(creates_done, first_running)
    delays = [
        succeeded_at[i] - sampler.running_at[i] for i in ids if i in sampler.running_at and i in succeeded_at
    ]
    return {
        "instances": instances,
        "succeeded": len(succeeded_at),
        "polls": polls,
        "reconnects": reconnects[0],
        "duration": finished - started,
        "window": window,
        "waiting_calls": waiting_calls,
        "waiting_per_minute": sum(waiting_calls.values()) * 60.0 / window if window > 0 else float("nan"),
        "naive_per_minute": instances * 60.0 / poll_seconds,
        "busiest_minute": sampler.busiest_minute(),
        "total_calls": sum(sampler.samples[-1][1].values()),
        "delay_max": max(delays) if delays else float("nan"),
        "delay_median": statistics.median(delays) if delays else float("nan"),
        "expected_describes_per_minute": math.ceil(instances / 100) * 60.0 / refresh,
    }


def lifecycle_calls() -> Counter[str]:
    """Alibaba calls of one MySQL instance's whole life, with instant emulator durations."""
    config = EmulatorConfig.instant(access_keys={KEY_ID: KEY_SECRET})
    with EmulatorServer(config) as emulator, tempfile.TemporaryDirectory() as state_dir:
        settings = _settings(emulator.url, state_dir, 1.0)
        broker = RdsBroker(settings, SdkAliyunClient(settings.aliyun()))
        polling = PollingPolicy(interval=0.1, interval_cap=1)
        driver = DriverSettings(poll_interval=0.05)
        with broker_server(broker, settings, driver=driver, polling=polling) as (_, client):
            osb_id, binding_id = str(uuid.uuid4()), str(uuid.uuid4())
            client.provision_and_wait(osb_id, MYSQL_SERVICE, SMALL)
            client.bind_and_wait(osb_id, binding_id, MYSQL_SERVICE, SMALL)
            client.unbind_and_wait(osb_id, binding_id, MYSQL_SERVICE, SMALL)
            client.update_and_wait(osb_id, MYSQL_SERVICE, plan_id=MEDIUM, previous_plan_id=SMALL)
            client.deprovision_and_wait(osb_id, MYSQL_SERVICE, MEDIUM)
        return _calls(EmulatorAdmin(emulator.url, "rds"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=200)
    parser.add_argument(
        "--create-seconds",
        type=float,
        default=75.0,
        help="emulated creation time (> 60 s: a whole minute of waiting)",
    )
    parser.add_argument("--poll-seconds", type=float, default=5.0, help="the platform's polling interval")
    parser.add_argument("--refresh-seconds", type=float, default=5.0, help="the broker's refresh_seconds")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        os.environ.pop(name, None)

    result = economy(args.instances, args.create_seconds, args.poll_seconds, args.refresh_seconds)
    life = lifecycle_calls()
    out = sys.stdout
    print(
        f"## API economy: {result['instances']} MySQL instances, polled every {args.poll_seconds:g} s",
        file=out,
    )
    print(file=out)
    print(
        f"Emulated creation {args.create_seconds:g} s, broker `refresh_seconds` {args.refresh_seconds:g} s.",
        file=out,
    )
    print(file=out)
    print("| measure | value |", file=out)
    print("| --- | --- |", file=out)
    print(f"| instances that succeeded | {result['succeeded']} of {result['instances']} |", file=out)
    print(f"| last_operation polls answered | {result['polls']} ({result['reconnects']} retried) |", file=out)
    print(
        f"| Alibaba calls per minute while creating (measured over {result['window']:.0f} s) | "
        f"**{result['waiting_per_minute']:.0f}** ({dict(result['waiting_calls'])}) |",
        file=out,
    )
    print(f"| same for a naive broker (one describe per poll) | {result['naive_per_minute']:.0f} |", file=out)
    print(
        f"| expected: ceil(instances / 100) x 60 / refresh | {result['expected_describes_per_minute']:.0f} |",
        file=out,
    )
    print(
        f"| busiest minute of the run, all calls (includes the create burst) | {result['busiest_minute']} |",
        file=out,
    )
    print(f"| Alibaba calls in the whole run | {result['total_calls']} |", file=out)
    print(
        f"| Running → `succeeded` seen by the platform: median / max | "
        f"{result['delay_median']:.1f} s / **{result['delay_max']:.1f} s** |",
        file=out,
    )
    print(file=out)
    print(
        "## Alibaba calls of one full lifecycle (MySQL: provision, bind, unbind, update, deprovision)",
        file=out,
    )
    print(file=out)
    print("| action | calls |", file=out)
    print("| --- | --- |", file=out)
    for action, count in sorted(life.items()):
        print(f"| {action} | {count} |", file=out)
    print(f"| **total** | **{sum(life.values())}** |", file=out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
