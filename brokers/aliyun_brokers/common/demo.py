"""``<broker> --demo``: the broker against an in-process Alibaba Cloud emulator, nothing to set up.

It starts the emulator in this process (its instances backed by real servers when the
product's ``--demo-*`` flags name them), serves the broker on 127.0.0.1 with werkzeug's
threaded server in the same process (so the emulator, and what it made, has one owner),
prints a banner (URL, credentials, a ``curl`` line, the ``cf create-service-broker``
line) and logs in the text format (``12:01:02 INFO logger: message``), not JSON.

Settings come from ``--config FILE``, the environment and the flags, as for ``serve``,
except those that point the broker at the emulator (``DEMO_OWN``: the Alibaba account,
endpoint, region and network), which the demo sets itself. A setting not given takes
the demo's default (``_demo_defaults``): generated credentials and encryption key, SQLite
in a temporary folder, 127.0.0.1:8080, broker id ``demo``, a 1 s refresh. ``workers``
and ``threads`` do not apply: the demo is one process.

On SIGINT, SIGTERM or SIGHUP, after a start-up failure and on any other exit, it stops
serving, stops the engine driver, then removes every emulated instance with the
databases, accounts and redis-server processes it made (``EmulatorApp.discard``), and its
temporary folder. A state store the settings named is the user's: it stays.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from aliyun_brokers.common import commands
from aliyun_brokers.common.checks import aliyun_port
from aliyun_brokers.common.cli import BrokerCommand, driver_settings, emulator_values, flag_overrides
from aliyun_brokers.common.commands import EXIT_CONFIG
from openbroker_aliyun.config import Credential

if TYPE_CHECKING:
    from openbroker_aliyun.emulator import EmulatorServer

__all__ = ["DEMO_OWN", "run_demo"]

#: The settings the demo always sets itself: they point the broker at its emulator.
DEMO_OWN = frozenset(
    {
        "access_key_id",
        "access_key_secret",
        "security_token",
        "region_id",
        "aliyun_endpoint",
        "vpc_id",
        "vswitch_id",
        "zone_id",
        "allow_user_zone",
        "user_zones",
        "security_ips",
    }
)
# The signals that stop the demo (SIGHUP: the terminal was closed).
_STOP_SIGNALS = tuple(
    sig for sig in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)) if sig is not None
)
# Their INFO lines repeat what the broker logs itself: werkzeug's request line, and
# alembic's migration steps (the store logs the revision it migrated to).
_CHATTY_LOGGERS = ("werkzeug", "alembic")
_WILDCARD_HOSTS = ("0.0.0.0", "::", "")  # noqa: S104 - compared with, not bound to
_SERVER_JOIN_SECONDS = 10.0
_STOP_POLL_SECONDS = 0.5
_BACKLOG = 128


@dataclass
class _Farewell:
    """What the clean-up did, for the last lines the demo prints once it served."""

    served: bool = False
    lines: list[str] = field(default_factory=list)


@dataclass
class _StopFlag:
    """Set by the signal handler: a plain attribute, as a handler must not take a lock
    (an ``Event`` would, and the main thread may hold it when the signal comes)."""

    requested: bool = False


def run_demo(
    command: BrokerCommand,
    args: argparse.Namespace,
    environ: Mapping[str, str],
    out: TextIO,
    err: TextIO,
) -> int:
    """Run the demo until a stop signal; returns the exit status (0, or 78 refused)."""
    from openbroker_aliyun.logs import configure_logging

    first = commands.read_settings(command, environ, args.config, flag_overrides(args))
    # Text lines from the start (the emulator logs as it starts); the level is checked below.
    configure_logging(_known_level(first.values.get("log_level")), "text")
    for chatty in _CHATTY_LOGGERS:
        logging.getLogger(chatty).setLevel(logging.WARNING)
    stop = _StopFlag()
    farewell = _Farewell()
    with _stopped_by_signals(stop), ExitStack() as cleanup:
        status = _start_and_serve(command, args, environ, first.given, stop, cleanup, farewell, out, err)
    if farewell.served:
        print("\n".join([f"{command.name}: demo stopped", *farewell.lines]), file=out, flush=True)
    return status


def _start_and_serve(
    command: BrokerCommand,
    args: argparse.Namespace,
    environ: Mapping[str, str],
    given: frozenset[str],
    stop: _StopFlag,
    cleanup: ExitStack,
    farewell: _Farewell,
    out: TextIO,
    err: TextIO,
) -> int:
    """Everything it makes is registered on ``cleanup`` as soon as it exists."""
    from werkzeug.serving import make_server

    from openbroker_aliyun.app import create_app, start_driver, stop_driver
    from openbroker_aliyun.emulator import EmulatorConfig, EmulatorServer
    from openbroker_aliyun.logs import configure_logging

    state_dir: str | None = None
    if "state_url" not in given:
        state_dir = tempfile.mkdtemp(prefix=f"{command.name}-demo-")
        cleanup.callback(_remove_folder, state_dir, farewell)
    key_id, key_secret = f"demo{secrets.token_hex(4)}", secrets.token_urlsafe(24)
    emulator = EmulatorServer(
        EmulatorConfig(
            access_keys={key_id: key_secret},
            create_seconds=3.0,
            modify_seconds=3.0,
            delete_seconds=2.0,
            ssl_seconds=1.0,
            **command.demo_emulator(args),
        )
    )
    # Registered before it starts: stop() is idempotent, and a start may fail half-way.
    cleanup.callback(_discard_emulator, emulator, farewell)
    emulator_url = emulator.start()
    values = emulator_values(
        emulator_url, access_key_id=key_id, access_key_secret=key_secret, state_dir=state_dir
    )
    overrides = {
        **{name: value for name, value in _demo_defaults(values).items() if name not in given},
        **{name: value for name, value in values.items() if name in DEMO_OWN},
        **command.demo_settings(args),
        **flag_overrides(args),
    }
    reading = commands.read_settings(command, environ, args.config, overrides)
    settings = commands.preflight(command, reading, offline=True, err=err, check_config_hint=False)
    if settings is None:
        return EXIT_CONFIG
    configure_logging(settings.log_level, "text")
    broker = command.build_broker(settings, aliyun_port(settings))
    app = create_app(broker, settings, driver_settings=driver_settings(settings))
    cleanup.callback(stop_driver, app)
    try:
        listener = _listen(settings.host, settings.port)
    except OSError as error:
        print(
            f"{command.name} --demo: cannot listen on {settings.host}:{settings.port}: {error.strerror}; "
            "choose another port with --port (or PORT)",
            file=err,
            flush=True,
        )
        return EXIT_CONFIG
    with listener:  # the server holds its own duplicate of the socket
        server = make_server(settings.host, settings.port, app, threaded=True, fd=listener.fileno())
    cleanup.callback(server.server_close)
    if stop.requested:  # stopped while starting: nothing to serve
        return 0
    serving = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="demo-http", daemon=True
    )
    serving.start()
    cleanup.callback(_stop_serving, server, serving)
    host = "127.0.0.1" if settings.host in _WILDCARD_HOSTS else settings.host
    credential = settings.credentials[0]
    farewell.served = True
    _print_banner(
        command,
        [service.name for service in broker.catalog.services],
        url=f"http://{host}:{server.port}",
        credential=credential,
        password_given="credentials" in given,
        emulator_url=emulator_url,
        state=_state_line(state_dir, settings.state_url),
        out=out,
    )
    start_driver(app)
    while not stop.requested:
        time.sleep(_STOP_POLL_SECONDS)  # a signal interrupts the sleep; its handler sets the flag
    print(f"{command.name}: stopping; removing what the demo made ...", file=out, flush=True)
    return 0


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket, or an ``OSError`` saying why not (werkzeug would end the process)."""
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(_BACKLOG)
    except OSError:
        listener.close()
        raise
    return listener


