"""``redis-broker``: the Redis broker's console script (see docs/redis.md and docs/configuration.md).

redis-broker --demo                     # against an in-process emulator, nothing to set up
redis-broker --config broker.yml        # for real: settings from the file and environment
redis-broker check-config               # every check, one line each (exit 78 on a problem)

The settings, the ``--demo`` mode and the command line (``serve``, ``check-config``,
``migrate``, ``rotate-keys``, ``--version``) are those of ``rds-broker``
(``aliyun_brokers.common.cli``); the demo backs its Redis instances by real
``redis-server`` processes when one is installed.
"""

from __future__ import annotations

import argparse
import shutil
from typing import Any

from aliyun_brokers.common.cli import BrokerCommand
from aliyun_brokers.common.settings import CloudBrokerSettings
from aliyun_brokers.redis.broker import RedisBroker

__all__ = ["COMMAND", "main"]


def _demo_arguments(group: argparse.ArgumentParser) -> None:
    group.add_argument(
        "--demo-redis-server",
        metavar="BINARY",
        default="redis-server",
        help="back each demo instance by a child process of this redis-server "
        "(default: redis-server from PATH; without one the demo keeps metadata only)",
    )


def _demo_emulator(args: argparse.Namespace) -> dict[str, Any]:
    binary = shutil.which(args.demo_redis_server)
    return {"redis": True, "redis_server_binary": binary} if binary else {}


COMMAND = BrokerCommand(
    name="redis-broker",
    description="Open Service Broker for ApsaraDB for Redis on Alibaba Cloud.",
    settings_class=CloudBrokerSettings,
    build_broker=RedisBroker,
    product="r-kvstore",
    demo_arguments=_demo_arguments,
    demo_emulator=_demo_emulator,
    broker_name="aliyun-redis",
)

#: Entry point of ``redis-broker``.
main = COMMAND.main


if __name__ == "__main__":
    raise SystemExit(main())
