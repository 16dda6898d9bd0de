"""JSON log lines on stdout, with secrets redacted from ``extra`` fields.

Every record becomes one JSON object: ``time``, ``level``, ``logger``, ``message``, the
``extra`` fields the caller passed, and ``exception`` (the traceback) when there is one.
``RedactionFilter`` replaces the value of any extra field (at any depth of dicts and
lists) whose key looks like a secret: password, secret, credentials, token, key.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

# Attributes every LogRecord has; anything else on a record came from ``extra``.
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}

SECRET_KEY_PATTERN = re.compile(r"pass(word|wd)?|secret|credential|token|key|authorization", re.IGNORECASE)
REDACTED = "[REDACTED]"


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {name: value for name, value in vars(record).items() if name not in _STANDARD_ATTRS}


def redact(value: Any) -> Any:
    """A copy of ``value`` with the values of secret-looking keys replaced, at any depth."""
    if isinstance(value, dict):
        return {
            key: REDACTED if isinstance(key, str) and SECRET_KEY_PATTERN.search(key) else redact(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    return value


class RedactionFilter(logging.Filter):
    """Redacts secret-looking ``extra`` fields of every record that passes through."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in _extras(record).items():
            if SECRET_KEY_PATTERN.search(name):
                setattr(record, name, REDACTED)
            elif isinstance(value, dict | list | tuple):
                setattr(record, name, redact(value))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record; values JSON cannot hold are written with ``str``."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(_extras(record))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str, ensure_ascii=False)


class JsonStreamHandler(logging.StreamHandler):
    """A stream handler (stdout by default) writing redacted JSON lines."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(stream if stream is not None else sys.stdout)
        self.setFormatter(JsonFormatter())
        self.addFilter(RedactionFilter())


def configure_logging(level: int | str = logging.INFO) -> None:
    """Send every log record to stdout as a JSON line, with secrets redacted.

    Replaces the root handler this function installed before (safe to call twice) and
    leaves handlers that others installed alone.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, JsonStreamHandler):
            root.removeHandler(handler)
    root.addHandler(JsonStreamHandler())
    root.setLevel(level.upper() if isinstance(level, str) else level)


def dict_config(level: str) -> dict[str, Any]:
    """The same set-up as a ``logging.config.dictConfig`` dict, for gunicorn's ``logconfig_dict``.

    gunicorn's own error log goes through the JSON handler too; its access log is off
    (the broker writes its own request line).
    """
    handler = {"class": f"{__name__}.JsonStreamHandler", "stream": "ext://sys.stdout"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {"json": handler},
        "root": {"level": level.upper(), "handlers": ["json"]},
        "loggers": {
            "gunicorn.error": {"level": level.upper(), "handlers": ["json"], "propagate": False},
            "gunicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
        },
    }
