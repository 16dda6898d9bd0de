"""``aliyun-emulator``: serve the RDS / R-kvstore emulator until interrupted."""

from __future__ import annotations

import argparse
import importlib.metadata
import logging
import os
import signal
import sys
import threading
from types import FrameType
from typing import Sequence

from .backends.base import BackendError
from .config import EmulatorConfig
from .faults import FaultSpecError, parse_fault_spec

DEFAULT_PORT = 8099


def _installed_version() -> str:
    """The installed distribution's version.

    Read here rather than from ``openbroker_aliyun.__version__``: the emulator stands alone
    and imports nothing of the library (docs/architecture.md).
    """
    try:
        return importlib.metadata.version("openbroker-aliyun")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree never installed
        return "0+unknown"


def build_parser() -> argparse.ArgumentParser:
    env = os.environ.get
    parser = argparse.ArgumentParser(
        prog="aliyun-emulator",
        description=(
            "A local emulator of Alibaba Cloud RDS (2014-08-15) and R-kvstore (2015-01-01) "
            "for brokers and tests. Point any Aliyun SDK at http://HOST:PORT (see docs/emulator.md)."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_installed_version()}")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 picks a free port)"
    )
    parser.add_argument(
        "--access-key-id",
        default=env("ALIYUN_EMULATOR_ACCESS_KEY_ID", "testak"),
        help="AccessKeyId callers must use (env ALIYUN_EMULATOR_ACCESS_KEY_ID; default testak)",
    )
    parser.add_argument(
        "--access-key-secret",
        default=env("ALIYUN_EMULATOR_ACCESS_KEY_SECRET", "testsecret"),
        help="its AccessKey secret (prefer env ALIYUN_EMULATOR_ACCESS_KEY_SECRET; default testsecret)",
    )
    parser.add_argument(
        "--extra-access-key",
        action="append",
        default=[],
        metavar="ID=SECRET",
        help="another accepted AccessKey pair (repeatable)",
    )
    parser.add_argument("--region", default="cn-hangzhou", help="default region id (default cn-hangzhou)")
    for name, default, what in (
        ("create", 3.0, "creating an instance"),
        ("modify", 3.0, "a spec change"),
        ("delete", 2.0, "deleting an instance"),
        ("ssl", 2.0, "an SSL change"),
    ):
        parser.add_argument(
            f"--{name}-seconds",
            type=float,
            default=default,
            help=f"seconds {what} takes (default {default:g}; 0: done by the next call)",
        )
    parser.add_argument(
        "--mysql-url",
        default=env("ALIYUN_EMULATOR_MYSQL_URL"),
        help="admin URL of a MySQL/MariaDB server backing RDS MySQL/MariaDB instances, "
        "e.g. mysql://root@127.0.0.1:3306/ (env ALIYUN_EMULATOR_MYSQL_URL)",
    )
    parser.add_argument(
        "--postgres-url",
        default=env("ALIYUN_EMULATOR_POSTGRES_URL"),
        help="superuser URL of a PostgreSQL server backing RDS PostgreSQL instances, "
        "e.g. postgresql://postgres@127.0.0.1:5432/postgres (env ALIYUN_EMULATOR_POSTGRES_URL)",
    )
    parser.add_argument(
        "--redis",
        action="store_true",
        help="back each R-kvstore instance with its own redis-server child process",
    )
    parser.add_argument(
        "--redis-server-binary", default="redis-server", help="redis-server to run (default: PATH)"
    )
    parser.add_argument("--state-file", help="keep the state in this JSON file, so it survives a restart")
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="SPEC",
        help="inject faults, e.g. Throttling:0.2, CreateDBInstance=lost_response:once, "
        "rds/DescribeDBInstances=Throttling,ok,ServiceUnavailable (repeatable; see docs/emulator.md)",
    )
    parser.add_argument("--fault-seed", type=int, help="seed of the fault dice, for reproducible runs")
    parser.add_argument(
        "--rate-limit",
        type=float,
        default=0.0,
        help="calls per second per AccessKey before Throttling.User (default 0: unlimited)",
    )
    parser.add_argument(
        "--timestamp-tolerance",
        type=float,
        default=900.0,
        help="seconds a request timestamp may be off (default 900)",
    )
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return parser


def config_from_args(args: argparse.Namespace, parser: argparse.ArgumentParser) -> EmulatorConfig:
    keys = {args.access_key_id: args.access_key_secret}
    for pair in args.extra_access_key:
        key_id, sep, secret = pair.partition("=")
        if not sep or not key_id or not secret:
            parser.error("--extra-access-key takes ID=SECRET")
        keys[key_id] = secret
    try:
        faults = [parse_fault_spec(spec) for spec in args.fault]
    except FaultSpecError as exc:
        parser.error(f"--fault: {exc}")
    if not 0 <= args.port <= 65535:
        parser.error("--port must be between 0 and 65535")
    try:
        return EmulatorConfig(
            host=args.host,
            port=args.port,
            access_keys=keys,
            region_id=args.region,
            create_seconds=args.create_seconds,
            modify_seconds=args.modify_seconds,
            delete_seconds=args.delete_seconds,
            ssl_seconds=args.ssl_seconds,
            mysql_url=args.mysql_url,
            postgres_url=args.postgres_url,
            redis=args.redis,
            redis_server_binary=args.redis_server_binary,
            state_file=args.state_file,
            faults=faults,
            fault_seed=args.fault_seed,
            rate_limit=args.rate_limit,
            timestamp_tolerance_seconds=args.timestamp_tolerance,
        )
    except ValueError as exc:
        parser.error(str(exc))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the emulator in the foreground; SIGINT / SIGTERM stop it cleanly."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = config_from_args(args, parser)
    from .server import EmulatorServer  # after the flags are checked: a bad flag fails fast

    try:
        server = EmulatorServer(config)
        url = server.start()
    except (ValueError, OSError, BackendError) as exc:
        print(f"aliyun-emulator: {exc}", file=sys.stderr)
        return 2
    stopping = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    print(f"aliyun-emulator listening on {url} (AccessKeyId {args.access_key_id})", flush=True)
    try:
        while not stopping.wait(0.5):
            pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
