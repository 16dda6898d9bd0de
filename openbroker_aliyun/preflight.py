"""Checks a broker's operator runs before serving, and the state store's operator commands.

What ``<broker> check-config`` prints and what ``serve`` runs before it starts gunicorn:
each check is one ``Check`` (a name, ``ok``/``FAILED``/``skipped``/``warning`` and one
line of detail that never holds a secret). The checks here are those of every broker
built with the library: the settings (every problem at once, see
``BrokerSettings.read_sources``), the encryption keys and the state store. A broker adds
its own (the Alibaba brokers: the catalog and a call to the cloud).

``migrate_store`` and ``rotate_store_keys`` are the store's commands (``migrate``,
``rotate-keys``).
"""

from __future__ import annotations

import enum
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy.exc import SQLAlchemyError

from openbroker_aliyun.config import SettingsReading
from openbroker_aliyun.store import FieldCipher, RotationReport, Store, StoreConfigError, StoreError
from openbroker_aliyun.store.database import make_engine, parse_url, store_error
from openbroker_aliyun.store.encryption import GENERATE_KEY_HINT
from openbroker_aliyun.store.migrate import current_revision, head_revision, script_directory, upgrade_to_head

__all__ = [
    "Check",
    "PreflightError",
    "Status",
    "encryption_check",
    "failures",
    "migrate_store",
    "print_checks",
    "rotate_store_keys",
    "settings_checks",
    "store_check",
]


class Status(enum.Enum):
    OK = "ok"
    FAILED = "FAILED"
    SKIPPED = "skipped"
    WARNING = "warning"


@dataclass(frozen=True)
class Check:
    """The outcome of one check: what was checked, how it went, and why (never a secret)."""

    name: str
    status: Status
    detail: str

    @property
    def line(self) -> str:
        """The check as ``check-config`` prints it: ``ok      state store: ...``."""
        return f"{self.status.value:<8}{self.name}: {self.detail}"


class PreflightError(Exception):
    """A store command cannot run; the message says why (never a secret)."""


def failures(checks: Iterable[Check]) -> list[Check]:
    """The checks that failed."""
    return [check for check in checks if check.status is Status.FAILED]


def print_checks(checks: Iterable[Check], out: TextIO) -> None:
    """One line per check."""
    for check in checks:
        print(check.line, file=out)


# -- the checks ----------------------------------------------------------------------------


def settings_checks(reading: SettingsReading[Any]) -> list[Check]:
    """One failed check per settings problem, or one that passed."""
    if reading.problems:
        return [Check("settings", Status.FAILED, problem) for problem in reading.problems]
    return [Check("settings", Status.OK, "every setting is present and valid")]


def encryption_check(keys: Sequence[str], allow_plaintext: bool) -> Check:
    """The keys are Fernet keys, and a value encrypted with the first decrypts again."""
    name = "encryption keys"
    if not keys and not allow_plaintext:
        return Check(
            name,
            Status.FAILED,
            f"BROKER_ENCRYPTION_KEYS is not set: give at least one key ({GENERATE_KEY_HINT}), "
            "or set BROKER_ALLOW_PLAINTEXT_STATE=true to keep secrets in clear text (never in production)",
        )
    try:
        cipher = FieldCipher(list(keys), allow_plaintext=allow_plaintext)
    except StoreConfigError as error:  # names a key by its position, never by its value
        return Check(name, Status.FAILED, f"BROKER_ENCRYPTION_KEYS: {error}")
    if not cipher.encrypts:
        return Check(name, Status.OK, "none: secrets are stored in clear text (BROKER_ALLOW_PLAINTEXT_STATE)")
    probe = {"probe": secrets.token_hex(8)}
    sealed = cipher.seal(probe)
    if not cipher.is_current(sealed) or cipher.open(sealed, "the probe") != probe:  # pragma: no cover
        return Check(name, Status.FAILED, "a value encrypted with the first key does not decrypt")
    count = f"{len(keys)} key{'s' if len(keys) > 1 else ''}"
    return Check(name, Status.OK, f"{count}; a value encrypted with the first key decrypts")


