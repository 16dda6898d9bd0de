"""Idempotency tokens (RDS ``ClientToken``, R-kvstore ``Token``): same token, same answer."""

from __future__ import annotations

from typing import Any

from .errors import idempotent_mismatch, invalid_parameter
from .params import Params
from .state import CloudState, TokenRecord


class TokenScope:
    """The token of one call, if it carries one; tokens never expire in the emulator."""

    def __init__(self, state: CloudState, product: str, action: str, params: Params, token_name: str) -> None:
        self._state = state
        self._name = token_name
        token = params.optional(token_name)
        if token is not None and (len(token) > 64 or not token.isascii()):
            raise invalid_parameter(token_name, "At most 64 ASCII characters.")
        self._key = f"{product}:{action}:{token}" if token else None
        self._fingerprint = params.fingerprint(exclude={token_name})

    def previous(self) -> dict[str, Any] | None:
        """The first answer given for this token, or None; a reuse with other parameters is refused."""
        if self._key is None:
            return None
        record = self._state.tokens.get(self._key)
        if record is None:
            return None
        if record.fingerprint != self._fingerprint:
            raise idempotent_mismatch(self._name)
        return dict(record.response)

    def remember(self, response: dict[str, Any]) -> None:
        if self._key is not None:
            self._state.tokens[self._key] = TokenRecord(self._fingerprint, dict(response))
