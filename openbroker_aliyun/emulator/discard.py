"""What ``EmulatorApp.discard`` removed from the backing servers, and what it could not.

Discarding is how a throw-away emulator (a broker's ``--demo``, a test) leaves nothing
behind: every instance it still holds goes, with the databases and logins it made on the
backing MySQL/PostgreSQL servers and its redis-server process. Only what the emulator's
own state lists is touched: a name is in the state only if the emulator created it on the
server, which refused names already in use there.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Discarded"]


@dataclass(frozen=True)
class Discarded:
    """The names of what went, and the problems met (never a password)."""

    databases: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()
    redis_servers: tuple[str, ...] = ()  # the instance ids whose redis-server was stopped
    problems: tuple[str, ...] = ()

    def __add__(self, other: Discarded) -> Discarded:
        return Discarded(
            self.databases + other.databases,
            self.accounts + other.accounts,
            self.redis_servers + other.redis_servers,
            self.problems + other.problems,
        )

    @property
    def summary(self) -> str:
        """One line for a person: what went, or that there was nothing to remove."""
        parts = [
            _count(len(self.databases), "database"),
            _count(len(self.accounts), "account"),
            _count(len(self.redis_servers), "redis-server process", "redis-server processes"),
        ]
        removed = [part for part in parts if not part.startswith("0 ")]
        return "removed " + ", ".join(removed) if removed else "nothing to remove on backing servers"


def _count(number: int, noun: str, plural: str | None = None) -> str:
    return f"{number} {noun if number == 1 else plural or noun + 's'}"
