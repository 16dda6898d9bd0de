"""``AliyunPort`` over the V1 SDK (``aliyun-python-sdk-core``): ``SdkAliyunClient``.

What this adds to the bare SDK (see /docs/aliyun-transport.md):

* HTTPS always, unless an endpoint override says ``http://`` to a loopback host (the
  SDK's default is plain HTTP); CA bundle from ``AliyunSettings.verify``.
* The proxy is passed explicitly, so ``HTTP_PROXY`` in the environment never captures
  calls (the SDK would use it even for hosts listed in ``NO_PROXY``).
* Retries with capped, jittered exponential backoff for transient errors of idempotent
  calls (the SDK never retries RDS or R-kvstore calls).
* One error type, ``AliyunError``, whose message has every secret masked; the SDK's own
  log records, which carry passwords, are dropped during our calls.

Thread safety: one client may serve many threads. Every call builds its own
``CommonRequest`` (the SDK mutates a request while signing it), the endpoint is resolved
once at construction, and the only state the threads share is the SDK's ``requests``
session, whose connection pool is thread-safe (size it with ``AliyunSettings.pool_size``
to the number of threads).
"""

from __future__ import annotations

import json
import logging
import random as random_module
import re
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from aliyunsdkcore.acs_exception.exceptions import ClientException, ServerException
from aliyunsdkcore.auth.credentials import StsTokenCredential
from aliyunsdkcore.auth.signers.sts_token_signer import StsTokenSigner
from aliyunsdkcore.client import AcsClient
from aliyunsdkcore.endpoint.default_endpoint_resolver import DefaultEndpointResolver
from aliyunsdkcore.endpoint.resolver_endpoint_request import ResolveEndpointRequest
from aliyunsdkcore.request import CommonRequest
from aliyunsdkr_kvstore.endpoint import endpoint_data as kvstore_endpoint_data
from aliyunsdkrds.endpoint import endpoint_data as rds_endpoint_data

from openbroker_aliyun.aliyun import sdk_logs
from openbroker_aliyun.aliyun.errors import is_transient
from openbroker_aliyun.aliyun.port import AliyunError, Product
from openbroker_aliyun.aliyun.redaction import Redactor, secret_values
from openbroker_aliyun.aliyun.settings import AliyunSettings
from openbroker_aliyun.aliyun.wire_params import flatten_params

logger = logging.getLogger(__name__)

CallObserver = Callable[[str, str, str, int, float], None]
"""``on_call(product, action, outcome_code, attempt, duration_s)``, once per attempt;
``outcome_code`` is ``"OK"`` or the Alibaba error code."""

OUTCOME_OK = "OK"

# Longest part of a non-JSON error body kept in a message (an HTML 502 page is long).
_MAX_BODY_CHARS = 500

_URL_QUERY = re.compile(r"/\?[^\s'\")]*")

# Set by the SDK's signer; a caller's value would be overwritten or break the signature.
_RESERVED_PARAMS = frozenset(
    {
        "Action",
        "Version",
        "Format",
        "AccessKeyId",
        "Signature",
        "SignatureMethod",
        "SignatureVersion",
        "SignatureNonce",
        "SignatureType",
        "Timestamp",
        "SecurityToken",
    }
)


@dataclass(frozen=True)
class _ProductSpec:
    sdk_product: str
    version: str
    endpoint_data: Any


_PRODUCTS: dict[Product, _ProductSpec] = {
    "rds": _ProductSpec("Rds", "2014-08-15", rds_endpoint_data),
    "r-kvstore": _ProductSpec("R-kvstore", "2015-01-01", kvstore_endpoint_data),
}


