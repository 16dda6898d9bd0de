"""A local emulator of Alibaba Cloud RDS (2014-08-15) and R-kvstore (2015-01-01).

It speaks the RPC wire protocol both Aliyun SDK generations use (V1 and V3 signatures),
models the instance lifecycles, optionally backs instances with real MySQL/MariaDB,
PostgreSQL and redis-server, and injects faults on demand. See docs/emulator.md.
"""

from .app import EmulatorApp, create_emulator_app
from .config import EmulatorConfig
from .discard import Discarded
from .faults import FaultRule, parse_fault_spec
from .server import EmulatorServer

__all__ = [
    "Discarded",
    "EmulatorApp",
    "EmulatorConfig",
    "EmulatorServer",
    "FaultRule",
    "create_emulator_app",
    "parse_fault_spec",
]
