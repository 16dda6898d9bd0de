"""The RDS broker: ApsaraDB RDS for MySQL and PostgreSQL (see docs/rds.md).

``RdsBroker(settings, port)`` is the ``ServiceBroker`` plug-in; ``RdsSettings`` its
settings; ``rds-broker`` (``aliyun_brokers.rds.cli:main``) its command.
"""

from aliyun_brokers.rds.broker import RdsBroker
from aliyun_brokers.rds.settings import RdsSettings

__all__ = ["RdsBroker", "RdsSettings"]
