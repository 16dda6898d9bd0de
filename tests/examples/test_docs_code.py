"""The Python in docs/writing-a-broker.md and docs/testing.md runs as printed."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def python_blocks(page: str) -> str:
    """Every ```python block of a page, in order, as one module."""
    blocks = _BLOCK.findall((DOCS / page).read_text(encoding="utf-8"))
    assert blocks, f"{page} has no python blocks"
    return "\n\n".join(blocks)


def test_writing_a_broker_page_runs() -> None:
    # The page's last blocks drive its FolderBroker over real HTTP and assert on it.
    namespace: dict[str, object] = {"__name__": "writing_a_broker_page"}
    exec(compile(python_blocks("writing-a-broker.md"), "writing-a-broker.md", "exec"), namespace)  # noqa: S102
    assert "FolderBroker" in namespace and "adapted" in namespace


def test_testing_page_tests_pass(tmp_path: Path) -> None:
    (tmp_path / "test_page.py").write_text(python_blocks("testing.md"), encoding="utf-8")
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_page.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout
