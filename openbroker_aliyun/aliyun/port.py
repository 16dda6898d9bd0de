"""The port to Alibaba Cloud: one call, in wire terms.

Brokers depend on ``AliyunPort`` only. ``openbroker_aliyun.aliyun.sdk_client`` implements
it over the V1 SDK (``aliyun-python-sdk-core``); moving to another SDK is a change of
that one module. Parameters and results are the PascalCase JSON of the API reference.
"""

from __future__ import annotations

from typing import Any, Literal, Mapping, Protocol

Product = Literal["rds", "r-kvstore"]


class AliyunError(Exception):
    """Every failure of an Alibaba call, normalised.

    ``code`` is Alibaba's error code (``Throttling``, ``InvalidDBInstanceId.NotFound``,
    ``SDK.HttpError`` for transport failures), ``retryable`` whether the same call may
    succeed if repeated. The message never contains a secret.
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        http_status: int | None = None,
        request_id: str | None = None,
        retryable: bool = False,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.http_status = http_status
        self.request_id = request_id
        self.retryable = retryable


class AliyunPort(Protocol):
    def call(
        self,
        product: Product,
        action: str,
        params: Mapping[str, Any],
        *,
        idempotent: bool = False,
    ) -> dict[str, Any]:
        """Perform ``action`` and return the response JSON.

        ``idempotent`` allows retries of throttling, 5xx and transport errors; set it for
        reads and for creates that carry a deterministic ``ClientToken``/``Token``.
        Raises ``AliyunError``.
        """
        ...
