"""The operator commands of every Alibaba broker: ``check-config``, ``migrate``, ``rotate-keys``,
and the checks ``serve`` runs before it starts gunicorn.

Each returns the process's exit status (see ``docs/operations.md``, "Operator commands"):
0 when it did what it says, ``EXIT_CONFIG`` (78, sysexits' EX_CONFIG) for a
configuration the broker refuses (a setting, the keys, a state store that cannot be
reached or is not migrated), ``EXIT_TEMPFAIL`` (75) when a key rotation left values on
an old key (run it again once every process has the new key first). Problems are
printed, never a traceback and never a secret.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, TextIO

from aliyun_brokers.common.checks import run_checks
from aliyun_brokers.common.settings import CloudBrokerSettings
from openbroker_aliyun.config import SettingsReading
from openbroker_aliyun.preflight import (
    Check,
    PreflightError,
    Status,
    failures,
    migrate_store,
    print_checks,
    rotate_store_keys,
    store_check,
)

if TYPE_CHECKING:
    from aliyun_brokers.common.cli import BrokerCommand

__all__ = [
    "EXIT_CONFIG",
    "EXIT_TEMPFAIL",
    "check_config",
    "migrate",
    "preflight",
    "read_settings",
    "rotate_keys",
]

# Exit status for a configuration the broker refuses (sysexits' EX_CONFIG).
EXIT_CONFIG = 78
# Exit status of a rotation that must be run again (sysexits' EX_TEMPFAIL).
EXIT_TEMPFAIL = 75
# Rows a rotation report names at most (the count is always whole).
_NAMED_ROWS = 20


def read_settings(
    command: BrokerCommand, environ: Mapping[str, str], file: str | None, overrides: Mapping[str, Any]
) -> SettingsReading[CloudBrokerSettings]:
    """The settings from the file, the environment and the flags, with every problem."""
    return command.settings_class.read_sources(environ, file, overrides=overrides)


def check_config(
    command: BrokerCommand, reading: SettingsReading[CloudBrokerSettings], *, offline: bool, out: TextIO
) -> int:
    """``check-config``: every check, one line each; 78 when any failed."""
    checks = run_checks(
        command.name, command.product, command.build_broker, reading, serving=False, offline=offline
    )
    print_checks(checks, out)
    failed = failures(checks)
    if failed:
        print(f"{command.name} check-config: {_count(len(failed), 'problem')}", file=out)
        return EXIT_CONFIG
    print(f"{command.name} check-config: every check passed", file=out)
    return 0


def preflight(
    command: BrokerCommand,
    reading: SettingsReading[CloudBrokerSettings],
    *,
    offline: bool,
    err: TextIO,
    check_config_hint: bool = True,
) -> CloudBrokerSettings | None:
    """``serve``'s checks before gunicorn starts (``--demo``'s too): the settings, or None.

    Refusing, it prints every problem (``<name>: refusing to start:``, one per line), and
    that ``check-config`` lists every check unless ``check_config_hint`` is false (the
    demo's settings are not those ``check-config`` reads).
    """
    checks = run_checks(
        command.name, command.product, command.build_broker, reading, serving=True, offline=offline
    )
    for check in checks:
        if check.status is Status.WARNING:
            print(f"{command.name}: warning: {check.name}: {check.detail}", file=err)
    failed = failures(checks)
    if failed or reading.settings is None:
        print(f"{command.name}: refusing to start:", file=err)
        for check in failed:
            print(f"  - {check.name}: {check.detail}", file=err)
        if check_config_hint:
            print(f"  (`{command.name} check-config` lists every check)", file=err)
        return None
    return reading.settings


def migrate(
    command: BrokerCommand, reading: SettingsReading[CloudBrokerSettings], *, out: TextIO, err: TextIO
) -> int:
    """``migrate``: bring the state store's schema to this version's newest revision."""
    settings = _store_settings(command, "migrate", reading, err)
    if settings is None:
        return EXIT_CONFIG
    try:
        before, after = migrate_store(settings.state_url)
    except PreflightError as error:
        return _refuse(command, "migrate", [Check("state store", Status.FAILED, str(error))], err)
    if before == after:
        print(
            f"{command.name} migrate: the state store is at the newest revision, {after}, already", file=out
        )
    else:
        print(
            f"{command.name} migrate: the state store migrated from revision {before or '(none)'} to {after}",
            file=out,
        )
    return 0


def rotate_keys(
    command: BrokerCommand, reading: SettingsReading[CloudBrokerSettings], *, out: TextIO, err: TextIO
) -> int:
    """``rotate-keys``: re-encrypt every stored secret with the first key; report the counts."""
    settings = _store_settings(command, "rotate-keys", reading, err)
    if settings is None:
        return EXIT_CONFIG
    store = store_check(settings.state_url, require_head=True, migrate_hint=f"{command.name} migrate")
    if store.status is Status.FAILED:
        return _refuse(command, "rotate-keys", [store], err)
    try:
        report = rotate_store_keys(
            settings.state_url, settings.encryption_keys, allow_plaintext=settings.allow_plaintext
        )
    except PreflightError as error:
        return _refuse(command, "rotate-keys", [Check("rotation", Status.FAILED, str(error))], err)
    print(
        f"{command.name} rotate-keys: rewritten={report.rewritten} "
        f"already_current={report.already_current} "
        f"remaining_on_old_key={report.remaining_on_old_key}",
        file=out,
    )
    if report.complete:
        return 0
    for row in report.remaining[:_NAMED_ROWS]:
        print(f"  still on an old key: {row}", file=out)
    if len(report.remaining) > _NAMED_ROWS:
        print(f"  ... and {len(report.remaining) - _NAMED_ROWS} more rows", file=out)
    print(
        "  A process still writes with an old key first: give every process the new key first, "
        f"then run `{command.name} rotate-keys` again; keep the old key until it reports 0.",
        file=out,
    )
    return EXIT_TEMPFAIL


def _store_settings(
    command: BrokerCommand, subcommand: str, reading: SettingsReading[CloudBrokerSettings], err: TextIO
) -> StoreSettings | None:
    """The settings of the state store, or None after printing every problem.

    The store's commands need only these: an operator's task may run them with the
    store's variables alone. Problems of other settings are mentioned, not refused.
    """
    values = reading.values
    if not all(name in values for name in ("state_url", "encryption_keys", "allow_plaintext")):
        _refuse(command, subcommand, [Check("settings", Status.FAILED, p) for p in reading.problems], err)
        return None
    if reading.problems:
        print(
            f"{command.name} {subcommand}: note: other settings have problems; "
            f"`{command.name} check-config` lists them",
            file=err,
        )
    return StoreSettings(
        values["state_url"], tuple(values["encryption_keys"]), bool(values["allow_plaintext"])
    )


@dataclass(frozen=True)
class StoreSettings:
    """What the store's commands use of the settings."""

    state_url: str = field(repr=False)  # may hold a password
    encryption_keys: tuple[str, ...] = field(repr=False)
    allow_plaintext: bool


def _refuse(command: BrokerCommand, subcommand: str, failed: list[Check], out: TextIO) -> int:
    print_checks(failed, out)
    print(f"{command.name} {subcommand}: refused, {_count(len(failed), 'problem')}", file=out)
    return EXIT_CONFIG


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
