"""``python -m build`` makes an sdist and a wheel that carry everything and install and run.

The project is copied as version control sees it (tracked files plus new, not ignored
ones), so stray build output in the working tree cannot help. ``python -m build`` then
makes the sdist and builds the wheel from that sdist, as a publisher would, in its own
isolated build environment. The wheel is installed into a fresh virtualenv with the
image's constraints.txt (pip fetches the dependencies from its cache or the index) and
its commands are run from there, away from the source tree.
"""

from __future__ import annotations

import email.message
import email.parser
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from deploy_facts import CONSTRAINTS, ROOT, constraint_pins, exact_pins, setup_cfg

# Building and installing take about a minute on an idle machine; the suite's 180 s per
# test is too tight for them on a busy one.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

DIST = "openbroker-aliyun"
# Files an sdist must carry beyond the packages' own modules (paths inside the sdist).
SDIST_FILES = (
    "LICENSE",
    "CHANGELOG.md",
    "README.md",
    "setup.cfg",
    "pyproject.toml",
    "openbroker_aliyun/py.typed",
    "brokers/aliyun_brokers/py.typed",
)


@dataclass(frozen=True)
class Built:
    sdist: Path
    wheel: Path


def _run(command: list[str], *, cwd: Path, timeout: float = 300) -> str:
    """Run ``command`` without the test's virtualenv leaking in; its output, or a failure."""
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, (
        f"{command} exited {result.returncode}:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    )
    return result.stdout


def _source_files() -> list[str]:
    listing = _run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT)
    return [rel for rel in listing.split("\0") if rel and (ROOT / rel).is_file()]


def _cfg_lines(section: str, key: str) -> list[str]:
    return [line.strip() for line in setup_cfg()[section][key].splitlines() if line.strip()]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    source = tmp_path_factory.mktemp("source")
    for rel in _source_files():
        target = source / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, target)
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--outdir", str(out), str(source)], cwd=source)
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    return Built(sdist, wheel)


@pytest.fixture(scope="module")
def installed(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with the wheel installed at the constraints' versions; its bin."""
    venv = tmp_path_factory.mktemp("venv")
    _run([sys.executable, "-m", "venv", str(venv)], cwd=venv)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
    _run(
        [*pip, "install", "--quiet", "--no-compile", "-c", str(CONSTRAINTS), f"{built.wheel}[aliyun]"],
        cwd=venv,
    )
    return venv / "bin"


def _metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return email.parser.Parser().parsestr(archive.read(name).decode("utf-8"))


def test_sdist_carries_license_changelog_config_catalogs_and_typing_markers(built: Built) -> None:
    with tarfile.open(built.sdist) as archive:
        top = archive.getnames()[0].split("/")[0]
        names = {name.removeprefix(top + "/") for name in archive.getnames()}
        license_text = archive.extractfile(f"{top}/LICENSE").read()  # type: ignore[union-attr]
    missing = [rel for rel in SDIST_FILES if rel not in names]
    assert not missing, f"the sdist lacks {missing}"
    catalogs = [rel for rel in _source_files() if rel.endswith(("catalog.yaml", "catalog.yml"))]
    assert catalogs and not [rel for rel in catalogs if rel not in names]
    assert license_text == (ROOT / "LICENSE").read_bytes()


def test_wheel_metadata_has_classifiers_urls_license_and_typing(built: Built) -> None:
    metadata = _metadata(built.wheel)
    classifiers = metadata.get_all("Classifier") or []
    assert classifiers == _cfg_lines("metadata", "classifiers")
    for required in (
        "Framework :: Flask",
        "License :: OSI Approved :: Apache Software License",
        "Programming Language :: Python :: 3.11",
        "Typing :: Typed",
    ):
        assert required in classifiers
    urls = dict(line.split(", ", 1) for line in metadata.get_all("Project-URL") or [])
    assert set(urls) == {"Documentation", "Source", "Changelog", "Issues"}
    assert all(url.startswith("https://") for url in urls.values()), urls
    assert metadata["License"] == "Apache-2.0" or metadata["License-Expression"] == "Apache-2.0"
    assert metadata.get_all("License-File") == ["LICENSE"]
    assert metadata["Requires-Python"] == setup_cfg()["options"]["python_requires"]
    with zipfile.ZipFile(built.wheel) as archive:
        names = set(archive.namelist())
        (license_file,) = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
        assert archive.read(license_file) == (ROOT / "LICENSE").read_bytes()
    for rel in (
        "openbroker_aliyun/py.typed",
        "aliyun_brokers/py.typed",
        "aliyun_brokers/rds/catalog.yaml",
        "aliyun_brokers/redis/catalog.yaml",
        "aliyun_brokers/rds/__main__.py",
        "aliyun_brokers/redis/__main__.py",
        "openbroker_aliyun/emulator/__main__.py",
    ):
        assert rel in names, f"the wheel lacks {rel}"


def test_installed_wheel_runs_its_commands_away_from_the_source(installed: Path, tmp_path: Path) -> None:
    python = str(installed / "python")
    where = _run(
        [python, "-c", "import openbroker_aliyun, aliyun_brokers; print(openbroker_aliyun.__file__)"],
        cwd=tmp_path,
    )
    assert where.startswith(str(installed.parent)), where
    assert "usage: rds-broker" in _run([str(installed / "rds-broker"), "--help"], cwd=tmp_path)
    assert "usage: redis-broker" in _run([python, "-m", "aliyun_brokers.redis", "--help"], cwd=tmp_path)
    assert "usage: rds-broker" in _run([python, "-m", "aliyun_brokers.rds", "--help"], cwd=tmp_path)
    version = setup_cfg()["metadata"]["version"]
    assert (
        _run([str(installed / "aliyun-emulator"), "--version"], cwd=tmp_path).strip()
        == f"aliyun-emulator {version}"
    )
    assert _run([python, "-m", "openbroker_aliyun.emulator", "--version"], cwd=tmp_path).strip() == (
        f"aliyun-emulator {version}"
    )


def test_constraints_are_the_whole_runtime_closure(installed: Path, tmp_path: Path) -> None:
    """Installed under constraints.txt, the wheel pulls in exactly the pinned set: nothing
    unpinned (a new dependency needs a new pin) and no pin left over."""
    freeze = _run([str(installed / "python"), "-m", "pip", "freeze", "--exclude", DIST], cwd=tmp_path)
    installed_pins = exact_pins(freeze.splitlines(), "pip freeze")
    assert installed_pins == constraint_pins()