def _demo_defaults(values: Mapping[str, Any]) -> dict[str, Any]:
    """What the demo uses for a setting the file, the environment and the flags do not give."""
    defaults = {name: value for name, value in values.items() if name not in DEMO_OWN}
    defaults.update(
        credentials=(Credential(username="demo", password=secrets.token_urlsafe(18)),),
        port=8080,
        broker_id="demo",
        refresh_seconds=1.0,
    )
    return defaults


def _known_level(value: Any) -> str:
    level = str(value or "INFO").upper()
    return level if level in logging.getLevelNamesMapping() else "INFO"


def _state_line(state_dir: str | None, state_url: str) -> str:
    if state_dir is not None:
        return f"SQLite in {state_dir} (removed at exit)"
    from openbroker_aliyun.store.database import parse_url

    shown = parse_url(state_url).render_as_string(hide_password=True)
    return f"{shown} (yours: kept at exit; the emulated instances are not)"


def _print_banner(
    command: BrokerCommand,
    offerings: Sequence[str],
    *,
    url: str,
    credential: Credential,
    password_given: bool,
    emulator_url: str,
    state: str,
    out: TextIO,
) -> None:
    # A password the user gave is theirs to know: it is not echoed.
    password = "PASSWORD" if password_given else credential.password
    user = credential.username
    lines = [
        "",
        f"{command.name} demo: an OSB broker at {url}",
        f"  Alibaba Cloud API: an in-process emulator at {emulator_url}",
        f"  state: {state}",
        f"  username: {user}",
        f"  password: {'(the one your settings give)' if password_given else password}",
        "",
        "Try it:",
        f"  curl -u '{user}:{password}' -H 'X-Broker-API-Version: 2.17' {url}/v2/catalog",
        "",
        "Register it with Cloud Foundry (the Cloud Controller must reach the URL):",
        f"  cf create-service-broker {command.broker_name} {user} '{password}' {url}",
        *[f"  cf enable-service-access {name}" for name in offerings],
        "",
        "Stop it with Ctrl-C. It then removes its temporary state and every database,",
        "account and redis-server it made; log lines follow.",
        "",
    ]
    print("\n".join(lines), file=out, flush=True)


