"""The command line every Alibaba broker shares: serve, the operator commands, or ``--demo``.

``<broker> [serve] [--config FILE] [--port N] [--host H] [--state-url URL]
[--aliyun-endpoint URL] [--offline]`` reads the settings (file, then environment, then
these flags), runs every start-up check (``aliyun_brokers.common.checks``) and refuses
to start, listing every problem and exiting 78, when one fails; then it serves the
broker with gunicorn. ``serve`` is the default: no subcommand means ``serve``.

``<broker> check-config [--offline]`` runs every check and prints one line each;
``<broker> migrate`` migrates the state store; ``<broker> rotate-keys`` re-encrypts it
with the first key (``aliyun_brokers.common.commands``); ``<broker> --version`` prints
the version. The options above are taken before or after the subcommand.

``<broker> --demo`` needs nothing: it starts the Alibaba Cloud emulator in this process,
keeps the broker's state in SQLite in a temporary folder, generates Basic-auth
credentials, serves on 127.0.0.1 and prints how to talk to it (curl, and the
``cf create-service-broker`` line); it takes the settings that make sense from the file
and the environment, and removes everything it made when it stops
(``aliyun_brokers.common.demo``).

A product (RDS, Redis) describes itself with a ``BrokerCommand``.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence, TextIO, TypeVar

from aliyun_brokers.common import commands
from aliyun_brokers.common.checks import aliyun_port
from aliyun_brokers.common.commands import EXIT_CONFIG
from aliyun_brokers.common.settings import CloudBrokerSettings
from openbroker_aliyun.aliyun.port import AliyunPort, Product
from openbroker_aliyun.broker import ServiceBroker
from openbroker_aliyun.config import Credential

if TYPE_CHECKING:
    from openbroker_aliyun.engine.settings import DriverSettings

__all__ = [
    "EXIT_CONFIG",
    "BrokerCommand",
    "driver_settings",
    "emulator_settings",
    "emulator_values",
    "flag_overrides",
    "run",
]

SettingsT = TypeVar("SettingsT", bound=CloudBrokerSettings)

SERVE, CHECK_CONFIG, MIGRATE, ROTATE_KEYS = "serve", "check-config", "migrate", "rotate-keys"


@dataclass(frozen=True)
class BrokerCommand:
    """What a product's console script plugs into ``run``.

    ``product`` is the Alibaba API the broker calls (what ``check-config`` asks);
    ``build_broker(settings, port)`` makes the plug-in; ``demo_arguments`` adds the
    product's ``--demo-*`` flags; ``demo_emulator(args)`` returns ``EmulatorConfig``
    fields for the demo (e.g. backing servers) and ``demo_settings(args)`` settings
    fields (e.g. features that need those servers).
    """

    name: str
    description: str
    settings_class: type[CloudBrokerSettings]
    build_broker: Callable[[Any, AliyunPort], ServiceBroker]
    product: Product
    demo_arguments: Callable[[argparse.ArgumentParser], None] = lambda parser: None
    demo_emulator: Callable[[argparse.Namespace], dict[str, Any]] = lambda args: {}
    demo_settings: Callable[[argparse.Namespace], dict[str, Any]] = lambda args: {}
    broker_name: str = field(default="aliyun")

    def main(self, argv: Sequence[str] | None = None) -> int:
        """The console script's entry point: ``run`` this command."""
        return run(self, argv)


def run(
    command: BrokerCommand,
    argv: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
    out: TextIO | None = None,
) -> int:
    """Parse ``argv`` and run the subcommand (``serve`` until stopped); returns the exit status."""
    parser = _parser(command)
    args = parser.parse_args(argv)
    environ = os.environ if environ is None else environ
    out = out or sys.stdout
    subcommand = args.command or SERVE
    if subcommand == SERVE and args.demo:
        if args.aliyun_endpoint is not None:
            parser.error("--aliyun-endpoint does not go with --demo: the demo's endpoint is its own emulator")
        from aliyun_brokers.common.demo import run_demo

        return run_demo(command, args, environ, out, sys.stderr)
    reading = commands.read_settings(command, environ, args.config, flag_overrides(args))
    if subcommand == CHECK_CONFIG:
        return commands.check_config(command, reading, offline=args.offline, out=out)
    if subcommand == MIGRATE:
        return commands.migrate(command, reading, out=out, err=sys.stderr)
    if subcommand == ROTATE_KEYS:
        return commands.rotate_keys(command, reading, out=out, err=sys.stderr)
    settings = commands.preflight(command, reading, offline=args.offline, err=sys.stderr)
    if settings is None:
        return EXIT_CONFIG
    from openbroker_aliyun.serving import serve

    serve(lambda: _app(command, settings), settings)
    return 0


