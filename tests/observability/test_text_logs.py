"""The ``text`` log format (what ``--demo`` prints): one readable line per record, secrets
redacted as in the JSON lines."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator

import pytest

from openbroker_aliyun.logs import (
    REDACTED,
    JsonStreamHandler,
    TextStreamHandler,
    configure_logging,
)


@pytest.fixture
def logged() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    logger = logging.getLogger("openbroker_aliyun.test_text_logs")
    handler = TextStreamHandler(stream)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


def test_a_line_is_time_level_logger_message_and_fields(logged: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = logged
    logger.info("provision %s succeeded", "42", extra={"instance_id": "abc", "reason": "a b", "none": None})
    line = stream.getvalue()
    assert re.fullmatch(
        r"\d\d:\d\d:\d\d INFO openbroker_aliyun\.test_text_logs: provision 42 succeeded "
        r'instance_id=abc reason="a b"\n',
        line,
    ), line


def test_fields_the_message_shows_are_not_repeated(logged: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = logged
    logger.info("%s %s %s", "GET", "/v2/catalog", 200, extra={"method": "GET", "status": 200, "ms": 1.5})
    assert stream.getvalue().endswith(": GET /v2/catalog 200 ms=1.5\n")


def test_secrets_are_redacted_at_any_depth(logged: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = logged
    logger.warning("bound", extra={"password": "pw-1", "details": {"token": "tk-2", "port": 5432}})
    line = stream.getvalue()
    assert "pw-1" not in line and "tk-2" not in line
    assert f"password={REDACTED}" in line and f'"token": "{REDACTED}"' in line and '"port": 5432' in line


def test_a_traceback_follows_its_line(logged: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = logged
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("step failed")
    first, *rest = stream.getvalue().splitlines()
    assert first.endswith("ERROR openbroker_aliyun.test_text_logs: step failed")
    assert rest[0] == "Traceback (most recent call last):" and rest[-1] == "ValueError: boom"


def test_configure_logging_switches_format_and_keeps_one_handler() -> None:
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    try:
        configure_logging("info", "text")
        configure_logging("info", "text")
        assert [type(h) for h in root.handlers if isinstance(h, TextStreamHandler | JsonStreamHandler)] == [
            TextStreamHandler
        ]
        configure_logging("info")
        assert [type(h) for h in root.handlers if isinstance(h, TextStreamHandler | JsonStreamHandler)] == [
            JsonStreamHandler
        ]
    finally:
        root.handlers[:] = before
        root.setLevel(level)
