"""The RPC wire protocol: reading a call, authenticating it, rendering the JSON answer.

A call is ``POST /`` (or GET) with parameters in the query string and/or a form body;
the action comes from ``Action`` or ``x-acs-action``, the product from the version.
V1 calls carry an ``HMAC-SHA1`` signature in the parameters, V3 calls an
``Authorization: ACS3-HMAC-SHA256 ...`` header (aliyun-api.md §1.2, §2.2, §3).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Callable, Mapping
from urllib.parse import parse_qsl

from werkzeug.wrappers import Request, Response

from .errors import ApiError, missing_parameter
from .signing import parse_v3_authorization, v1_verify, v3_verify

PRODUCT_BY_VERSION = {"2014-08-15": "rds", "2015-01-01": "r-kvstore"}
HOST_ID = {"rds": "rds.aliyuncs.com", "r-kvstore": "r-kvstore.aliyuncs.com"}

# Parameters every V1 call carries; the rest are the action's own parameters.
COMMON_PARAMETERS = frozenset(
    {
        "Action",
        "Version",
        "Format",
        "AccessKeyId",
        "Signature",
        "SignatureMethod",
        "SignatureVersion",
        "SignatureType",
        "SignatureNonce",
        "Timestamp",
        "SecurityToken",
    }
)

_TIMESTAMP_FORMATS = ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class RawCall:
    """Everything the protocol needs from one HTTP request."""

    method: str
    path: str
    raw_query: str
    signed_params: dict[str, str]  # query + form parameters: what a V1 signature covers
    headers: Mapping[str, str]
    body: bytes
    action: str | None
    version: str | None

    @property
    def product(self) -> str | None:
        return PRODUCT_BY_VERSION.get(self.version or "")

    def api_params(self) -> dict[str, str]:
        """The action's own parameters (common parameters removed, empty values dropped)."""
        return {k: v for k, v in self.signed_params.items() if k not in COMMON_PARAMETERS and v != ""}


def read_call(request: Request) -> RawCall:
    raw_query = request.query_string.decode("latin-1")
    # keep_blank_values: the V1 SDK signs `SignatureType=` with an empty value.
    params = dict(parse_qsl(raw_query, keep_blank_values=True))
    body = request.get_data(cache=True)
    if request.mimetype == "application/x-www-form-urlencoded" and body:
        params.update(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
    headers = {k.lower(): v for k, v in request.headers.items()}
    return RawCall(
        method=request.method.upper(),
        path=request.path,
        raw_query=raw_query,
        signed_params=params,
        headers=headers,
        body=body,
        action=params.get("Action") or headers.get("x-acs-action") or None,
        version=params.get("Version") or headers.get("x-acs-version") or None,
    )


def require_product(call: RawCall) -> str:
    """The product of the call, or the error Alibaba's gateway answers."""
    if not call.action:
        raise missing_parameter("Action")
    if not call.version:
        raise missing_parameter("Version")
    product = call.product
    if product is None:
        raise ApiError("InvalidVersion", "Specified parameter Version is not valid.", 400)
    return product


def _parse_timestamp(text: str) -> float | None:
    for fmt in _TIMESTAMP_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC).timestamp()
        except ValueError:
            continue
    return None