def store_check(url: str, *, require_head: bool, migrate_hint: str) -> Check:
    """The state store answers, and its schema is at this version's newest revision.

    ``require_head`` (``check-config``): an empty or older schema fails, naming
    ``migrate_hint``, the command that migrates it. Without (``serve``, which migrates
    at start): it passes, and a SQLite file that does not exist yet is not created.
    A schema newer than this version knows fails either way.
    """
    name = "state store"
    try:
        parsed = parse_url(url)
    except StoreConfigError as error:
        return Check(name, Status.FAILED, f"BROKER_STATE_URL: {error}")
    where = parsed.render_as_string(hide_password=True)
    sqlite_file = parsed.database if parsed.get_backend_name() == "sqlite" else None
    if sqlite_file in ("", ":memory:"):
        return Check(name, Status.OK, "an in-memory SQLite database: created at start, lost at exit")
    if sqlite_file is not None and not Path(sqlite_file).is_file():
        if require_head:
            return Check(
                name, Status.FAILED, f"{where}: the file does not exist, not migrated; run `{migrate_hint}`"
            )
        if not Path(sqlite_file).parent.is_dir():
            return Check(name, Status.FAILED, f"{where}: the folder of the SQLite file does not exist")
        return Check(name, Status.OK, f"{where}: a new SQLite file, created and migrated at start")
    engine = make_engine(url)  # waits a bounded time for a server (CONNECT_TIMEOUT)
    try:
        current = current_revision(engine)
    except SQLAlchemyError as error:
        return Check(name, Status.FAILED, f"{where}: {store_error(error)}")
    finally:
        engine.dispose()
    head = head_revision()
    if current == head:
        return Check(name, Status.OK, f"{where}: reachable, schema at revision {head} (the newest)")
    if current is not None and current not in _known_revisions():
        return Check(
            name,
            Status.FAILED,
            f"{where}: the schema is at revision {current}, which this version does not know "
            "(migrated by a newer version?)",
        )
    found = "holds no schema" if current is None else f"is at revision {current}"
    if require_head:
        return Check(
            name, Status.FAILED, f"{where}: reachable, but {found}: not migrated; run `{migrate_hint}`"
        )
    return Check(name, Status.OK, f"{where}: reachable, {found}; migrated to revision {head} at start")


def _known_revisions() -> set[str]:
    return {script.revision for script in script_directory().walk_revisions()}


# -- the store's commands ------------------------------------------------------------------


def migrate_store(url: str) -> tuple[str | None, str]:
    """Bring the store's schema to the newest revision; returns (revision before, after).

    Raises ``PreflightError`` when the store cannot be reached or its URL is wrong.
    """
    try:
        engine = make_engine(url)
    except StoreConfigError as error:
        raise PreflightError(f"BROKER_STATE_URL: {error}") from None
    try:
        before = current_revision(engine)
        upgrade_to_head(engine)
        after = current_revision(engine)
    except SQLAlchemyError as error:
        raise PreflightError(str(store_error(error))) from None
    finally:
        engine.dispose()
    return before, after or head_revision()


def rotate_store_keys(url: str, keys: Sequence[str], *, allow_plaintext: bool = False) -> RotationReport:
    """Re-encrypt every stored secret with the first key (``Store.rotate_keys``).

    The store must be migrated already (the command changes no schema). Raises
    ``PreflightError`` when there is no key to rotate to, or with the store's error
    (a value no configured key decrypts is named by its row, never by a key).
    """
    if not keys:
        raise PreflightError("rotation needs BROKER_ENCRYPTION_KEYS: the new key first, then the old ones")
    try:
        store = Store.open(url, encryption_keys=list(keys), allow_plaintext=allow_plaintext, migrate=False)
        try:
            return store.rotate_keys()
        finally:
            store.close()
    except StoreError as error:
        raise PreflightError(str(error)) from None
