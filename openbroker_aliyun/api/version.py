"""The ``X-Broker-API-Version`` header: required on every OSB request, 2.13 to 2.17."""

from __future__ import annotations

import re

from flask import Flask, request

from openbroker_aliyun.api import request_state
from openbroker_aliyun.errors import PreconditionFailed

HEADER = "X-Broker-API-Version"
MIN_VERSION = (2, 13)
MAX_VERSION = (2, 17)
SUPPORTED = f"{MIN_VERSION[0]}.{MIN_VERSION[1]}-{MAX_VERSION[0]}.{MAX_VERSION[1]}"

_FORMAT = re.compile(r"(\d{1,4})\.(\d{1,4})")
# What platforms send: the supported versions as written (checked first, it is cheaper).
_USUAL = frozenset(f"{MAX_VERSION[0]}.{minor}" for minor in range(MIN_VERSION[1], MAX_VERSION[1] + 1))


def check_version() -> None:
    """Reject OSB requests whose version header is missing, malformed or unsupported (412)."""
    if request_state.is_osb_request():
        request_state.current().api_version = api_version(request.headers.get(HEADER))


def api_version(header: str | None) -> str:
    """The OSB API version the header's value names; ``PreconditionFailed`` when it is
    missing, malformed or unsupported."""
    if header in _USUAL:
        return header
    value = (header or "").strip()
    if not value:
        raise PreconditionFailed(f"The {HEADER} header is required; supported: {SUPPORTED}.")
    match = _FORMAT.fullmatch(value)
    if match is None:
        raise PreconditionFailed(f"The {HEADER} header must be MAJOR.MINOR; supported: {SUPPORTED}.")
    version = (int(match.group(1)), int(match.group(2)))
    if not MIN_VERSION <= version <= MAX_VERSION:
        raise PreconditionFailed(f"OSB API version {value} is not supported; supported: {SUPPORTED}.")
    return value


def install(app: Flask) -> None:
    """Check the version header on every /v2 route."""
    app.before_request(check_version)
