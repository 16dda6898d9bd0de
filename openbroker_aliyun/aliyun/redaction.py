"""Removing secrets from text that leaves the transport (error messages, log records).

Secrets reach text in several ways: Alibaba echoes parameters in some error messages,
transport errors quote the request URL (whose query string carries ``AccountPassword``
and ``SecurityToken``), and ``SignatureDoesNotMatch`` quotes the string-to-sign, where
the query is percent-encoded twice. ``Redactor`` replaces every known secret value in
each of those spellings; ``redact_patterns`` also blanks the value of any parameter whose
name looks secret, for text whose secrets are not known.
"""

from __future__ import annotations

import json
import re
from typing import Iterable, Mapping
from urllib.parse import quote, quote_plus

MASK = "***"

_SECRET_WORDS = r"(?:password|secret|securitytoken|serverkey|privatekey)"  # noqa: S105 (names)
_SECRET_NAME = re.compile(_SECRET_WORDS, re.IGNORECASE)

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # name=value in a query string or form body
    (re.compile(rf"([A-Za-z0-9_.]*{_SECRET_WORDS}[A-Za-z0-9_.]*=)[^&\s'\"]*", re.IGNORECASE), rf"\1{MASK}"),
    # name%3Dvalue inside a percent-encoded query (the string-to-sign)
    (
        re.compile(rf"([A-Za-z0-9_.]*{_SECRET_WORDS}[A-Za-z0-9_.]*%3D)(?:(?!%26)[^&\s'\"])*", re.IGNORECASE),
        rf"\1{MASK}",
    ),
    # "Name": "value" (JSON)
    (re.compile(rf'("[^"]*{_SECRET_WORDS}[^"]*"\s*:\s*)"(?:[^"\\]|\\.)*"', re.IGNORECASE), rf'\1"{MASK}"'),
    # 'Name': 'value' (a Python dict's repr)
    (re.compile(rf"('[^']*{_SECRET_WORDS}[^']*'\s*:\s*)'(?:[^'\\]|\\.)*'", re.IGNORECASE), rf"\1'{MASK}'"),
)


def is_secret_name(name: str) -> bool:
    """Whether a parameter called ``name`` holds a secret (``AccountPassword``, ``ServerKey``...)."""
    return bool(_SECRET_NAME.search(name))


def secret_values(params: Mapping[str, str]) -> list[str]:
    """The values of the parameters whose names look secret."""
    return [value for name, value in params.items() if value and is_secret_name(name)]


def redact_patterns(text: str) -> str:
    """``text`` with the value of every secret-looking ``name=value`` / ``"name": value`` masked."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class Redactor:
    """Masks known secret values, in every spelling they can take on the wire, then patterns."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        variants: set[str] = set()
        for secret in secrets:
            if secret:
                variants.update(_spellings(secret))
        # Longest first, so a secret that contains another is masked whole.
        self._variants = sorted((v for v in variants if v), key=len, reverse=True)

    def __call__(self, text: str) -> str:
        """``text`` with every known secret and every secret-looking parameter masked."""
        for variant in self._variants:
            text = text.replace(variant, MASK)
        return redact_patterns(text)


def _spellings(secret: str) -> set[str]:
    once = quote(secret, safe="")
    return {
        secret,
        once,
        quote(secret, safe="-_.~"),
        quote_plus(secret, safe=""),
        quote(once, safe=""),  # the string-to-sign encodes the query a second time
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        repr(secret)[1:-1],
    }
