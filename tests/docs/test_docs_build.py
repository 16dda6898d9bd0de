"""The documentation site builds with mkdocs in strict mode: any warning fails.

Strict mode and mkdocs.yml's ``validation`` section make broken links, missing anchors,
pages missing from the nav and nav entries without a page all errors.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

# Pages that describe repository files by path, checked to name only files that exist.
PAGES_NAMING_FILES = ("cloudfoundry.md", "kubernetes.md", "operations.md", "architecture.md", "quickstart.md")
_REPO_PATH = re.compile(
    r"`((?:deploy|docs|tests|examples|benchmarks|brokers|openbroker_aliyun)/[\w./-]*"
    r"|Dockerfile|requirements\.txt|runtime\.txt|\.cfignore|mkdocs\.yml|setup\.cfg)`"
)


def nav_pages(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, list):
        return [page for item in node for page in nav_pages(item)]
    if isinstance(node, dict):
        return [page for value in node.values() for page in nav_pages(value)]
    return []


def mkdocs_config() -> dict[str, Any]:
    # mkdocs.yml uses no YAML tags, so the safe loader reads it.
    return yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))


def test_mkdocs_config_is_strict_and_offline() -> None:
    config = mkdocs_config()
    assert config["strict"] is True
    assert config["docs_dir"] == "docs"
    assert "plugins" not in config, "plugins could need the network; the build must not"
    assert all(value == "warn" for value in config["validation"].values())


def test_every_nav_page_exists() -> None:
    missing = [page for page in nav_pages(mkdocs_config()["nav"]) if not (DOCS / page).is_file()]
    assert not missing, f"pages in mkdocs.yml's nav without a file in docs/: {missing}"


def test_every_page_is_in_the_nav() -> None:
    listed = set(nav_pages(mkdocs_config()["nav"]))
    pages = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    assert pages <= listed, f"pages missing from mkdocs.yml's nav: {sorted(pages - listed)}"


def test_pages_name_only_repository_files_that_exist() -> None:
    for page in PAGES_NAMING_FILES:
        path = DOCS / page
        if not path.is_file():
            continue
        for name in _REPO_PATH.findall(path.read_text(encoding="utf-8")):
            assert (ROOT / name).exists(), f"{page} names {name}, which does not exist"


def test_site_builds_without_warnings(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNING" not in output, output
    for page in nav_pages(mkdocs_config()["nav"]):
        built = tmp_path / "site" / (page[: -len(".md")] if page != "index.md" else "") / "index.html"
        assert built.is_file(), f"{page} was not built"
