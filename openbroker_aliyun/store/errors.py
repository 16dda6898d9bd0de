"""Errors of the state store. None of them ever carries a key, a decrypted value or a
value a statement was given.

Every database failure leaves the store as one of three kinds (classified in
``openbroker_aliyun.store.database.store_error``), so that nothing above the store needs
to know SQLAlchemy's or a driver's exceptions:

- ``StoreUnavailable``: the database cannot be reached or cannot serve now (connection
  refused or lost, server shutting down, too many connections, a lock wait that timed
  out). The same call can succeed later.
- ``StoreValueError``: the database refused a value (longer than its column, a NUL
  character PostgreSQL cannot keep, text that cannot be encoded). Repeating the same
  call fails the same way.
- ``StoreFailure``: any other database error (a statement the schema does not match, a
  constraint the code should have kept): a bug or a broken deployment.
"""

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


class StoreDatabaseError(StoreError):
    """A statement of the store failed in the database (or its driver).

    ``statement`` is the kind of statement (``SELECT``, ``INSERT``, ...) and ``table`` the
    first of the store's tables it names, when known; ``cause`` is the driver's error
    class and ``code`` its code (PostgreSQL's SQLSTATE, MySQL's error number). The
    message is made of these only: a driver's own message may quote a value.
    """

    #: What the message says the failure is.
    summary = "the state store's database failed"

    def __init__(
        self,
        *,
        statement: str | None = None,
        table: str | None = None,
        cause: str | None = None,
        code: str | None = None,
    ) -> None:
        self.statement = statement
        self.table = table
        self.cause = cause
        self.code = code
        where = " ".join(part for part in (statement, table and f"on {table}") if part)
        facts = ", ".join(part for part in (cause, code and f"code {code}") if part)
        super().__init__(
            self.summary + (f" during {where}" if where else "") + (f" ({facts})" if facts else "")
        )

    def log_fields(self) -> dict[str, str]:
        """The error's facts as structured log fields (none of them a value)."""
        found = {
            "statement": self.statement,
            "table": self.table,
            "driver_error": self.cause,
            "error_code": self.code,
        }
        return {key: value for key, value in found.items() if value is not None}


class StoreUnavailable(StoreDatabaseError):
    """The database cannot be reached or cannot serve now; the same call may succeed later."""

    summary = "the state store is unreachable"


class StoreValueError(StoreDatabaseError, ValueError):
    """The database refused a value the store was given (too long, a character it cannot
    store, text that cannot be encoded). Repeating the same call fails the same way."""

    summary = "the state store cannot store a value"


class StoreFailure(StoreDatabaseError):
    """Any other database error: a bug, or a database that does not match the schema."""
