"""Alibaba request signatures, as the server computes them.

Both functions are the reference's verifiers (aliyun-api.md §3), checked there against the
real V1 SDK (RPC ``HMAC-SHA1``) and the V2 SDK (``ACS3-HMAC-SHA256``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import Mapping
from urllib.parse import parse_qsl, quote


def percent_encode(value: str) -> str:
    """RFC 3986 encoding as the V1 signer does it (space → %20, ``*`` → %2A, ``~`` kept)."""
    return quote(str(value), safe="-_.~")


def v1_string_to_sign(method: str, params: Mapping[str, str]) -> str:
    """``METHOD&%2F&encode(sorted k=v&...)`` over every parameter except ``Signature``."""
    canonical = "&".join(
        percent_encode(k) + "=" + percent_encode(v) for k, v in sorted(params.items()) if k != "Signature"
    )
    return method + "&" + percent_encode("/") + "&" + percent_encode(canonical)


def v1_signature(secret: str, string_to_sign: str) -> str:
    digest = hmac.new((secret + "&").encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def v1_verify(method: str, params: Mapping[str, str], secret: str) -> tuple[bool, str]:
    """Return (valid, string_to_sign); ``params`` are query and form parameters."""
    sts = v1_string_to_sign(method, params)
    return hmac.compare_digest(v1_signature(secret, sts), params.get("Signature", "")), sts


@dataclass(frozen=True)
class V3Authorization:
    """The parsed ``Authorization: ACS3-HMAC-SHA256 Credential=..,SignedHeaders=..,Signature=..``."""

    algorithm: str
    access_key_id: str
    signed_headers: str
    signature: str


def parse_v3_authorization(header: str) -> V3Authorization | None:
    """None when the header is not a well-formed ACS3 authorization."""
    algorithm, _, rest = header.partition(" ")
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep:
            return None
        fields[name] = value
    if not algorithm.startswith("ACS3-") or not {"Credential", "SignedHeaders", "Signature"} <= fields.keys():
        return None
    return V3Authorization(algorithm, fields["Credential"], fields["SignedHeaders"], fields["Signature"])


def v3_string_to_sign(
    auth: V3Authorization,
    method: str,
    path: str,
    raw_query: str,
    headers: Mapping[str, str],
    payload_hash: str,
) -> str:
    query = "&".join(
        f"{quote(k, safe='~')}={quote(v, safe='~')}"
        for k, v in sorted(parse_qsl(raw_query, keep_blank_values=True))
    )
    canonical_headers = "".join(
        f"{name}:{(headers.get(name) or '').strip()}\n" for name in auth.signed_headers.split(";")
    )
    canonical_request = "\n".join(
        [method, path or "/", query, canonical_headers, auth.signed_headers, payload_hash]
    )
    return auth.algorithm + "\n" + hashlib.sha256(canonical_request.encode()).hexdigest()


def v3_signature(secret: str, string_to_sign: str) -> str:
    return hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()


def v3_verify(
    auth: V3Authorization,
    method: str,
    path: str,
    raw_query: str,
    headers: Mapping[str, str],
    body: bytes,
    secret: str,
) -> tuple[bool, str]:
    """Return (valid, string_to_sign); the body must match ``x-acs-content-sha256``."""
    payload_hash = hashlib.sha256(body).hexdigest()
    sts = v3_string_to_sign(auth, method, path, raw_query, headers, payload_hash)
    if headers.get("x-acs-content-sha256") != payload_hash:
        return False, sts
    return hmac.compare_digest(v3_signature(secret, sts), auth.signature), sts
