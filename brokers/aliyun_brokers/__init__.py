"""The reference brokers for Alibaba Cloud: ``aliyun_brokers.rds`` and ``aliyun_brokers.redis``.

They need the ``aliyun`` extra (the Alibaba SDKs, the database and Redis drivers); without
it, importing them fails at once with the command that installs it, rather than with
whichever module happens to be imported first.
"""

from importlib.util import find_spec

# What the `aliyun` extra installs (setup.cfg), by import name.
_EXTRA_MODULES = ("aliyunsdkcore", "aliyunsdkrds", "aliyunsdkr_kvstore", "psycopg", "pymysql", "redis")

_missing = [name for name in _EXTRA_MODULES if find_spec(name) is None]
if _missing:
    raise ImportError(
        f"the Alibaba brokers need the aliyun extra ({', '.join(_missing)} not installed): "
        "pip install 'openbroker-aliyun[aliyun]'"
    )
