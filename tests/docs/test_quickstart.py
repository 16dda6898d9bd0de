"""Every command of docs/quickstart.md, run or proven run.

The page's fenced ``bash`` blocks are read in order. Each must be one of:

- the install and test commands: CI runs them (``.ci/run`` holds them verbatim);
- the demo command: started here as a subprocess (on a free port instead of 8080, so
  that parallel test runs do not collide);
- the ``export BROKER_...`` block: set here from what the demo really printed, which is
  what the reader is told to do;
- a ``curl`` call: run here with bash, exactly as written, against that demo, and its
  answer checked.

A block that is none of these fails the test, so a command added to the page without a
test cannot pass unnoticed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from broker_harness import TEXT_LOG_LINE

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "quickstart.md"
EXPORTED = {"BROKER_URL", "BROKER_USERNAME", "BROKER_PASSWORD"}
POLL_SECONDS = 60


def bash_blocks() -> list[str]:
    """The page's ```bash blocks, line continuations joined."""
    text = PAGE.read_text(encoding="utf-8")
    blocks = re.findall(r"^```bash\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)
    return [block.replace("\\\n", " ").strip() for block in blocks]


def ci_script() -> str:
    return (ROOT / ".ci" / "run").read_text(encoding="utf-8")


# ------------------------------------------------------------------ what each call returns


def _json(output: str) -> Any:
    try:
        return json.loads(output)
    except ValueError:
        pytest.fail(f"not a JSON answer: {output[:500]!r}")


def expect_catalog(body: Any, context: dict[str, Any]) -> None:
    names = {service["name"] for service in body["services"]}
    assert {"aliyun-rds-mysql", "aliyun-rds-postgresql"} <= names


def expect_operation(body: Any, context: dict[str, Any]) -> None:
    assert isinstance(body.get("operation"), str), body


def expect_credentials(body: Any, context: dict[str, Any]) -> None:
    credentials = body["credentials"]
    assert {"uri", "host", "port", "username", "password", "database", "type"} <= credentials.keys()
    assert credentials["type"] == "mysql"
    assert credentials["database"] == "orders"
    context["credentials"] = credentials


def expect_delete(body: Any, context: dict[str, Any]) -> None:
    # 202 with an operation, or 200 {} when the broker finished at once.
    assert body == {} or isinstance(body.get("operation"), str), body


# (method, path pattern, check, poll until succeeded?)
CALLS: list[tuple[str, str, Callable[[Any, dict[str, Any]], None], bool]] = [
    ("GET", r"/v2/catalog$", expect_catalog, False),
    ("PUT", r"/v2/service_instances/[\w-]+\?accepts_incomplete=true$", expect_operation, False),
    ("GET", r"/v2/service_instances/[\w-]+/last_operation$", lambda b, c: None, True),
    ("PUT", r"/service_bindings/[\w-]+\?accepts_incomplete=true$", expect_operation, False),
    ("GET", r"/service_bindings/[\w-]+/last_operation$", lambda b, c: None, True),
    ("GET", r"/service_bindings/[\w-]+$", expect_credentials, False),
    ("DELETE", r"/service_bindings/[\w-]+\?service_id=.*$", expect_delete, False),
    ("DELETE", r"/v2/service_instances/[\w-]+\?service_id=.*$", expect_delete, False),
]


def classify_call(block: str) -> tuple[str, Callable[[Any, dict[str, Any]], None], bool]:
    assert block.startswith("curl -s "), f"not a curl call: {block[:80]}"
    assert "\n" not in block, "one curl call per block"
    method = re.search(r"-X (\w+)", block)
    verb = method.group(1) if method else "GET"
    url = re.search(r'"\$BROKER_URL(/v2/[^"]*)"', block)
    assert url, f"no $BROKER_URL address in: {block[:120]}"
    for expected_verb, pattern, check, poll in CALLS:
        if verb == expected_verb and re.search(pattern, url.group(1)):
            return url.group(1), check, poll
    pytest.fail(f"quickstart.md has a call the test does not know: {verb} {url.group(1)}")


def run_call(block: str, env: dict[str, str]) -> Any:
    result = subprocess.run(
        ["bash", "-c", block], env=env, capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, f"{block[:100]}\n{result.stderr}"
    return _json(result.stdout)


def poll(block: str, env: dict[str, str]) -> Any:
    deadline = time.monotonic() + POLL_SECONDS
    while True:
        body = run_call(block, env)
        if body.get("state") == "succeeded":
            return body
        assert body.get("state") == "in progress", body
        assert time.monotonic() < deadline, f"still in progress after {POLL_SECONDS} s"
        time.sleep(0.5)


# -------------------------------------------------------------------------------- tests


def test_the_page_shows_the_demo_output_as_printed(demo: dict[str, str]) -> None:
    text = PAGE.read_text(encoding="utf-8")
    sample = re.search(r"^```text\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)
    assert sample
    shown = [line.split(" at ")[0].split(":")[0].strip() for line in sample.group(1).splitlines()[:5]]
    # The broker's own log lines come first; the reader is told so.
    printed = [line for line in demo["output"].splitlines() if line.strip() and not TEXT_LOG_LINE.match(line)]
    real = [line.split(" at ")[0].split(":")[0].strip() for line in printed[:5]]
    assert shown == real
    assert "username: demo" in sample.group(1) and demo["username"] == "demo"


def test_install_and_test_commands_are_the_ones_ci_runs() -> None:
    blocks = bash_blocks()
    install = [b for b in blocks if "pip install" in b]
    tests = [b for b in blocks if b.startswith(".venv/bin/pytest")]
    assert len(install) == 1 and len(tests) == 1
    script = ci_script()
    assert install[0] in script, "the quick start's install line must be the one .ci/run runs"
    assert re.search(rf"(^|&& ){re.escape(tests[0])}\s*$", script, flags=re.MULTILINE)


@pytest.mark.slow
def test_every_command_of_the_quickstart_works(demo: dict[str, str]) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    context: dict[str, Any] = {}
    ran: list[str] = []
    for block in bash_blocks():
        if "pip install" in block or block.startswith(".venv/bin/pytest"):
            continue  # proven by test_install_and_test_commands_are_the_ones_ci_runs
        if block == demo["command"]:
            ran.append("demo")
            continue
        if block.startswith("export "):
            names = set(re.findall(r"^export (\w+)=", block, flags=re.MULTILINE))
            assert names == EXPORTED
            assert "demo" in ran, "the exports come after the demo printed its values"
            env |= {"BROKER_URL": demo["url"], "BROKER_USERNAME": demo["username"]}
            env["BROKER_PASSWORD"] = demo["password"]
            ran.append("export")
            continue
        path, check, is_poll = classify_call(block)
        body = poll(block, env) if is_poll else run_call(block, env)
        check(body, context)
        ran.append(path)
    assert ran[:2] == ["demo", "export"], ran
    used = {pattern for _, pattern, _, _ in CALLS if any(re.search(pattern, path) for path in ran[2:])}
    assert used == {pattern for _, pattern, _, _ in CALLS}, "every kind of call appears on the page"
    assert "credentials" in context
    # The page ends with the instance's delete polled to success: nothing is left behind.
    assert ran[-1].endswith("/last_operation") and "service_bindings" not in ran[-1]
