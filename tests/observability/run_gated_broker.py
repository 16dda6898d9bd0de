"""Serve ``GatedBroker`` with ``openbroker_aliyun.serving`` (gunicorn), as a test's child process.

Settings come from the environment (``load_settings``); the gate folder from
``GATED_DIR`` and the mode from ``GATED_MODE``. ``/test/process`` tells which worker
answered and where its metrics files are.
"""

from __future__ import annotations

import os
import sys

from flask import Flask, jsonify

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from gated_broker import GatedBroker

from openbroker_aliyun import create_app, load_settings, serve
from openbroker_aliyun.engine import DriverSettings

# A long lease: a process that did not release its leases on SIGTERM would make the next
# one wait a minute, which the tests' bounded waits would notice.
DRIVER = DriverSettings(poll_interval=0.05, lease_seconds=60.0, backoff_base=0.05, backoff_cap=0.2)


def build() -> Flask:
    broker = GatedBroker(os.environ["GATED_DIR"], os.environ.get("GATED_MODE", "finish"))
    app = create_app(broker, settings, driver_settings=DRIVER)

    def process_info() -> object:
        return jsonify(pid=os.getpid(), metrics_dir=os.environ.get("PROMETHEUS_MULTIPROC_DIR"))

    app.add_url_rule("/test/process", "test-process", process_info)
    return app


if __name__ == "__main__":
    settings = load_settings(os.environ)
    serve(build, settings)
