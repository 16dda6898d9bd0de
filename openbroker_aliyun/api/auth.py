"""HTTP Basic authentication of every OSB request, against one or more credential pairs.

Several pairs are accepted so that operators can rotate the broker password: register
the new pair, update the platform, then drop the old one. Every pair is compared in
constant time, user and password both, with no early exit that would reveal which part
(or which pair) was wrong.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Sequence

from flask import Flask, request
from werkzeug.datastructures import Authorization

from openbroker_aliyun.api.request_state import is_osb_request
from openbroker_aliyun.config import Credential
from openbroker_aliyun.errors import Unauthorized


def _digest(text: str) -> bytes:
    # Comparing fixed-length digests hides the length of the expected values too.
    return hashlib.sha256(text.encode("utf-8")).digest()


class CredentialChecker:
    """Checks a user/password pair against every accepted pair in constant time."""

    def __init__(self, credentials: Sequence[Credential]) -> None:
        if not credentials:
            raise ValueError("at least one credential pair is required")
        self._pairs = [(_digest(c.username), _digest(c.password)) for c in credentials]

    def __call__(self, username: str, password: str) -> bool:
        user, secret = _digest(username), _digest(password)
        matched = False
        for expected_user, expected_secret in self._pairs:
            # Bitwise `&`/`|`, not `and`/`or`: both comparisons always run for every pair.
            matched |= hmac.compare_digest(user, expected_user) & hmac.compare_digest(secret, expected_secret)
        return matched


def require_basic_auth(check: Callable[[str, str], bool]) -> None:
    """Raise ``Unauthorized`` (401) unless the request carries Basic credentials ``check`` accepts."""
    check_basic_auth(request.authorization, check)


def check_basic_auth(auth: Authorization | None, check: Callable[[str, str], bool]) -> None:
    """Raise ``Unauthorized`` (401) unless ``auth`` holds Basic credentials ``check`` accepts."""
    if auth is None or auth.type != "basic" or auth.username is None or auth.password is None:
        raise Unauthorized("Authentication required: use HTTP Basic with the broker's credentials.")
    if not check(auth.username, auth.password):
        raise Unauthorized("Invalid broker credentials.")


def basic_auth_hook(check: Callable[[str, str], bool]) -> Callable[[], None]:
    """A ``before_request`` hook answering 401 to OSB requests without valid credentials."""

    def authenticate() -> None:
        if is_osb_request():
            require_basic_auth(check)

    return authenticate


def install(app: Flask, credentials: Sequence[Credential]) -> None:
    """Require Basic auth with one of ``credentials`` on every /v2 route."""
    app.before_request(basic_auth_hook(CredentialChecker(credentials)))
