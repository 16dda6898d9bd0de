"""Errors of the state store. None of them ever carries a key or a decrypted value."""

from __future__ import annotations


class StoreError(Exception):
    """Base of the state store's own errors."""


class StoreConfigError(StoreError, ValueError):
    """The store cannot start with this configuration (no key, a malformed key, bad URL)."""


class DecryptionError(StoreError):
    """A stored value cannot be decrypted with any configured key.

    The message names the table, column and row, so an operator can find the row; it
    never names a key.
    """
