"""``rds-broker``: the RDS broker's console script (see docs/rds.md and docs/configuration.md).

rds-broker --demo                      # against an in-process emulator, nothing to set up
rds-broker --config broker.yml         # for real: settings from the file and environment
rds-broker check-config                # every check, one line each (exit 78 on a problem)
rds-broker migrate                     # migrate the state store
rds-broker rotate-keys                 # re-encrypt the state store with the first key

The subcommands are those of every Alibaba broker (``aliyun_brokers.common.cli``).
"""

from __future__ import annotations

import argparse
from typing import Any

from aliyun_brokers.common.cli import BrokerCommand
from aliyun_brokers.rds.broker import RdsBroker
from aliyun_brokers.rds.settings import RdsSettings

__all__ = ["COMMAND", "main"]


def _demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--demo-mysql-url",
        metavar="URL",
        help="back the demo's MySQL instances by this server (admin URL, e.g. mysql://root@127.0.0.1:3306/)",
    )
    parser.add_argument(
        "--demo-postgres-url",
        metavar="URL",
        help="back the demo's PostgreSQL instances by this server (e.g. postgresql://postgres@127.0.0.1:5432/postgres)",
    )


def _demo_emulator(args: argparse.Namespace) -> dict[str, Any]:
    return {"mysql_url": args.demo_mysql_url, "postgres_url": args.demo_postgres_url}


def _demo_settings(args: argparse.Namespace) -> dict[str, Any]:
    # Shared ownership runs SQL on the instance: only possible when a real server backs it.
    return {"postgres_shared_ownership": bool(args.demo_postgres_url)}


COMMAND = BrokerCommand(
    name="rds-broker",
    description="Open Service Broker for ApsaraDB RDS for MySQL and PostgreSQL on Alibaba Cloud.",
    settings_class=RdsSettings,
    build_broker=RdsBroker,
    product="rds",
    demo_arguments=_demo_arguments,
    demo_emulator=_demo_emulator,
    demo_settings=_demo_settings,
    broker_name="aliyun-rds",
)

#: Entry point of ``rds-broker``.
main = COMMAND.main


if __name__ == "__main__":
    raise SystemExit(main())
