"""Keeping the V1 SDK's own log records out of the logs while our client calls it.

``aliyunsdkcore`` logs every request's parameters at DEBUG (``AccountPassword`` included),
every response body, and on failure the request URL with its query string; with
``DEBUG=sdk`` in the environment it prints the URL to stderr through its own handler.
``SdkAliyunClient`` logs each call itself, without parameters, so records emitted by
those SDK loggers *during one of our calls* are dropped. The guard is a context variable,
so it applies to the calling thread only and leaves other users of the SDK alone.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
from typing import Iterator

# Every logger aliyunsdkcore 2.16 logs through on our call path (grep getLogger). A
# logger's filters only see the records it emits itself, so each one needs the filter.
SDK_LOGGER_NAMES = (
    "aliyunsdkcore",
    "aliyunsdkcore.client",
    "aliyunsdkcore.http.http_response",
    "aliyunsdkcore.auth.signers.access_key_signer",
    "aliyunsdkcore.auth.signers.sts_token_signer",
    "aliyunsdkcore.retry.retry_condition",
    # The vendored urllib3 logs request lines with the query string at DEBUG (its parent
    # logger is set to CRITICAL by the SDK, unless someone lowers it).
    "aliyunsdkcore.vendored.requests.packages.urllib3.connectionpool",
    "aliyunsdkcore.vendored.requests.packages.urllib3.poolmanager",
)

_inside_call: contextvars.ContextVar[bool] = contextvars.ContextVar("aliyun_sdk_call", default=False)
_install_lock = threading.Lock()


class _DropDuringCall(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not _inside_call.get()


_FILTER = _DropDuringCall()


def install() -> None:
    """Attach the filter to the SDK's loggers (idempotent, thread-safe)."""
    with _install_lock:
        for name in SDK_LOGGER_NAMES:
            logger = logging.getLogger(name)
            if _FILTER not in logger.filters:
                logger.addFilter(_FILTER)


@contextlib.contextmanager
def silenced() -> Iterator[None]:
    """Drop the SDK's log records emitted in this thread inside the ``with`` block."""
    token = _inside_call.set(True)
    try:
        yield
    finally:
        _inside_call.reset(token)
