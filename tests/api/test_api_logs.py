"""Logs: one JSON line per request with the correlation ids, and never a secret."""

from __future__ import annotations

import io
import json
import logging
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from api_support import NEXT_PASSWORD, PASSWORD, Running, assert_error_shape, identity_header, uid
from http_brokers import BINDING_PASSWORD, EXCEPTION_MARKER

from openbroker_aliyun.logs import REDACTED, JsonFormatter, JsonStreamHandler, configure_logging, redact


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Everything logged while the test runs, as the JSON handler writes it."""
    stream = io.StringIO()
    handler = JsonStreamHandler(stream)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def parsed(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_one_json_line_per_request_with_correlation_ids(sync_api: Running, log_lines: io.StringIO) -> None:
    iid = uid("log-i")
    identity = identity_header("cloudfoundry", {"user_id": "user-guid-1"})
    headers = {
        "X-Broker-API-Request-Identity": "rid-log-1",
        "X-VCAP-Request-ID": "vcap-1",
        "X-Broker-API-Originating-Identity": identity,
    }
    assert (
        sync_api.api.provision(iid, headers=headers, params={"accepts_incomplete": "true"}).status_code == 201
    )
    access = [line for line in parsed(log_lines) if line["logger"] == "openbroker_aliyun.api.access"]
    assert len(access) == 1
    (line,) = access
    assert line["method"] == "PUT"
    assert line["path"] == f"/v2/service_instances/{iid}"
    assert line["status"] == 201
    assert isinstance(line["duration_ms"], int | float)
    assert line["request_identity"] == "rid-log-1"
    assert line["vcap_request_id"] == "vcap-1"
    assert line["instance_id"] == iid
    assert line["user"] == "user-guid-1"
    assert line["platform"] == "cloudfoundry"
    assert line["level"] == "INFO" and "time" in line
    # Only the path: no query string in the log.
    assert "accepts_incomplete" not in json.dumps(line)


def test_binding_flow_never_logs_a_secret(sync_api: Running, log_lines: io.StringIO) -> None:
    iid = uid("sec")
    bid = uid("sec-b")
    api = sync_api.api
    assert api.provision(iid).status_code == 201
    assert api.bind(iid, bid, headers={"X-Broker-API-Request-Identity": "rid-bind"}).status_code == 201
    assert api.get(f"/v2/service_instances/{iid}/service_bindings/{bid}").status_code == 200
    assert api.bind(iid, bid).status_code == 200
    assert api.get("/v2/catalog", auth=("broker", "a-wrong-password-xyz")).status_code == 401
    assert api.unbind(iid, bid).status_code == 200
    text = log_lines.getvalue()
    assert "rid-bind" in text
    for secret in (
        BINDING_PASSWORD,
        PASSWORD,
        NEXT_PASSWORD,
        "a-wrong-password-xyz",
        *sync_api.settings.encryption_keys,
    ):
        assert secret not in text
    bind_lines = [line for line in parsed(log_lines) if line.get("binding_id") == bid]
    assert bind_lines and all(line.get("instance_id") == iid for line in bind_lines)


def test_broker_bug_traceback_only_in_the_log(sync_api: Running, log_lines: io.StringIO) -> None:
    iid = uid("bug")
    sync_api.broker.explode.add(iid)
    response = sync_api.api.provision(iid, headers={"X-Broker-API-Request-Identity": "rid-bug"})
    assert_error_shape(response, 500)
    assert EXCEPTION_MARKER not in response.text
    lines = parsed(log_lines)
    assert any(line.get("request_identity") == "rid-bug" and line.get("status") == 500 for line in lines)


def test_state_store_failure_is_a_clean_5xx(fresh_sync_api: Running, log_lines: io.StringIO) -> None:
    """An error nobody planned for: JSON 5xx naming the request id; traceback in the log."""
    iid = uid("pre")
    assert fresh_sync_api.api.provision(iid).status_code == 201
    path = fresh_sync_api.settings.state_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            conn.execute(f'DROP TABLE "{table}"')
    response = fresh_sync_api.api.get(
        f"/v2/service_instances/{iid}", headers={"X-Broker-API-Request-Identity": "rid-5xx"}
    )
    assert response.status_code in (500, 503)
    body = assert_error_shape(response, response.status_code)
    assert "Traceback" not in response.text and "sqlite" not in response.text.lower()
    if response.status_code == 500:
        assert "rid-5xx" in body["description"]
    assert any(line.get("request_identity") == "rid-5xx" for line in parsed(log_lines))
    ready = fresh_sync_api.api.get("/health/ready", auth=None)
    assert ready.status_code in (200, 503)


# ------------------------------------------------------------------- the pieces


def test_redaction_of_extra_fields(log_lines: io.StringIO) -> None:
    logging.getLogger("test.redaction").info(
        "event",
        extra={
            "password": "p-1",
            "client_secret": "p-2",
            "credentials": {"uri": "p-3"},
            "nested": {"ok": 1, "api_token": "p-4", "items": [{"AccessKeySecret": "p-5"}]},
            "instance_id": "visible",
        },
    )
    (line,) = [line for line in parsed(log_lines) if line["logger"] == "test.redaction"]
    assert line["password"] == REDACTED and line["client_secret"] == REDACTED
    assert line["credentials"] == REDACTED
    assert line["nested"] == {"ok": 1, "api_token": REDACTED, "items": [{"AccessKeySecret": REDACTED}]}
    assert line["instance_id"] == "visible"
    assert not any(f"p-{n}" in log_lines.getvalue() for n in range(1, 6))


def test_redact_leaves_other_values() -> None:
    assert redact({"a": [1, {"b": 2}], "secret_key": "x"}) == {"a": [1, {"b": 2}], "secret_key": REDACTED}


def test_formatter_writes_exceptions_and_odd_values() -> None:
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed %s", ("here",), None)
    try:
        raise ValueError("inner")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    record.when = object()
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "failed here"
    assert "ValueError" in line["exception"]
    assert line["when"].startswith("<object")


def test_configure_logging_writes_json_to_stdout_once(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    try:
        configure_logging("info")
        configure_logging("INFO")
        ours = [h for h in root.handlers if isinstance(h, JsonStreamHandler)]
        assert len(ours) == 1
        logging.getLogger("test.configure").info("hello", extra={"token": "t-1"})
        out = capsys.readouterr().out.strip().splitlines()
        line = json.loads(out[-1])
        assert line["message"] == "hello" and line["token"] == REDACTED
    finally:
        for handler in list(root.handlers):
            if handler not in before:
                root.removeHandler(handler)
        root.setLevel(level)
