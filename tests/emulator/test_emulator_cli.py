"""``aliyun-emulator`` as users run it: a real process, called once through the SDK."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from backing_services import require_redis_server
from emulator_sdk import REDIS_INSTANCE, Sdk, kv, rds

from openbroker_aliyun.emulator.cli import main

BINARY = Path(sys.executable).parent / "aliyun-emulator"


def _environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    return {**env, **extra}


def test_help_lists_the_flags() -> None:
    result = subprocess.run([str(BINARY), "--help"], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0
    flags = "--host --port --access-key-id --access-key-secret --create-seconds --modify-seconds"
    flags += " --delete-seconds --mysql-url --postgres-url --redis --state-file --fault --fault-seed"
    for flag in flags.split():
        assert flag in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fault", "Boom:1"], "unknown fault kind"),
        (["--create-seconds", "-1"], "must not be negative"),
        (["--extra-access-key", "nosecret"], "ID=SECRET"),
        (["--redis", "--redis-server-binary", "/nonexistent/redis-server"], "redis-server binary not found"),
    ],
)
def test_bad_flags_are_refused_with_a_reason(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        code = main(["--port", "0", *args])
    except SystemExit as exit_:  # argparse's way of refusing a flag
        code = int(exit_.code or 0)
    assert code == 2
    assert message in capsys.readouterr().err


@pytest.mark.slow
def test_a_real_emulator_process_serves_the_sdk() -> None:
    secret = "cli-secret-value-42"
    process = subprocess.Popen(
        [str(BINARY), "--port", "0", "--create-seconds", "0", "--access-key-id", "cliak"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_environment(ALIYUN_EMULATOR_ACCESS_KEY_SECRET=secret),
    )
    try:
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(timeout=60)
        assert lines and "listening on http://127.0.0.1:" in lines[0], lines
        url = lines[0].split("listening on ", 1)[1].split()[0]
        sdk = Sdk(url, "cliak", secret)
        assert sdk.call(rds("DescribeDBInstances"))["TotalRecordCount"] == 0
        assert Sdk(url, "cliak", "wrong").error(rds("DescribeDBInstances")).get_error_code() == (
            "InvalidAccessKeySecret"
        )
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0
    assert secret not in out + err
    assert "metadata only" in err  # it says so when no backing servers are given


@pytest.mark.slow
@pytest.mark.services
def test_redis_children_die_with_a_killed_emulator() -> None:
    require_redis_server()
    process = subprocess.Popen(
        [str(BINARY), "--port", "0", "--create-seconds", "0", "--redis"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=_environment(),
    )
    try:
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(timeout=60)
        assert lines and "listening on" in lines[0], lines
        url = lines[0].split("listening on ", 1)[1].split()[0]
        port = Sdk(url).call(kv("CreateInstance", **REDIS_INSTANCE))["Port"]
        socket.create_connection(("127.0.0.1", port), timeout=5).close()  # the child is serving
    finally:
        process.kill()  # no chance to clean up: the kernel must take the child down
        process.wait(timeout=30)
    for _ in range(100):  # bounded: up to 5 s for the kernel to deliver the signal
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            return
        time.sleep(0.05)
    pytest.fail(f"redis-server on port {port} outlived the killed emulator")
