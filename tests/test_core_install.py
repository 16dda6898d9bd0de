"""The core installs and runs alone: ``pip install openbroker-aliyun`` without any extra.

A fresh venv gets the project from a copy of its sources (so the build never writes into
the working tree) with no extra, from PyPI (pip's cache makes it quick). Then, inside that
venv: none of the Alibaba SDKs, database or Redis drivers, nor openbrokerapi, is
installed; every module of the core imports; and examples/minimal_broker.py's broker is
served by the test kit over real HTTP on loopback against a SQLite store, and provisioned,
bound, unbound and deprovisioned by the OSB client (tests/core_install_smoke.py). The
brokers' commands, installed with the core, say which extra they need.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SMOKE = Path(__file__).with_name("core_install_smoke.py")
EXAMPLE = ROOT / "examples" / "minimal_broker.py"
# What `pip install .` reads: the metadata, the README and license it names, the packages.
SOURCES = ("setup.cfg", "pyproject.toml", "README.md", "LICENSE", "MANIFEST.in", "openbroker_aliyun",
           "brokers")  # fmt: skip
# Distributions only the extras install (setup.cfg), and the unused one the core dropped.
EXTRAS_ONLY = {
    "aliyun-python-sdk-core",
    "aliyun-python-sdk-rds",
    "aliyun-python-sdk-r-kvstore",
    "openbrokerapi",
    "psycopg",
    "psycopg-binary",
    "pymysql",
    "redis",
    "marshmallow-jsonschema",
}
CORE = {"flask", "marshmallow", "sqlalchemy", "alembic", "cryptography", "gunicorn", "prometheus-client",
        "pyyaml", "jsonschema", "requests"}  # fmt: skip

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def run(*command: str | Path, timeout: float, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    # Neither this venv nor the working tree may leak into the fresh one.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env
    )


@pytest.fixture(scope="module")
def core_venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A venv holding ``pip install <this project>`` and nothing else; yields its bin folder."""
    root = tmp_path_factory.mktemp("core-install")
    source = root / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", "dist")
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=ignore)
        elif path.exists():
            source.mkdir(exist_ok=True)
            shutil.copy2(path, source / name)
    venv = root / "venv"
    made = run(sys.executable, "-m", "venv", venv, timeout=120)
    assert made.returncode == 0, made.stderr
    installed = run(
        venv / "bin" / "python", "-m", "pip", "install", "--disable-pip-version-check", "--no-input",
        "--quiet", source, timeout=240, cwd=root,
    )  # fmt: skip
    assert installed.returncode == 0, f"pip install failed:\n{installed.stdout}\n{installed.stderr}"
    yield venv / "bin"
    shutil.rmtree(root, ignore_errors=True)


def installed_distributions(bin_dir: Path) -> set[str]:
    pip = (bin_dir / "python", "-m", "pip", "--disable-pip-version-check")
    listed = run(*pip, "list", "--format=json", timeout=60)
    assert listed.returncode == 0, listed.stderr
    return {entry["name"].lower().replace("_", "-") for entry in json.loads(listed.stdout)}


def test_the_core_installs_without_the_extras(core_venv: Path) -> None:
    names = installed_distributions(core_venv)
    assert "openbroker-aliyun" in names
    assert names & EXTRAS_ONLY == set()
    assert names >= CORE


def test_the_minimal_broker_runs_through_the_test_kit(core_venv: Path) -> None:
    ran = run(core_venv / "python", SMOKE, EXAMPLE, timeout=120, cwd=core_venv.parent)
    assert ran.returncode == 0, ran.stderr
    result = json.loads(ran.stdout.strip().splitlines()[-1])
    assert result["url"].startswith("http://127.0.0.1:")
    assert result["state_url"].startswith("sqlite:///")
    assert result["catalog"] == [200, ["kv-namespace"]]
    assert result["provision"] == 201  # the example's steps are synchronous
    assert result["bind"] == [201, True, 3]
    assert (result["unbind"], result["deprovision"], result["fetch_after"]) == (200, 200, 404)
    # Every module of the core imported, and no optional package came along.
    some_of_the_core = {"openbroker_aliyun.app", "openbroker_aliyun.metrics", "openbroker_aliyun.credentials",
                        "openbroker_aliyun.testing.client", "openbroker_aliyun.store.database"}  # fmt: skip
    assert some_of_the_core <= set(result["imported"])
    assert result["optional_loaded"] == []


def test_a_broker_command_names_the_extra_it_needs(core_venv: Path) -> None:
    ran = run(core_venv / "rds-broker", "--help", timeout=60)
    assert ran.returncode != 0
    assert "pip install 'openbroker-aliyun[aliyun]'" in ran.stderr
