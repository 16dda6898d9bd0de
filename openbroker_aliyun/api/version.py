"""The ``X-Broker-API-Version`` header: required on every OSB request, 2.13 to 2.17."""

from __future__ import annotations

import re

from openbroker_aliyun.api.request_state import RequestState, environ_key
from openbroker_aliyun.errors import PreconditionFailed

HEADER = "X-Broker-API-Version"
MIN_VERSION = (2, 13)
MAX_VERSION = (2, 17)
SUPPORTED = f"{MIN_VERSION[0]}.{MIN_VERSION[1]}-{MAX_VERSION[0]}.{MAX_VERSION[1]}"

_ENVIRON_KEY = environ_key(HEADER)
_FORMAT = re.compile(r"(\d{1,4})\.(\d{1,4})")


def read_version(state: RequestState) -> None:
    """The pipeline's version check: 412 when the header is missing, malformed or unsupported."""
    state.api_version = api_version(state.header(_ENVIRON_KEY))


def api_version(header: str | None) -> str:
    """The OSB API version the header's value names; ``PreconditionFailed`` when it is
    missing, malformed or unsupported."""
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
