"""Run by tests/test_core_install.py with the python of a venv that holds the core alone.

``python core_install_smoke.py EXAMPLE`` imports every module of the core, then serves
``EXAMPLE`` (examples/minimal_broker.py's ``KeyValueBroker``) with the test kit, on
loopback against a SQLite store, and drives a whole lifecycle with the OSB client. It
prints one JSON object: what it imported, the statuses it saw, and which optional
packages ended up loaded (none may be). Any failure is an exception: a non-zero exit.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
import tempfile
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

# Modules the core may not need: they come with an extra (setup.cfg).
OPTIONAL = ("aliyunsdkcore", "aliyunsdkrds", "aliyunsdkr_kvstore", "openbrokerapi", "psycopg", "pymysql",
            "redis")  # fmt: skip
# Not the core: the Alibaba side (the `aliyun` extra) and the openbrokerapi adapter.
NOT_CORE = ("openbroker_aliyun.aliyun", "openbroker_aliyun.emulator", "openbroker_aliyun.interop")
# Loaded by pytest through its entry point; pytest is a test-runner dependency, not the core's.
NEEDS_PYTEST = "openbroker_aliyun.testing.pytest_plugin"


def core_modules() -> list[str]:
    """Every module of the installed ``openbroker_aliyun`` outside ``NOT_CORE``."""
    spec = importlib.util.find_spec("openbroker_aliyun")
    assert spec is not None and spec.origin is not None
    root = Path(spec.origin).parent
    names = []
    for path in sorted(root.rglob("*.py")):
        parts = ["openbroker_aliyun", *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        name = ".".join(parts)
        if name == NEEDS_PYTEST or any(name == n or name.startswith(n + ".") for n in NOT_CORE):
            continue
        names.append(name)
    return names


def load_example(path: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location("minimal_broker_example", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def lifecycle(example: ModuleType) -> dict[str, Any]:
    """provision, bind, unbind, deprovision of the example broker, as Cloud Foundry runs them."""
    from openbroker_aliyun.testing.servers import broker_server, throwaway_settings

    service_id, plan_id = example.SERVICE.id, example.PLAN.id
    instance_id, binding_id = str(uuid.uuid4()), str(uuid.uuid4())
    with tempfile.TemporaryDirectory() as state_dir:
        settings = throwaway_settings(state_dir)
        with broker_server(example.KeyValueBroker(), settings) as (url, client):
            catalog = client.catalog()
            provisioned = client.provision_and_wait(
                instance_id, service_id, plan_id, parameters={"max_keys": 3}
            )
            bound = client.bind_and_wait(instance_id, binding_id, service_id, plan_id)
            unbound = client.unbind_and_wait(instance_id, binding_id, service_id, plan_id)
            deprovisioned = client.deprovision_and_wait(instance_id, service_id, plan_id)
            gone = client.fetch_instance(instance_id)
    credentials = bound.credentials or {}
    return {
        "url": url,
        "state_url": settings.state_url,
        "catalog": [catalog.status, [s["name"] for s in catalog.json["services"]]],
        "provision": provisioned.response.status,
        "bind": [
            bound.response.status,
            credentials.get("namespace") == instance_id,
            credentials.get("max-keys"),
        ],
        "unbind": unbound.response.status,
        "deprovision": deprovisioned.response.status,
        "fetch_after": gone.status,
    }


def main(example_path: str) -> None:
    imported = core_modules()
    for name in imported:
        importlib.import_module(name)
    result = lifecycle(load_example(example_path))
    result["imported"] = imported
    result["optional_loaded"] = sorted(n for n in OPTIONAL if n in sys.modules)
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1])
