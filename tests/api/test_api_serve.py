"""``serve`` under real gunicorn, and the package's public exports."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import requests
from api_support import provision_body
from gunicorn.workers.gthread import ThreadWorker

import openbroker_aliyun
from openbroker_aliyun.config import BrokerSettings, Credential
from openbroker_aliyun.serving import WORKER_TIMEOUT, gunicorn_options

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


SCRIPT = """
import os, sys
sys.path.insert(0, {tests!r})
from http_brokers import RecordingBroker
from openbroker_aliyun import create_app, load_settings, serve

settings = load_settings(os.environ)
serve(lambda: create_app(RecordingBroker(), settings), settings)
"""


@pytest.mark.slow
def test_serve_runs_gunicorn_and_stops_gracefully_on_sigterm(tmp_path: Path) -> None:
    port = _free_port()
    script = tmp_path / "run_broker.py"
    script.write_text(textwrap.dedent(SCRIPT.format(tests=str(HERE))))
    env = {
        **os.environ,
        "BROKER_USERNAME": "u",
        "BROKER_PASSWORD": "serve-Pa55word",
        "BROKER_STATE_URL": f"sqlite:///{tmp_path / 'state.db'}",
        "BROKER_ALLOW_PLAINTEXT_STATE": "true",
        "BROKER_HOST": "127.0.0.1",
        "PORT": str(port),
        "BROKER_WORKERS": "1",
        "BROKER_THREADS": "2",
        "BROKER_GRACEFUL_TIMEOUT": "5",
    }
    out_path, err_path = tmp_path / "stdout.log", tmp_path / "stderr.log"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, str(script)], env=env, stdout=out, stderr=err, cwd=tmp_path
        )
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    if requests.get(url + "/health/live", timeout=2).status_code == 200:
                        break
                except requests.ConnectionError:
                    pass
                assert process.poll() is None, err_path.read_text()
                assert time.monotonic() < deadline, "gunicorn did not come up"
                time.sleep(0.1)
            headers = {"X-Broker-API-Version": "2.17", "X-Broker-API-Request-Identity": "rid-serve"}
            response = requests.put(
                url + "/v2/service_instances/served",
                json=provision_body(),
                auth=("u", "serve-Pa55word"),
                headers=headers,
                timeout=10,
            )
            assert response.status_code == 201, response.text
            assert requests.get(url + "/health/ready", timeout=5).status_code == 200
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                returncode = process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
                raise
    assert returncode == 0, err_path.read_text()
    lines = [json.loads(line) for line in out_path.read_text().splitlines() if line.startswith("{")]
    messages = [line["message"] for line in lines]
    # The driver started in the worker (after the fork) and stopped on the way out.
    # One worker: once each (and no line written twice by two handlers).
    assert messages.count("engine driver started") == 1
    assert messages.count("engine driver stopped") == 1
    assert any(line.get("request_identity") == "rid-serve" and line.get("status") == 201 for line in lines)
    assert any(line.get("logger") == "gunicorn.error" for line in lines)
    assert "serve-Pa55word" not in out_path.read_text() + err_path.read_text()


def test_gunicorn_options_follow_the_settings() -> None:
    settings = BrokerSettings(credentials=[Credential("u", "p")], port=9999, graceful_timeout=7.5, workers=3)
    options = gunicorn_options(settings)
    assert options["bind"] == ["0.0.0.0:9999"]
    assert options["workers"] == 3 and options["threads"] == 4
    assert issubclass(options["worker_class"], ThreadWorker)  # gthread, draining on SIGTERM
    assert options["timeout"] == WORKER_TIMEOUT < 60
    assert options["graceful_timeout"] == 8
    assert callable(options["post_worker_init"]) and callable(options["worker_exit"])


def test_serve_needs_settings_with_a_factory() -> None:
    from openbroker_aliyun.serving import serve

    with pytest.raises(ValueError, match="settings"):
        serve(lambda: None)  # type: ignore[arg-type, return-value]


# ----------------------------------------------------------------------- exports


def test_every_export_resolves() -> None:
    for name in openbroker_aliyun.__all__:
        assert getattr(openbroker_aliyun, name) is not None, name
    with pytest.raises(AttributeError):
        _ = openbroker_aliyun.no_such_name


def test_serve_export_is_the_serving_function() -> None:
    from openbroker_aliyun.serving import serve as serving_serve

    assert openbroker_aliyun.serve is serving_serve


def test_importing_the_package_is_cheap() -> None:
    code = (
        "import sys, openbroker_aliyun\n"
        "print(sorted(m for m in ('flask', 'gunicorn', 'sqlalchemy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"
