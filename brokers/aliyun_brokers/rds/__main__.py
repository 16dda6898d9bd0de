"""``python -m aliyun_brokers.rds``: the same command as ``rds-broker``."""

from aliyun_brokers.rds.cli import main

if __name__ == "__main__":  # not on a mere import (documentation tools, checkers)
    raise SystemExit(main())
