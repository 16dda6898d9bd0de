"""The release files and metadata, checked in seconds: the license, the classifiers, the
changelog, and the ``python -m`` forms of the commands.

Building the sdist and the wheel and installing them takes longer: test_build.py.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import re
import subprocess
import sys

import pytest
from deploy_facts import ROOT, setup_cfg
from packaging.specifiers import SpecifierSet

# The SHA-256 of the Apache License 2.0 text as the ASF publishes it
# (https://www.apache.org/licenses/LICENSE-2.0.txt): LICENSE is that text, unmodified.
APACHE_2_0_SHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"


def test_license_is_the_complete_apache_2_0_text_and_is_declared() -> None:
    assert hashlib.sha256((ROOT / "LICENSE").read_bytes()).hexdigest() == APACHE_2_0_SHA256
    metadata = setup_cfg()["metadata"]
    assert metadata["license"] == "Apache-2.0"
    assert metadata["license_files"].split() == ["LICENSE"]


def test_python_classifiers_are_versions_python_requires_allows() -> None:
    cfg = setup_cfg()
    requires = SpecifierSet(cfg["options"]["python_requires"])
    versions = re.findall(
        r"^Programming Language :: Python :: (3\.\d+)$", cfg["metadata"]["classifiers"], re.M
    )
    assert versions, "name the supported Python versions"
    assert all(requires.contains(f"{version}.0") for version in versions), versions
    # The oldest version python_requires allows is the first one listed.
    assert not requires.contains(f"3.{int(versions[0].split('.')[1]) - 1}.99"), versions


def test_changelog_has_unreleased_and_the_current_version_with_links() -> None:
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    version = setup_cfg()["metadata"]["version"]
    headings = re.findall(r"^## \[([^\]]+)\]", text, re.M)
    assert headings[0] == "Unreleased"
    assert version in headings
    # Keep a Changelog: each heading is a link defined at the bottom.
    assert all(re.search(rf"^\[{re.escape(heading)}\]: https://", text, re.M) for heading in headings)


@pytest.mark.parametrize(
    ("module", "argument", "expected"),
    [
        ("aliyun_brokers.rds", "--help", "usage: rds-broker"),
        ("aliyun_brokers.redis", "--help", "usage: redis-broker"),
        ("openbroker_aliyun.emulator", "--version", "aliyun-emulator {version}"),
    ],
)
def test_python_dash_m_runs_each_command(module: str, argument: str, expected: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", module, argument],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith(expected.format(version=importlib.metadata.version("openbroker-aliyun")))
