"""A JSON answer as handlers and the error handler make it, before it is a WSGI response.

Handlers return a ``Reply``; Flask sends it as a ``Response`` (``to_response``), the fast
path writes it to the WSGI server itself (``wsgi_headers``): one answer, two carriers,
the same status, headers and bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, NamedTuple

from flask import Response
from werkzeug.http import HTTP_STATUS_CODES

JSON = "application/json"


class Reply(NamedTuple):
    """Status, JSON body bytes and the handler's own headers (not Content-Type/Length)."""

    status: int
    body: bytes
    headers: list[tuple[str, str]]


def json_bytes(body: Any) -> bytes:
    """The bytes of a JSON response body."""
    return json.dumps(body).encode("utf-8")


def json_reply(body: Any, status: int, headers: Iterable[tuple[str, str]] = ()) -> Reply:
    """A reply with ``body`` as JSON."""
    return Reply(status, json_bytes(body), list(headers))


def to_response(reply: Reply) -> Response:
    """The Flask response carrying ``reply``."""
    return Response(reply.body, status=reply.status, headers=reply.headers, mimetype=JSON)


def status_line(status: int) -> str:
    """The WSGI status line werkzeug writes for ``status`` (``"200 OK"``)."""
    return f"{status} {HTTP_STATUS_CODES.get(status, 'UNKNOWN').upper()}"


def with_body_headers(reply: Reply) -> Reply:
    """``reply`` with the Content-Type and Content-Length werkzeug's response adds."""
    reply.headers.extend((("Content-Type", JSON), ("Content-Length", str(len(reply.body)))))
    return reply