class SdkAliyunClient:
    """``AliyunPort`` implemented with the V1 SDK's ``AcsClient`` and ``CommonRequest``.

    ``on_call`` is told about every attempt (for metrics). ``sleep``, ``random`` (in
    [0, 1)) and ``clock`` (monotonic seconds) drive the backoff; tests replace them.
    Construction raises ``ValueError`` when no endpoint is known for the region.
    """

    def __init__(
        self,
        settings: AliyunSettings,
        *,
        on_call: CallObserver | None = None,
        sleep: Callable[[float], None] = time.sleep,
        random: Callable[[], float] = random_module.random,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        sdk_logs.install()
        self._settings = settings
        self._on_call = on_call
        self._sleep = sleep
        self._random = random
        self._clock = clock
        self._acs = _build_acs_client(settings)
        self._endpoints = {product: self._endpoint(product) for product in _PRODUCTS}

    @property
    def session(self) -> Any:
        """The SDK's (vendored) ``requests`` session: mount transport adapters here."""
        return self._acs.session

    def close(self) -> None:
        """Close the pooled connections."""
        self._acs.session.close()

    def call(
        self,
        product: Product,
        action: str,
        params: Mapping[str, Any],
        *,
        idempotent: bool = False,
    ) -> dict[str, Any]:
        """Perform ``action`` and return the response JSON; see ``AliyunPort.call``.

        Transient failures (throttling, 5xx, transport errors) are retried only when
        ``idempotent``. ``ValueError``/``TypeError`` for a malformed call (unknown
        product, reserved or unsupported parameter) before anything is sent.
        """
        spec = _PRODUCTS.get(product)
        if spec is None:  # the type says Product, but brokers are Python
            raise ValueError(f"unknown Alibaba product {product!r}; expected one of {sorted(_PRODUCTS)}")
        if not (action.isascii() and action.isalnum()):
            raise ValueError(f"invalid Alibaba API action name {action!r}")
        reserved = _RESERVED_PARAMS.intersection(params)
        if reserved:
            raise ValueError(f"parameters {sorted(reserved)} are set by the SDK and must not be passed")
        query = flatten_params(params)
        redact = Redactor(
            [*secret_values(query), self._settings.access_key_secret, self._settings.security_token]
        )
        policy = self._settings.retry
        started = self._clock()
        attempt = 0
        while True:
            attempt += 1
            attempt_started = self._clock()
            try:
                result = self._attempt(spec, self._endpoints[product], action, query, redact)
            except AliyunError as error:
                self._observe(product, action, error.code, attempt, attempt_started, error.request_id)
                if not (idempotent and error.retryable and attempt < policy.max_attempts):
                    raise
                delay = policy.backoff(attempt, self._random)
                if self._clock() + delay - started > policy.deadline_s:
                    logger.debug(
                        "Alibaba %s %s: not retrying, the retry deadline would pass", product, action
                    )
                    raise
                logger.debug("Alibaba %s %s: retrying in %.2f s after %s", product, action, delay, error.code)
                self._sleep(delay)
                continue
            self._observe(product, action, OUTCOME_OK, attempt, attempt_started, result.get("RequestId"))
            return result

    def _attempt(
        self, spec: _ProductSpec, endpoint: str, action: str, query: dict[str, str], redact: Redactor
    ) -> dict[str, Any]:
        # A fresh request per attempt: the SDK writes into it while signing.
        request = CommonRequest(product=spec.sdk_product, version=spec.version, action_name=action)
        request.set_method("POST")
        request.set_accept_format("JSON")
        request.set_protocol_type("http" if endpoint.startswith("http://") else "https")
        request.set_endpoint(endpoint)
        for name, value in query.items():
            request.add_query_param(name, value)
        try:
            with sdk_logs.silenced():
                raw = self._acs.do_action_with_exception(request)
        except Exception as exc:  # everything the SDK raises becomes an AliyunError
            failure = _to_aliyun_error(exc, redact)
        else:
            return _parse_body(raw)
        # Raised outside the except block, so the SDK exception (whose text may hold the
        # request URL with passwords) is not chained as __context__.
        raise failure

    def _endpoint(self, product: Product) -> str:
        override = self._settings.endpoint_for(product)
        if override is not None:
            return override
        spec = _PRODUCTS[product]
        resolve = ResolveEndpointRequest(self._settings.region_id, spec.sdk_product, None, "openAPI")
        resolve.endpoint_map = spec.endpoint_data.getEndpointMap()
        resolve.endpoint_regional = spec.endpoint_data.getEndpointRegional()
        try:
            host = DefaultEndpointResolver(self._acs).resolve(resolve)
        except ClientException:
            raise ValueError(
                f"no known {spec.sdk_product} endpoint for region {self._settings.region_id!r}; "
                "check AliyunSettings.region_id or set an endpoint override"
            ) from None
        return "https://" + host

    def _observe(
        self,
        product: str,
        action: str,
        outcome: str,
        attempt: int,
        attempt_started: float,
        request_id: str | None,
    ) -> None:
        duration = max(self._clock() - attempt_started, 0.0)
        # Never the parameters: they carry passwords.
        logger.debug(
            "Alibaba %s %s attempt %d: %s (request id %s, %.3f s)",
            product,
            action,
            attempt,
            outcome,
            request_id,
            duration,
        )
        if self._on_call is None:
            return
        try:
            self._on_call(product, action, outcome, attempt, duration)
        except Exception:
            # A broken metrics hook must not fail the Alibaba call it reports on.
            logger.warning("the on_call hook raised; ignoring it", exc_info=True)


def _build_acs_client(settings: AliyunSettings) -> AcsClient:
    common: dict[str, Any] = {
        "region_id": settings.region_id,
        "auto_retry": False,  # retries are ours (RetryPolicy); the SDK's only know ECS
        "connect_timeout": settings.connect_timeout,
        "timeout": settings.read_timeout,
        "verify": _verify_value(settings.verify),
        "pool_size": settings.pool_size,
        # Explicit, so HTTP(S)_PROXY in the environment is never used (None = direct).
        "proxy": {"http": settings.proxy, "https": settings.proxy},
    }
    if settings.security_token is None:
        return AcsClient(settings.access_key_id, settings.access_key_secret, **common)
    credential = StsTokenCredential(
        settings.access_key_id, settings.access_key_secret, settings.security_token
    )
    client = AcsClient(credential=credential, **common)
    # The SDK's signer factory prefers ALIYUN_ACCESS_KEY_ID/SECRET from the environment
    # over an STS credential object; sign with the configured token whatever the env says.
    client._signer = StsTokenSigner(credential)
    return client


def _verify_value(verify: bool | str) -> bool | str:
    if verify is True:
        # The SDK's vendored requests carries a 2017 CA bundle; prefer certifi's.
        try:
            import certifi
        except ImportError:  # pragma: no cover - certifi comes with requests
            return True
        return str(certifi.where())
    return verify


def _to_aliyun_error(exc: Exception, redact: Redactor) -> AliyunError:
    if isinstance(exc, ServerException):
        code = exc.get_error_code() or "SDK.UnknownServerError"
        status = exc.get_http_status()
        return AliyunError(
            code,
            _shorten(redact(str(exc.get_error_msg() or ""))),
            http_status=status,
            request_id=exc.get_request_id(),
            retryable=is_transient(code, status),
        )
    if isinstance(exc, ClientException):
        code = exc.get_error_code() or "SDK.ClientError"
        # Transport errors quote the whole request URL; its query is noise (and secrets).
        message = _URL_QUERY.sub("/?...", redact(str(exc.get_error_msg() or "")))
        return AliyunError(code, _shorten(message), retryable=is_transient(code, None))
    return AliyunError("SDK.UnexpectedError", redact(f"{type(exc).__name__}: {exc}"), retryable=False)


def _parse_body(raw: bytes | str) -> dict[str, Any]:
    try:
        data = json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
    except (UnicodeDecodeError, ValueError):
        data = None
    if not isinstance(data, dict):
        raise AliyunError(
            "SDK.InvalidResponseBody", "Alibaba Cloud answered 2xx with a body that is not a JSON object"
        )
    return data


def _shorten(text: str) -> str:
    return text if len(text) <= _MAX_BODY_CHARS else text[: _MAX_BODY_CHARS - 3] + "..."
