"""What text from the wire may be before it goes anywhere near the state store.

Ids and GUIDs are kept in columns of 255 characters; PostgreSQL refuses a NUL character
in any text; and a string that is not valid Unicode (a lone surrogate from a JSON
``\\ud800`` escape) cannot be encoded for the database at all. Such values are a 400
naming the field, checked here before the engine sees them, so that the database never
has to refuse them (a refusal there would look like a store outage).

Percent-decoding: WSGI servers hand over the path and query string as bytes (in a
latin-1 ``str``); werkzeug decodes them as UTF-8 and *replaces* invalid sequences, so
``%FF%FE`` and ``%FE%FF`` would both name the instance ``"\\ufffd\\ufffd"``. The
``check_request_encoding`` hook decodes them strictly instead and refuses what is not
UTF-8.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, unquote_to_bytes, urlsplit

from marshmallow import ValidationError

from openbroker_aliyun.errors import BadRequest

__all__ = [
    "MAX_ID_LENGTH",
    "MAX_OPERATION_LENGTH",
    "check_encoding",
    "check_id",
    "decode_query",
    "raw_path",
    "text_problem",
    "text_validator",
]

#: The longest id or GUID accepted: the state store's id columns hold 255 characters.
MAX_ID_LENGTH = 255
#: The longest ``operation`` the spec allows a broker to return (OSB 2.15).
MAX_OPERATION_LENGTH = 10_000

# C0 controls (NUL included), DEL and the C1 controls: never part of an id or a GUID,
# and NUL cannot be stored by PostgreSQL at all.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def text_problem(value: str, *, max_length: int = MAX_ID_LENGTH) -> str | None:
    """Why ``value`` cannot be accepted as an id or stored string, or None when it can."""
    if len(value) > max_length:
        return f"is longer than {max_length} characters"
    if _CONTROL.search(value) is not None:
        return "contains a control character (such as NUL)"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode (a lone surrogate)"
    return None


def check_id(value: str, name: str) -> str:
    """``value`` when it is a usable id; ``BadRequest`` naming ``name`` otherwise."""
    if not value:
        raise BadRequest(f"Invalid {name}: it must not be empty.")
    problem = text_problem(value)
    if problem is not None:
        raise BadRequest(f"Invalid {name}: it {problem}.")
    return value


def text_validator(max_length: int = MAX_ID_LENGTH) -> Any:
    """A marshmallow validator applying ``text_problem`` to a string field."""

    def validate(value: str) -> None:
        problem = text_problem(value, max_length=max_length)
        if problem is not None:
            raise ValidationError(f"The value {problem}.")

    return validate


def raw_path(environ: Mapping[str, Any]) -> bytes:
    """The request path's bytes after percent-decoding, before any decoding as text.

    From the request target as sent (``RAW_URI``, set by gunicorn and werkzeug) where
    there is one: werkzeug's development server puts a path into ``PATH_INFO`` already
    decoded with replacement characters. Else from ``PATH_INFO`` (bytes in a latin-1
    ``str``, as WSGI has it).
    """
    target = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if target:
        path = target.split("?", 1)[0] if target.startswith("/") else urlsplit(target).path
        return unquote_to_bytes(path.encode("latin-1", "replace"))
    return str(environ.get("PATH_INFO", "")).encode("latin-1", "replace")


def decode_query(raw: str) -> list[tuple[str, str]]:
    """The query arguments, decoded strictly as UTF-8 (bytes in a latin-1 ``str`` in)."""
    try:
        return parse_qsl(raw.encode("latin-1").decode("utf-8"), keep_blank_values=True, errors="strict")
    except (UnicodeEncodeError, UnicodeDecodeError):
        raise BadRequest(
            "The query string is not valid UTF-8 after percent-decoding; "
            "query values must be UTF-8 text, percent-encoded."
        ) from None


def check_encoding(environ: Mapping[str, Any]) -> None:
    """``BadRequest`` unless the request's path and query string are UTF-8 once percent-decoded."""
    try:
        raw_path(environ).decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest(
            "The request path is not valid UTF-8 after percent-decoding; "
            "ids must be UTF-8 text, percent-encoded."
        ) from None
    query = environ.get("QUERY_STRING", "")
    if query:
        decode_query(query)
