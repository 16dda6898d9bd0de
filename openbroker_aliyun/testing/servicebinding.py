"""Bindings projected as files, the way servicebinding.io workloads on Kubernetes see them.

The servicebinding.io spec ("Workload Projection") mounts each binding's Secret at
``$SERVICE_BINDING_ROOT/<binding name>/``, one file per entry. Platforms that turn broker
credentials into that Secret (Korifi, service-catalog) keep string values as they are and
JSON-encode the others, so a port ``5432`` becomes a file holding ``5432``. The kubelet
writes a Secret volume atomically: the files live in a hidden timestamped folder, a
``..data`` link points at it, and each entry is a link through ``..data``. This writes the
same layout, so that code reading it meets what it meets in a pod (hidden entries to
skip, entries that are links). Use it with :mod:`openbroker_aliyun.testing.vcap` to check
that an app finds what a broker returns on either platform.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Mapping

__all__ = ["project_bindings"]

# servicebinding.io binding names; Kubernetes Secret keys (entry names).
_BINDING_NAME = re.compile(r"^[a-z0-9.-]{1,253}$")
_SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]{1,253}$")
# The kubelet's hidden folder of one write (its name holds a timestamp).
_WRITE_DIR = "..2026_01_01_00_00_00.000000001"


def project_bindings(root: Path, bindings: Mapping[str, Mapping[str, Any]]) -> Path:
    """Write ``bindings`` (binding name → credentials) under ``root``; returns ``root``.

    Set ``SERVICE_BINDING_ROOT`` to the result. Raises ``ValueError`` for a binding name
    or key that a platform would refuse (names ``[a-z0-9.-]``; keys those of a Secret).
    """
    for name, credentials in bindings.items():
        if not _BINDING_NAME.match(name) or name.startswith("."):
            raise ValueError(f"invalid servicebinding.io binding name {name!r}")
        directory = root / name
        data = directory / _WRITE_DIR
        data.mkdir(parents=True)
        for key, value in credentials.items():
            if not _SECRET_KEY.match(key) or key.startswith(".."):
                raise ValueError(f"invalid binding entry name {key!r}")
            (data / key).write_text(value if isinstance(value, str) else json.dumps(value), encoding="utf-8")
            (data / key).chmod(0o600)
        (directory / "..data").symlink_to(_WRITE_DIR)
        for key in credentials:
            (directory / key).symlink_to(Path("..data") / key)
    return root
