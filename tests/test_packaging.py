"""setup.cfg lists its packages by hand (two roots); check that the list is complete."""

from __future__ import annotations

import configparser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _on_disk(package: str, folder: Path) -> set[str]:
    found = set()
    for init in folder.rglob("__init__.py"):
        rel = init.parent.relative_to(folder)
        found.add(".".join((package, *rel.parts)) if rel.parts else package)
    return found


def test_every_package_is_listed_in_setup_cfg() -> None:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    listed = set(cfg["options"]["packages"].split())
    on_disk = _on_disk("openbroker_aliyun", ROOT / "openbroker_aliyun") | _on_disk(
        "aliyun_brokers", ROOT / "brokers" / "aliyun_brokers"
    )
    assert on_disk == listed
