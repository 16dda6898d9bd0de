"""Log lines on stdout, JSON by default, with secrets redacted from ``extra`` fields.

Every record becomes one JSON object: ``time``, ``level``, ``logger``, ``message``, the
``extra`` fields the caller passed, and ``exception`` (the traceback) when there is one.
The ``text`` format is for a person at a terminal (a broker's ``--demo``): ``12:01:02 INFO
openbroker_aliyun.engine: provision succeeded instance_id=42``, local time, the extra
fields as ``name=value`` after the message. ``RedactionFilter``, on both, replaces the
value of any extra field (at any depth of dicts and lists) whose key looks like a secret:
password, secret, credentials, token, key.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

# Attributes every LogRecord has; anything else on a record came from ``extra``.
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}

SECRET_KEY_PATTERN = re.compile(r"pass(word|wd)?|secret|credential|token|key|authorization", re.IGNORECASE)
REDACTED = "[REDACTED]"

LogFormat = Literal["json", "text"]


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


class TextFormatter(logging.Formatter):
    """``HH:MM:SS LEVEL logger: message name=value ...``, the traceback on the lines after.

    Extra fields that are None, or whose value the message already shows (an access
    line's method, path and status), are left out: the line is read, not parsed.
    """

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        words = set(message.split())
        fields = [
            f"{name}={rendered}"
            for name, value in _extras(record).items()
            if value is not None and value != "" and (rendered := _text_value(value)) not in words
        ]
        stamp = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        line = " ".join([f"{stamp} {record.levelname} {record.name}: {message}", *fields])
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return line


def _text_value(value: Any) -> str:
    if isinstance(value, str):
        return value if value.strip() and not any(char.isspace() for char in value) else json.dumps(value)
    if isinstance(value, bool | int | float):
        return str(value)
    return json.dumps(value, default=str, ensure_ascii=False)


class _RedactingStreamHandler(logging.StreamHandler):
    """A stream handler (stdout by default) with the redaction filter."""

    def __init__(self, stream: TextIO | None, formatter: logging.Formatter) -> None:
        super().__init__(stream if stream is not None else sys.stdout)
        self.setFormatter(formatter)
        self.addFilter(RedactionFilter())


class JsonStreamHandler(_RedactingStreamHandler):
    """A stream handler (stdout by default) writing redacted JSON lines."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(stream, JsonFormatter())


class TextStreamHandler(_RedactingStreamHandler):
    """A stream handler (stdout by default) writing redacted text lines (``TextFormatter``)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(stream, TextFormatter())


def configure_logging(level: int | str = logging.INFO, log_format: LogFormat = "json") -> None:
    """Send every log record to stdout, one line each, with secrets redacted.

    ``log_format``: ``json`` (one object a line, what a platform's log pipeline wants) or
    ``text`` (for a person at a terminal). Replaces the root handler this function
    installed before (safe to call twice) and leaves handlers that others installed alone.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _RedactingStreamHandler):
            root.removeHandler(handler)
    root.addHandler(TextStreamHandler() if log_format == "text" else JsonStreamHandler())
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
