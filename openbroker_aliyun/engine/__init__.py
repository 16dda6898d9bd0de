"""The engine: OSB decisions, state and the background driving of async operations.

``build_engine(broker, state_url=..., encryption_keys=[...])`` returns an ``Engine``
(the ``BrokerEngine`` the HTTP layer calls); ``DriverSettings`` tune its driver.
"""

from openbroker_aliyun.engine.engine import Engine, build_engine
from openbroker_aliyun.engine.settings import DriverSettings

__all__ = ["DriverSettings", "Engine", "build_engine"]
