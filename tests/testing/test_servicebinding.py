"""The test kit's servicebinding.io projection: the kubelet's layout, values as platforms write them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from openbroker_aliyun.testing.servicebinding import project_bindings


def test_each_key_is_a_file_reached_through_the_data_link(tmp_path: Path) -> None:
    credentials = {
        "type": "postgresql",
        "uri": "postgresql://u:p%40@h:5432/db",
        "port": 5432,
        "tls_port": 6380,
    }
    root = project_bindings(tmp_path, {"orders-db": credentials})
    folder = root / "orders-db"
    # What a workload reads: strings as they are, other values JSON-encoded.
    assert {name: (folder / name).read_text() for name in credentials} == {
        "type": "postgresql",
        "uri": "postgresql://u:p%40@h:5432/db",
        "port": "5432",
        "tls_port": "6380",
    }
    # As the kubelet writes a Secret volume: each entry a link through the hidden ..data.
    assert os.readlink(folder / "uri") == "..data/uri"
    assert (folder / "..data").is_symlink() and (folder / "..data").is_dir()
    hidden = sorted(entry.name for entry in folder.iterdir() if entry.name.startswith("."))
    assert hidden[0] == "..2026_01_01_00_00_00.000000001" and hidden[1] == "..data"


@pytest.mark.parametrize(
    "bindings",
    [{"Orders": {"type": "mysql"}}, {".hidden": {}}, {"db": {"bad key": "x"}}, {"db": {"..data": "x"}}],
    ids=["upper-case-name", "hidden-name", "space-in-key", "kubelet-key"],
)
def test_names_a_platform_refuses_are_refused(tmp_path: Path, bindings: dict[str, dict[str, str]]) -> None:
    with pytest.raises(ValueError, match="invalid"):
        project_bindings(tmp_path, bindings)
