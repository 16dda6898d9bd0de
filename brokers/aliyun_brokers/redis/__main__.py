"""``python -m aliyun_brokers.redis``: the same command as ``redis-broker``."""

from aliyun_brokers.redis.cli import main

if __name__ == "__main__":  # not on a mere import (documentation tools, checkers)
    raise SystemExit(main())