class Authenticator:
    """Checks the AccessKey, the signature (V1 or V3), the timestamp and the nonce."""

    def __init__(
        self,
        access_keys: Mapping[str, str],
        *,
        timestamp_tolerance_seconds: float = 900.0,
        check_nonce: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._keys = dict(access_keys)
        self._tolerance = timestamp_tolerance_seconds
        self._check_nonce = check_nonce
        self._clock = clock
        self._nonces: dict[str, float] = {}
        self._lock = threading.Lock()

    def authenticate(self, call: RawCall) -> str:
        """Return the caller's AccessKeyId or raise the error Alibaba answers."""
        authorization = call.headers.get("authorization", "")
        if authorization.startswith("ACS3-"):
            return self._v3(call, authorization)
        return self._v1(call)

    def _secret(self, access_key_id: str) -> str:
        secret = self._keys.get(access_key_id)
        if secret is None:
            raise ApiError("InvalidAccessKeyId.NotFound", "Specified access key is not found.", 404)
        return secret

    def _v1(self, call: RawCall) -> str:
        params = call.signed_params
        access_key_id = params.get("AccessKeyId")
        if not access_key_id:
            raise missing_parameter("AccessKeyId")
        if not params.get("Signature"):
            raise missing_parameter("Signature")
        if params.get("SignatureMethod", "HMAC-SHA1") != "HMAC-SHA1":
            raise ApiError(
                "IncompleteSignature", "The request signature does not conform to Aliyun standards.", 400
            )
        secret = self._secret(access_key_id)
        valid, sts = v1_verify(call.method, params, secret)
        if not valid:
            raise _signature_mismatch(sts)
        self._check_time(params.get("Timestamp"), "Timestamp")
        self._use_nonce(params.get("SignatureNonce"), "SignatureNonce")
        return access_key_id

    def _v3(self, call: RawCall, authorization: str) -> str:
        auth = parse_v3_authorization(authorization)
        if auth is None or auth.algorithm != "ACS3-HMAC-SHA256":
            raise ApiError(
                "IncompleteSignature", "The request signature does not conform to Aliyun standards.", 400
            )
        secret = self._secret(auth.access_key_id)
        valid, sts = v3_verify(auth, call.method, call.path, call.raw_query, call.headers, call.body, secret)
        if not valid:
            raise _signature_mismatch(sts)
        self._check_time(call.headers.get("x-acs-date"), "x-acs-date")
        self._use_nonce(call.headers.get("x-acs-signature-nonce"), "x-acs-signature-nonce")
        return auth.access_key_id

    def _check_time(self, text: str | None, name: str) -> None:
        if not text:
            raise missing_parameter(name)
        when = _parse_timestamp(text)
        if when is None:
            raise ApiError(
                "InvalidTimeStamp.Format",
                f"Specified {name} is not in the ISO 8601 format YYYY-MM-DDThh:mm:ssZ.",
                400,
            )
        if abs(self._clock() - when) > self._tolerance:
            raise ApiError(
                "InvalidTimeStamp.Expired",
                f"Specified time stamp or date value is expired (more than {int(self._tolerance)} s off).",
                400,
            )

    def _use_nonce(self, nonce: str | None, name: str) -> None:
        if not nonce:
            raise missing_parameter(name)
        if not self._check_nonce:
            return
        now = self._clock()
        with self._lock:
            if len(self._nonces) > 10_000:
                # Bounded memory: a nonce older than the timestamp window can never be replayed.
                self._nonces = {n: t for n, t in self._nonces.items() if t > now}
            if self._nonces.get(nonce, 0.0) > now:
                raise ApiError("SignatureNonceUsed", "Specified signature nonce was used already.", 400)
            self._nonces[nonce] = now + 2 * self._tolerance


def _signature_mismatch(string_to_sign: str) -> ApiError:
    # The V1 SDK splits this message on ':' and compares the second part with its own
    # string-to-sign, so the text after the colon must be exactly the string-to-sign.
    return ApiError(
        "SignatureDoesNotMatch",
        "Specified signature is not matched with our calculation. server string to sign is:" + string_to_sign,
        400,
    )


def new_request_id() -> str:
    return str(uuid.uuid4()).upper()


def json_response(body: Mapping[str, Any], status: int = 200) -> Response:
    return Response(
        json.dumps(body, ensure_ascii=False),
        status=status,
        content_type="application/json;charset=utf-8",
    )


def error_response(error: ApiError, request_id: str, product: str | None, host: str) -> Response:
    host_id = HOST_ID.get(product or "", host)
    return json_response(error.body(request_id, host_id), error.status)
