"""The one small interface the RDS actions use to make real databases and logins.

A backend works on a shared server (the emulator's ``--mysql-url`` / ``--postgres-url``), so
names are global there; the actions refuse a name that is already in use on the server.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, Sequence

NameKind = Literal["database", "account"]


class BackendError(Exception):
    """A backing server refused or failed; the message never contains a password."""

    @classmethod
    def from_exception(cls, operation: str, exc: BaseException, secrets: Sequence[str] = ()) -> BackendError:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        for secret in secrets:
            if secret:
                text = text.replace(secret, "***")
        return cls(f"{operation} failed: {type(exc).__name__}: {text}")


@dataclass(frozen=True)
class InstanceView:
    """What a backend needs to know about one emulated instance."""

    databases: tuple[str, ...]
    accounts: tuple[str, ...]
    privileged: tuple[str, ...]  # Super accounts, oldest first
    protected: frozenset[str] = frozenset()  # accounts of the other emulated instances


class SqlBackend(Protocol):
    """Real resources of RDS instances on one shared MySQL/MariaDB or PostgreSQL server."""

    kind: str  # "mysql" | "postgres"
    host: str
    port: int

    def exists(self, kind: NameKind, name: str) -> bool:
        """Whether the server already has a database / login of that name."""
        ...

    def create_database(self, view: InstanceView, name: str, charset: str) -> None: ...

    def drop_database(self, view: InstanceView, name: str) -> None: ...

    def create_account(self, view: InstanceView, name: str, password: str, privileged: bool) -> None: ...

    def drop_account(self, view: InstanceView, name: str) -> None: ...

    def reset_password(self, name: str, password: str) -> None: ...

    def grant(self, view: InstanceView, account: str, database: str, privilege: str) -> None: ...

    def revoke(self, view: InstanceView, account: str, database: str) -> None: ...

    def drop_instance(self, view: InstanceView) -> None:
        """Drop every database and login of the instance (and what its accounts made)."""
        ...

    def close(self) -> None:
        """Close the admin connection(s)."""
        ...