# -- clean-up ------------------------------------------------------------------------------


def _stop_serving(server: Any, serving: threading.Thread) -> None:
    server.shutdown()
    serving.join(_SERVER_JOIN_SECONDS)


def _discard_emulator(emulator: EmulatorServer, farewell: _Farewell) -> None:
    gone = emulator.stop(discard=True)
    if gone is None:
        return
    farewell.lines.append(f"  emulated instances: {gone.summary}")
    farewell.lines.extend(f"  could not remove: {problem}" for problem in gone.problems)


def _remove_folder(path: str, farewell: _Farewell) -> None:
    shutil.rmtree(path, ignore_errors=True)
    farewell.lines.append(
        f"  state: {path} removed" if not os.path.exists(path) else f"  state: could not remove {path}"
    )


@contextmanager
def _stopped_by_signals(stop: _StopFlag) -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP set ``stop`` while the block runs; the old handlers after.

    The handler only sets the flag: the main thread starts, serves and cleans up in
    order, and a second Ctrl-C cannot cut the clean-up short (it is told so, once).
    """
    told = _StopFlag()

    def _handle(signum: int, frame: Any) -> None:
        if stop.requested and not told.requested:
            told.requested = True
            # os.write, not print: the main thread may be inside a print to the same stream.
            with suppress(OSError, ValueError):
                os.write(sys.stderr.fileno(), b"still removing what the demo made; please wait\n")
        stop.requested = True

    previous = {sig: signal.signal(sig, _handle) for sig in _STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
