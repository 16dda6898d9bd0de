"""The pytest plugin, as a broker author meets it: a separate pytest run in a fresh folder.

The plugin is registered through the ``pytest11`` entry point, so the author's test file
needs no conftest and no import of it.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

AUTHOR_TESTS = """
import uuid

from openbroker_aliyun import Bound, Catalog, Done, Plan, Service, ServiceBroker

SERVICE_ID = "2f1e0d9c-8b7a-4654-9321-0fedcba98765"
PLAN_ID = "3a2b1c0d-9e8f-4765-8432-10fedcba9876"


class EchoBroker(ServiceBroker):
    catalog = Catalog((Service(SERVICE_ID, "echo", "Echo", True, (Plan(PLAN_ID, "one", "One"),)),))

    def provision(self, op):
        return Done()

    def deprovision(self, op):
        return Done()

    def bind(self, op):
        return Bound(credentials={"binding": op.binding.id})


def test_lifecycle_through_the_fixture(osb_broker_server):
    url, client = osb_broker_server(EchoBroker())
    assert url.startswith("http://127.0.0.1:")
    instance_id, binding_id = str(uuid.uuid4()), str(uuid.uuid4())
    client.provision_and_wait(instance_id, SERVICE_ID, PLAN_ID)
    bound = client.bind_and_wait(instance_id, binding_id, SERVICE_ID, PLAN_ID)
    assert bound.credentials == {"binding": binding_id}
    client.deprovision_and_wait(instance_id, SERVICE_ID, PLAN_ID)


def test_two_brokers_in_one_test(osb_broker_server):
    first = osb_broker_server(EchoBroker())
    second = osb_broker_server(EchoBroker(), platform="kubernetes")
    assert first.url != second.url
    assert second.client.profile.platform == "kubernetes"


def test_any_wsgi_app(osb_serve_wsgi):
    import requests
    from flask import Flask

    app = Flask("plain")
    app.add_url_rule("/ping", "ping", lambda: "pong")
    url = osb_serve_wsgi(app)
    assert requests.get(url + "/ping", timeout=5).text == "pong"
"""


def test_author_tests_pass_with_the_plugin_fixtures(tmp_path: Path) -> None:
    (tmp_path / "test_author.py").write_text(textwrap.dedent(AUTHOR_TESTS))
    # No rootdir config of ours: the run sees only the installed library and its plugin.
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_author.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout


def test_loading_the_plugin_imports_nothing_heavy() -> None:
    code = (
        "import sys, openbroker_aliyun.testing.pytest_plugin\n"
        "heavy = [m for m in ('flask', 'sqlalchemy', 'requests', 'werkzeug', 'openbroker_aliyun.engine') "
        "if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.strip() == ""
