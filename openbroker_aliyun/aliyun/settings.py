"""How the broker reaches Alibaba Cloud: credentials, region, endpoints, timeouts, retries.

``AliyunSettings`` is validated when it is built, so a wrong endpoint or a missing key
stops the broker at start-up rather than at the first provision. Error messages name
fields and environment variables, never their values (the values may be secrets).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Mapping
from urllib.parse import urlsplit

from openbroker_aliyun.aliyun.port import Product
from openbroker_aliyun.aliyun.retry import RetryPolicy

ENV_ACCESS_KEY_ID = "ALIBABA_CLOUD_ACCESS_KEY_ID"
ENV_ACCESS_KEY_SECRET = "ALIBABA_CLOUD_ACCESS_KEY_SECRET"  # noqa: S105 (a name)
ENV_SECURITY_TOKEN = "ALIBABA_CLOUD_SECURITY_TOKEN"  # noqa: S105 (a name)
ENV_REGION_ID = "ALIBABA_CLOUD_REGION_ID"
ENV_ENDPOINT = "ALIBABA_CLOUD_ENDPOINT"
ENV_RDS_ENDPOINT = "ALIBABA_CLOUD_RDS_ENDPOINT"
ENV_KVSTORE_ENDPOINT = "ALIBABA_CLOUD_KVSTORE_ENDPOINT"
ENV_CA_BUNDLE = "ALIBABA_CLOUD_CA_BUNDLE"


@dataclass(frozen=True)
class AliyunSettings:
    """Everything ``SdkAliyunClient`` needs.

    ``endpoint`` overrides the endpoint of both products (e.g. ``http://127.0.0.1:8080``
    for the emulator); ``rds_endpoint`` / ``kvstore_endpoint`` override one product and
    win over ``endpoint``. An endpoint without a scheme is reached over HTTPS. Plain
    ``http://`` is accepted for loopback hosts only, unless ``allow_insecure_endpoint``.
    ``verify`` is True (the ``certifi`` CA bundle), False, or the path of a CA bundle.
    ``proxy`` is used for both schemes; the environment's ``HTTP(S)_PROXY`` never is.
    """

    access_key_id: str
    access_key_secret: str = field(repr=False)
    region_id: str
    security_token: str | None = field(default=None, repr=False)
    endpoint: str | None = None
    rds_endpoint: str | None = None
    kvstore_endpoint: str | None = None
    allow_insecure_endpoint: bool = False
    verify: bool | str = True
    proxy: str | None = None
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    pool_size: int = 10
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    def __post_init__(self) -> None:
        for name in ("access_key_id", "access_key_secret", "region_id"):
            if not getattr(self, name):
                raise ValueError(f"AliyunSettings.{name} must not be empty")
        if self.security_token == "":
            raise ValueError("AliyunSettings.security_token must be None or non-empty")
        for name in ("connect_timeout", "read_timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(f"AliyunSettings.{name} must be a positive number of seconds")
        if self.pool_size < 1:
            raise ValueError("AliyunSettings.pool_size must be at least 1")
        for name in ("endpoint", "rds_endpoint", "kvstore_endpoint"):
            value = getattr(self, name)
            if value is not None:
                normalize_endpoint(value, allow_insecure=self.allow_insecure_endpoint, field_name=name)

    def endpoint_for(self, product: Product) -> str | None:
        """The normalised ``scheme://host[:port]`` override for ``product``, or None."""
        specific = self.rds_endpoint if product == "rds" else self.kvstore_endpoint
        chosen = specific or self.endpoint
        if chosen is None:
            return None
        return normalize_endpoint(chosen, allow_insecure=self.allow_insecure_endpoint)

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: object) -> AliyunSettings:
        """Read the ``ALIBABA_CLOUD_*`` variables (see docs/aliyun-transport.md).

        Missing or empty ``ALIBABA_CLOUD_ACCESS_KEY_ID``, ``ALIBABA_CLOUD_ACCESS_KEY_SECRET``
        or ``ALIBABA_CLOUD_REGION_ID`` raise ``ValueError`` naming the variables.
        ``overrides`` set any other field (timeouts, ``retry``, ``proxy``...).
        """
        required = (ENV_ACCESS_KEY_ID, ENV_ACCESS_KEY_SECRET, ENV_REGION_ID)
        missing = [name for name in required if not environ.get(name)]
        if missing:
            raise ValueError(
                "missing Alibaba Cloud settings: set the environment variable(s) " + ", ".join(missing)
            )
        values: dict[str, object] = {
            "access_key_id": environ[ENV_ACCESS_KEY_ID],
            "access_key_secret": environ[ENV_ACCESS_KEY_SECRET],
            "region_id": environ[ENV_REGION_ID],
            "security_token": environ.get(ENV_SECURITY_TOKEN) or None,
            "endpoint": environ.get(ENV_ENDPOINT) or None,
            "rds_endpoint": environ.get(ENV_RDS_ENDPOINT) or None,
            "kvstore_endpoint": environ.get(ENV_KVSTORE_ENDPOINT) or None,
        }
        if environ.get(ENV_CA_BUNDLE):
            values["verify"] = environ[ENV_CA_BUNDLE]
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]


def normalize_endpoint(endpoint: str, *, allow_insecure: bool, field_name: str = "endpoint") -> str:
    """``scheme://host[:port]`` for an endpoint override, or ``ValueError``.

    No scheme means HTTPS. ``http://`` is refused for a non-loopback host unless
    ``allow_insecure``: the AccessKey signature protects integrity, not the passwords in
    the query string.
    """
    text = endpoint.strip()
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise ValueError(f"AliyunSettings.{field_name} is not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError(
            f"AliyunSettings.{field_name} must use https:// (or http:// for a loopback emulator)"
        )
    host = parts.hostname
    if not host:
        raise ValueError(f"AliyunSettings.{field_name} has no host")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(
            f"AliyunSettings.{field_name} must be scheme://host[:port] only (no path, query or user)"
        )
    if scheme == "http" and not allow_insecure and not is_loopback(host):
        raise ValueError(
            f"AliyunSettings.{field_name} uses plain http:// to a non-loopback host; use https://, "
            "or set allow_insecure_endpoint=True if this is really intended"
        )
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    return f"{scheme}://{netloc}"


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IP addresses (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
