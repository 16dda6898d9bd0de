"""Stand-ins for Alibaba Cloud in the transport tests: a signature-checking RPC server,
requests-mock on the SDK's own session, fake sleep/clock/random, test credentials."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import parse_qsl, quote

import requests_mock
from werkzeug.serving import WSGIRequestHandler
from werkzeug.wrappers import Request, Response

from openbroker_aliyun.aliyun.sdk_client import SdkAliyunClient
from openbroker_aliyun.aliyun.settings import AliyunSettings

ACCESS_KEY_ID = "LTAI5tTestKeyId"
ACCESS_KEY_SECRET = "kT9vQ2xW7zR4mN8pL3sJ6hF1dG5bC0aE"
STS_KEY_ID = "STS.NTestStsKeyId"
STS_SECRET = "Hs7Ff2Kk9Qq4Ww1Ee6Rr3Tt8Yy5Uu0Ii"
STS_TOKEN = "CAIS9QF1q6Ft5B2yfSjIr5bSEsKMq5ZNxTestSecurityTokenValue"
# Wire-hostile on purpose: space, '*', '~', '/', '+', '%', '&', '=', quotes, non-ASCII.
PASSWORD = "Pw d*~/+%&=\"'x9Ü"

COMMON_PARAMS = {
    "Format",
    "Version",
    "Action",
    "AccessKeyId",
    "SignatureMethod",
    "SignatureVersion",
    "SignatureType",
    "SignatureNonce",
    "Timestamp",
    "Signature",
    "RegionId",
    "SecurityToken",
}


# Copied from /work/shared/reference/aliyun-api.md §3, verified there against both SDKs.
def pct(s: object) -> str:
    return quote(str(s), safe="-_.~")


def verify_v1(method: str, params: dict[str, str], secret: str) -> tuple[bool, str]:
    canon = "&".join(pct(k) + "=" + pct(v) for k, v in sorted(params.items()) if k != "Signature")
    sts = method + "&" + pct("/") + "&" + pct(canon)
    sig = base64.b64encode(hmac.new((secret + "&").encode(), sts.encode(), hashlib.sha1).digest()).decode()
    return hmac.compare_digest(sig, params.get("Signature", "")), sts


@dataclass
class Seen:
    """One request as the server received it."""

    method: str
    params: dict[str, str]
    headers: dict[str, str]
    scheme: str


@dataclass
class SigningServer:
    """A tiny Alibaba RPC endpoint: checks the V1 signature, then answers from ``script``
    (a queue of ``(status, body)``) or with 200 and the API parameters it received."""

    url: str = ""
    seen: list[Seen] = field(default_factory=list)
    script: deque[tuple[int, Any]] = field(default_factory=deque)
    hold: threading.Event | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        params = dict(parse_qsl(request.query_string.decode(), keep_blank_values=True))
        params.update(request.form.to_dict())
        with self.lock:
            self.seen.append(Seen(request.method, params, dict(request.headers), request.scheme))
            scripted = self.script.popleft() if self.script else None
        if self.hold is not None:
            self.hold.wait(10)
        status, body = self._answer(request.method, params, scripted)
        return self._reply(status, body)(environ, start_response)

    @staticmethod
    def _answer(method: str, params: dict[str, str], scripted: tuple[int, Any] | None) -> tuple[int, Any]:
        secrets = {ACCESS_KEY_ID: ACCESS_KEY_SECRET, STS_KEY_ID: STS_SECRET}
        key_id = params.get("AccessKeyId", "")
        if key_id not in secrets:
            return 404, _error("InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        if key_id == STS_KEY_ID and params.get("SecurityToken") != STS_TOKEN:
            return 400, _error("InvalidSecurityToken.Mismatch", "The security token is wrong.")
        valid, string_to_sign = verify_v1(method, params, secrets[key_id])
        if not valid:
            message = "Specified signature is not matched with our calculation. server string to sign is:"
            return 400, _error("SignatureDoesNotMatch", message + string_to_sign)
        if scripted is not None:
            return scripted
        api = {k: v for k, v in params.items() if k not in COMMON_PARAMS}
        return 200, {"RequestId": str(uuid.uuid4()), "Action": params.get("Action"), "Received": api}

    @staticmethod
    def _reply(status: int, body: Any) -> Response:
        if isinstance(body, (dict, list)):
            return Response(json.dumps(body), status=status, content_type="application/json;charset=utf-8")
        return Response(body, status=status, content_type="text/html")


def _error(code: str, message: str) -> dict[str, str]:
    return {"RequestId": str(uuid.uuid4()), "HostId": "rds.aliyuncs.com", "Code": code, "Message": message}


class QuietHandler(WSGIRequestHandler):
    # The request line carries AccountPassword; the log tests must only see our records.
    def log(self, type: str, message: str, *args: Any) -> None:
        pass


def settings_for(endpoint: str | None = None, **overrides: Any) -> AliyunSettings:
    values: dict[str, Any] = {
        "access_key_id": ACCESS_KEY_ID,
        "access_key_secret": ACCESS_KEY_SECRET,
        "region_id": "cn-hangzhou",
        "endpoint": endpoint,
    }
    values.update(overrides)
    return AliyunSettings(**values)


@dataclass
class FakeTime:
    """A clock that only moves when the client sleeps; records every sleep."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass
class Recorder:
    """An ``on_call`` hook that keeps what it is told."""

    calls: list[tuple[str, str, str, int, float]] = field(default_factory=list)

    def __call__(self, product: str, action: str, outcome: str, attempt: int, duration: float) -> None:
        self.calls.append((product, action, outcome, attempt, duration))

    @property
    def outcomes(self) -> list[tuple[str, int]]:
        return [(outcome, attempt) for _, _, outcome, attempt, _ in self.calls]


@dataclass
class MockedClient:
    client: SdkAliyunClient
    adapter: requests_mock.Adapter
    time: FakeTime
    recorder: Recorder

    def script(self, *responses: dict[str, Any]) -> None:
        self.adapter.register_uri("POST", requests_mock.ANY, list(responses))

    @property
    def requests(self) -> list[Any]:
        return list(self.adapter.request_history)

    def query(self, index: int = -1) -> dict[str, str]:
        url = self.adapter.request_history[index].url
        return dict(parse_qsl(url.split("?", 1)[1], keep_blank_values=True))


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
