"""Helpers of the observability tests: reading Prometheus text, running a broker under gunicorn."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

HERE = Path(__file__).resolve().parent
RUN_SCRIPT = HERE / "run_gated_broker.py"

USER, PASSWORD = "broker-obs", "Obs-Broker-Pa55word-7d3f"


# --------------------------------------------------------------- Prometheus text


def samples(text: str) -> list[Sample]:
    """Every sample of a text exposition (parsing fails on malformed text)."""
    return [sample for family in text_string_to_metric_families(text) for sample in family.samples]


def value(text: str, name: str, **labels: str) -> float:
    """The sum of the samples called ``name`` whose labels include ``labels`` (0 if none)."""
    return sum(
        sample.value
        for sample in samples(text)
        if sample.name == name and all(sample.labels.get(key) == want for key, want in labels.items())
    )


def label_values(text: str) -> set[str]:
    """Every label value of every sample."""
    return {item for sample in samples(text) for item in sample.labels.values()}


def scrape(url: str, **kwargs: Any) -> str:
    response = requests.get(url + "/metrics", timeout=10, **kwargs)
    assert response.status_code == 200, response.text
    return response.text


# ------------------------------------------------------------- gunicorn process


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def broker_env(folder: Path, state_url: str, port: int, **extra: str) -> dict[str, str]:
    """The environment of ``run_gated_broker.py``: the shared settings plus the gate folder."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("BROKER_", "PROMETHEUS_")) and key != "PORT"
    }
    env.update(
        {
            "BROKER_USERNAME": USER,
            "BROKER_PASSWORD": PASSWORD,
            "BROKER_STATE_URL": state_url,
            "BROKER_ALLOW_PLAINTEXT_STATE": "true",
            "BROKER_HOST": "127.0.0.1",
            "PORT": str(port),
            "GATED_DIR": str(folder),
        }
    )
    env.update(extra)
    return env


@dataclass
class BrokerProcess:
    """A broker served by ``serve`` (gunicorn) in a child process."""

    process: subprocess.Popen[bytes]
    url: str
    output: Path
    lines_seen: list[dict[str, Any]] = field(default_factory=list)

    def log_lines(self) -> list[dict[str, Any]]:
        """The JSON log lines written to stdout so far."""
        text = self.output.read_text(encoding="utf-8", errors="replace")
        return [json.loads(line) for line in text.splitlines() if line.startswith("{")]

    def terminate(self) -> None:
        self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout: float) -> int:
        return self.process.wait(timeout=timeout)


@contextmanager
def broker_process(folder: Path, env: dict[str, str]) -> Iterator[BrokerProcess]:
    """Start ``run_gated_broker.py`` and wait (bounded) until it answers; kill it at the end."""
    folder.mkdir(parents=True, exist_ok=True)
    output = folder / f"broker-{time.monotonic_ns()}.log"
    with output.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, str(RUN_SCRIPT)], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=folder
        )
    running = BrokerProcess(process, f"http://127.0.0.1:{env['PORT']}", output)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(running.url + "/health/live", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert process.poll() is None, output.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "the broker did not come up"
            time.sleep(0.1)
        yield running
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def wait_for(condition: Any, what: str, timeout: float = 20.0) -> Any:
    """Poll ``condition()`` until it returns something truthy (bounded); return that."""
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
