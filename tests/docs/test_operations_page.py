"""docs/operations.md's key rotation, done as the page says, on a real state store.

The page's two commands (make a key; re-encrypt with the first key) are run with bash,
as written, in the environment a broker process has (``python3`` of the broker's
virtualenv first on the PATH, ``BROKER_STATE_URL`` and ``BROKER_ENCRYPTION_KEYS`` set).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import select

from openbroker_aliyun.domain import InstanceRecord
from openbroker_aliyun.store import InstanceStatus, Store, StoredInstance
from openbroker_aliyun.store.tables import instances

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "operations.md"


def rotation_commands() -> tuple[str, str]:
    """(make a key, re-encrypt) from the page's "Key rotation" section."""
    section = PAGE.read_text(encoding="utf-8").split("## Key rotation", 1)[1].split("\n## ", 1)[0]
    blocks = [b.strip() for b in re.findall(r"```bash\n(.*?)```", section, flags=re.DOTALL)]
    blocks = [re.sub(r"^ {4}", "", b, flags=re.MULTILINE).strip() for b in blocks]
    assert len(blocks) == 2, blocks
    return blocks[0], blocks[1]


def run(command: str, env: dict[str, str]) -> str:
    path = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")
    result = subprocess.run(
        ["bash", "-c", command],
        env={**env, "PATH": path},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip()


def test_the_key_command_makes_a_fernet_key_and_every_page_uses_it() -> None:
    make_key, _ = rotation_commands()
    key = run(make_key, {})
    Fernet(key.encode())  # raises if it is not a Fernet key
    assert run(make_key, {}) != key
    # The Cloud Foundry page and the Kubernetes secret template give the same recipe.
    recipe = make_key.split("'")[1]
    assert recipe in (ROOT / "docs" / "cloudfoundry.md").read_text(encoding="utf-8")
    template = ROOT / "deploy" / "kubernetes" / "overlays" / "example" / "secrets.env.example"
    assert recipe in template.read_text(encoding="utf-8")


def test_rotation_as_the_page_describes_it(tmp_path: Path) -> None:
    make_key, rotate = rotation_commands()
    url = f"sqlite:///{tmp_path / 'state.db'}"
    old = run(make_key, {})
    secret = "manager-password-4f9c"

    # A broker has written a record with the old key.
    store = Store.open(url, encryption_keys=[old])
    now = datetime.now(UTC)
    record = InstanceRecord(id="i-1", service_id="s", plan_id="p", details={"manager_password": secret})
    stored = StoredInstance(
        record=record, status=InstanceStatus.READY, operation_id=None, created_at=now, updated_at=now
    )
    store.transact(lambda tx: tx.add_instance(stored))
    store.close()

    # Step 2: the new key first, the old one after it. Step 3: the page's command.
    new = run(make_key, {})
    output = run(rotate, {"BROKER_STATE_URL": url, "BROKER_ENCRYPTION_KEYS": f"{new},{old}"})
    assert "rewritten=" in output and "rewritten=0" not in output, output
    assert secret not in output and old not in output and new not in output

    # Step 4: the old key is gone, and the record still reads; on disk it is not clear text.
    store = Store.open(url, encryption_keys=[new])
    try:
        found = store.transact(lambda tx: tx.instance("i-1"))
        assert found is not None
        assert found.record.details == {"manager_password": secret}
        with store.engine.connect() as connection:
            raw = " ".join(str(value) for row in connection.execute(select(instances)) for value in row)
        assert secret not in raw
    finally:
        store.close()
