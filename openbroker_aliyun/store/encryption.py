"""Encryption at rest of the store's secret columns, with key rotation.

Values are JSON, encrypted with Fernet (AES-128-CBC + HMAC-SHA256, ``cryptography``).
Keys come from configuration as a list: the first encrypts, every one decrypts
(``MultiFernet``), so a key is rotated by putting a new key first, running
``Store.rotate_keys()`` and then dropping the old key. Clear text is written only when the
operator asked for it with ``allow_plaintext=True`` and gave no key.

A stored value says how it was written: ``fernet:<token>`` or ``plain:<json>``; so a
store that started in clear text can be encrypted later by adding a key and rotating.
"""

from __future__ import annotations

import json
from typing import Any, Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from openbroker_aliyun.store.errors import DecryptionError, StoreConfigError

_ENCRYPTED = "fernet:"
_PLAIN = "plain:"

GENERATE_KEY_HINT = (
    "generate one with: python -c "
    "'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
)


def generate_key() -> str:
    """A new random encryption key, in the form ``encryption_keys`` expects."""
    return Fernet.generate_key().decode("ascii")


class FieldCipher:
    """Turns JSON values into the text stored in a secret column, and back."""

    def __init__(self, keys: Sequence[str], *, allow_plaintext: bool = False) -> None:
        if isinstance(keys, str):
            raise StoreConfigError("encryption keys must be a list of keys, not one string")
        fernets = []
        for position, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key.strip().encode("ascii")))
            except (ValueError, TypeError, AttributeError, UnicodeEncodeError):
                # Never quote the key: name its position only.
                raise StoreConfigError(
                    f"encryption key #{position} is not a Fernet key "
                    f"(32 url-safe base64-encoded bytes); {GENERATE_KEY_HINT}"
                ) from None
        if not fernets and not allow_plaintext:
            raise StoreConfigError(
                "no encryption key is configured for the state store: give at least one key "
                f"({GENERATE_KEY_HINT}), or pass allow_plaintext=True to store secrets in clear "
                "text (never in production)"
            )
        self._fernet = MultiFernet(fernets) if fernets else None
        self._primary = fernets[0] if fernets else None

    @property
    def encrypts(self) -> bool:
        """True when values are written encrypted."""
        return self._fernet is not None

    def seal(self, value: Any) -> str:
        """The stored text of a JSON value: encrypted with the first key, or clear text."""
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
        if self._fernet is None:
            return _PLAIN + text
        return _ENCRYPTED + self._fernet.encrypt(text.encode("utf-8")).decode("ascii")

    def open(self, stored: str, where: str) -> Any:
        """The JSON value of stored text; ``where`` names the row in errors."""
        if stored.startswith(_PLAIN):
            return json.loads(stored[len(_PLAIN) :])
        if not stored.startswith(_ENCRYPTED):
            raise DecryptionError(f"{where}: the stored value is in an unknown format")
        if self._fernet is None:
            raise DecryptionError(
                f"{where} is encrypted but no encryption key is configured; "
                "configure the key that encrypted it"
            )
        try:
            plain = self._fernet.decrypt(stored[len(_ENCRYPTED) :].encode("ascii"))
        except InvalidToken:
            raise DecryptionError(
                f"{where} cannot be decrypted with any configured encryption key; "
                "configure the key that encrypted it (keys are tried in order)"
            ) from None
        return json.loads(plain)

    def is_current(self, stored: str) -> bool:
        """True when ``stored`` is encrypted with the first key (what rotation leaves)."""
        if self._primary is None or not stored.startswith(_ENCRYPTED):
            return False
        try:
            self._primary.decrypt(stored[len(_ENCRYPTED) :].encode("ascii"))
        except InvalidToken:
            return False
        return True

    def reseal(self, stored: str, where: str) -> str | None:
        """Stored text re-encrypted with the first key, or None when it already is.

        Clear text is encrypted. Raises ``DecryptionError`` when no key opens it.
        """
        if self._fernet is None or self._primary is None:
            raise StoreConfigError("key rotation needs at least one encryption key")
        if stored.startswith(_PLAIN):
            return self.seal(self.open(stored, where))
        if not stored.startswith(_ENCRYPTED):
            raise DecryptionError(f"{where}: the stored value is in an unknown format")
        if self.is_current(stored):
            return None
        token = stored[len(_ENCRYPTED) :].encode("ascii")
        try:
            rotated = self._fernet.rotate(token)
        except InvalidToken:
            raise DecryptionError(
                f"{where} cannot be decrypted with any configured encryption key; "
                "configure the key that encrypted it (keys are tried in order)"
            ) from None
        return _ENCRYPTED + rotated.decode("ascii")
