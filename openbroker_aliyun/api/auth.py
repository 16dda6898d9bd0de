"""HTTP Basic authentication of every OSB request, against one or more credential pairs.

Several pairs are accepted so that operators can rotate the broker password: register
the new pair, update the platform, then drop the old one. Every pair is compared in
constant time, user and password both, with no early exit that would reveal which part
(or which pair) was wrong.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Sequence

from flask import request
from werkzeug.datastructures import Authorization

from openbroker_aliyun.api.request_state import RequestState, environ_key
from openbroker_aliyun.config import Credential
from openbroker_aliyun.errors import Unauthorized


def _digest(text: str) -> bytes:
    # Comparing fixed-length digests hides the length of the expected values too.
    return hashlib.sha256(text.encode("utf-8")).digest()


def _basic_header(credential: Credential) -> str:
    pair = f"{credential.username}:{credential.password}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")


class CredentialChecker:
    """Checks a user/password pair against every accepted pair in constant time."""

    def __init__(self, credentials: Sequence[Credential]) -> None:
        if not credentials:
            raise ValueError("at least one credential pair is required")
        self._pairs = [(_digest(c.username), _digest(c.password)) for c in credentials]
        # The Authorization header of each pair as clients write it: one digest of the
        # header checks the usual request without parsing it.
        self._headers = [_digest(_basic_header(c)) for c in credentials]

    def __call__(self, username: str, password: str) -> bool:
        user, secret = _digest(username), _digest(password)
        matched = False
        for expected_user, expected_secret in self._pairs:
            # Bitwise `&`/`|`, not `and`/`or`: both comparisons always run for every pair.
            matched |= hmac.compare_digest(user, expected_user) & hmac.compare_digest(secret, expected_secret)
        return matched

    def accepts_header(self, header: str) -> bool:
        """True when ``header`` is ``Basic <base64 of user:password>`` of an accepted pair,
        written exactly as clients write it (compared in constant time, every pair)."""
        found = _digest(header)
        matched = False
        for expected in self._headers:
            matched |= hmac.compare_digest(found, expected)
        return matched


def require_basic_auth(check: CredentialChecker) -> None:
    """Raise ``Unauthorized`` (401) unless the request carries Basic credentials ``check`` accepts."""
    check_authorization(request.headers.get("Authorization"), check)


def check_authorization(header: str | None, check: CredentialChecker) -> None:
    """Raise ``Unauthorized`` (401) unless the ``Authorization`` header holds Basic
    credentials ``check`` accepts."""
    if header is not None and check.accepts_header(header):
        return
    # Any other spelling ("basic", extra spaces, ...) is parsed as werkzeug parses it.
    auth = Authorization.from_header(header)
    if auth is None or auth.type != "basic" or auth.username is None or auth.password is None:
        raise Unauthorized("Authentication required: use HTTP Basic with the broker's credentials.")
    if not check(auth.username, auth.password):
        raise Unauthorized("Invalid broker credentials.")


def checker(credentials: Sequence[Credential]) -> Callable[[RequestState], None]:
    """The pipeline's auth check: 401 unless the request carries Basic credentials of one
    of ``credentials``."""
    check = CredentialChecker(credentials)

    def authenticate(state: RequestState) -> None:
        check_authorization(state.header(_AUTHORIZATION), check)

    return authenticate


_AUTHORIZATION = environ_key("Authorization")