def _parser(command: BrokerCommand) -> argparse.ArgumentParser:
    from openbroker_aliyun import __version__

    parser = argparse.ArgumentParser(
        prog=command.name,
        description=command.description,
        epilog="Every setting can also come from the environment; see docs/configuration.md. "
        "Exit status: 0 done, 78 a configuration or state store problem (every one is listed), "
        "75 a key rotation to run again; see docs/operations.md.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _serve_arguments(command, parser)
    subcommands = parser.add_subparsers(
        dest="command", title="commands", metavar="COMMAND", description="serve when none is given"
    )
    serve = subcommands.add_parser(
        SERVE, help="check everything, then serve the broker (the default)", description=command.description
    )
    _serve_arguments(command, serve)
    check = subcommands.add_parser(
        CHECK_CONFIG,
        help="check the settings, the keys, the state store, the catalog and Alibaba Cloud; 78 on a problem",
    )
    _common_arguments(check)
    check.add_argument("--offline", action="store_true", help="do not call Alibaba Cloud")
    _common_arguments(
        subcommands.add_parser(MIGRATE, help="migrate the state store to this version's schema")
    )
    _common_arguments(
        subcommands.add_parser(
            ROTATE_KEYS, help="re-encrypt every stored secret with the first of BROKER_ENCRYPTION_KEYS"
        )
    )
    for subparser in subcommands.choices.values():
        # An option given before the subcommand stays: a subcommand's own defaults would
        # overwrite it, so they are left out (the main parser's apply).
        for action in subparser._actions:
            if action.dest != "help":
                action.default = argparse.SUPPRESS
    return parser


def _common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="YAML settings file (the environment wins over it)")
    parser.add_argument("--port", type=int, help="port to listen on (default: $PORT or 8080)")
    parser.add_argument(
        "--host", help="address to listen on (default: $BROKER_HOST or 0.0.0.0; --demo: 127.0.0.1)"
    )
    parser.add_argument(
        "--state-url",
        metavar="URL",
        help="state store (SQLAlchemy URL; default $BROKER_STATE_URL; --demo: SQLite in a temporary folder)",
    )
    parser.add_argument(
        "--aliyun-endpoint", metavar="URL", help="Alibaba Cloud API endpoint override, e.g. an emulator's URL"
    )


def _serve_arguments(command: BrokerCommand, parser: argparse.ArgumentParser) -> None:
    _common_arguments(parser)
    parser.add_argument(
        "--offline",
        action="store_true",
        help="do not call Alibaba Cloud before serving (by default, refused credentials stop the start)",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="serve on 127.0.0.1 against an in-process Alibaba Cloud emulator, with throw-away state "
        "and text logs; it takes the settings (--config, environment, flags) but the Alibaba account, "
        "endpoint, region and network (VPC, VSwitch, zones, whitelist); on Ctrl-C or SIGTERM it "
        "removes its temporary folder and every database, account and redis-server it made",
    )
    command.demo_arguments(parser)


def flag_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The settings the flags give (they win over the file and the environment)."""
    flags = {
        "port": args.port,
        "host": args.host,
        "state_url": args.state_url,
        "aliyun_endpoint": args.aliyun_endpoint,
    }
    return {name: value for name, value in flags.items() if value is not None}


def _app(command: BrokerCommand, settings: CloudBrokerSettings) -> Any:
    from openbroker_aliyun.app import create_app

    broker = command.build_broker(settings, aliyun_port(settings))
    return create_app(broker, settings, driver_settings=driver_settings(settings))


def driver_settings(settings: CloudBrokerSettings) -> DriverSettings:
    """The engine driver's settings: look for due steps often enough to honour ``refresh_seconds``."""
    from openbroker_aliyun.engine.settings import DriverSettings

    return DriverSettings(
        poll_interval=min(0.5, settings.refresh_seconds), lease_seconds=settings.lease_seconds
    )


# -- demo --------------------------------------------------------------------------------


def emulator_values(
    emulator_url: str,
    *,
    access_key_id: str,
    access_key_secret: str,
    state_dir: str | Path | None,
) -> dict[str, Any]:
    """The settings fields of a broker talking to the Alibaba Cloud emulator at ``emulator_url``.

    Generated credentials (user ``broker``) and encryption key, SQLite state in
    ``state_dir`` (no ``state_url`` without one), 127.0.0.1 and a free port, the
    emulator's account and region, placeholders for what the emulator does not check (VPC,
    VSwitch, zone) and 127.0.0.1 as the whitelist.
    """
    from openbroker_aliyun.store.encryption import generate_key

    values: dict[str, Any] = {
        "credentials": (Credential(username="broker", password=secrets.token_urlsafe(18)),),
        "encryption_keys": (generate_key(),),
        "host": "127.0.0.1",
        "port": 0,
        "access_key_id": access_key_id,
        "access_key_secret": access_key_secret,
        "security_token": None,
        "region_id": "cn-hangzhou",
        "aliyun_endpoint": emulator_url,
        "broker_id": "emulated",
        "vpc_id": "vpc-emulated",
        "vswitch_id": "vsw-emulated",
        "zone_id": "cn-hangzhou-h",
        "allow_user_zone": False,
        "user_zones": {},
        "security_ips": ("127.0.0.1",),
    }
    if state_dir is not None:
        values["state_url"] = f"sqlite:///{Path(state_dir) / 'state.db'}"
    return values


def emulator_settings(
    settings_class: type[SettingsT],
    emulator_url: str,
    *,
    access_key_id: str,
    access_key_secret: str,
    state_dir: str | Path,
    **overrides: Any,
) -> SettingsT:
    """Settings of a broker talking to the Alibaba Cloud emulator at ``emulator_url``.

    What tests and benchmarks run with: ``emulator_values``, and ``overrides`` replace
    any field.
    """
    values = emulator_values(
        emulator_url, access_key_id=access_key_id, access_key_secret=access_key_secret, state_dir=state_dir
    )
    values.update(overrides)
    return settings_class(**values)
