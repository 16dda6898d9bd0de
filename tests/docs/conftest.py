"""The demo broker, as docs/quickstart.md starts it, for the tests of the pages."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEMO_COMMAND = ".venv/bin/rds-broker --demo"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def demo() -> Iterator[dict[str, str]]:
    """``rds-broker --demo`` as the page starts it; yields what it printed."""
    command = DEMO_COMMAND.split()
    assert command[0] == ".venv/bin/rds-broker"
    executable = Path(sys.executable).parent / "rds-broker"
    port = _free_port()
    process = subprocess.Popen(
        [str(executable), *command[1:], "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if not k.startswith("BROKER_")},
    )
    printed: dict[str, str] = {}
    lines: list[str] = []
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 60
        while not {"url", "username", "password"} <= printed.keys():
            assert time.monotonic() < deadline, "the demo printed no URL and credentials:\n" + "".join(lines)
            line = process.stdout.readline()
            if not line:
                pytest.fail("the demo exited:\n" + "".join(lines))
            lines.append(line)
            if match := re.match(r"rds-broker demo: an OSB broker at (http://\S+)$", line.strip()):
                printed["url"] = match.group(1)
            elif match := re.match(r"(username|password): (\S+)$", line.strip()):
                printed[match.group(1)] = match.group(2)
        printed["output"] = "".join(lines)
        printed["command"] = DEMO_COMMAND
        yield printed
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
