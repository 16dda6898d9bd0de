"""``python -m openbroker_aliyun.emulator``: the same command as ``aliyun-emulator``."""

from openbroker_aliyun.emulator.cli import main

if __name__ == "__main__":  # not on a mere import (documentation tools, checkers)
    raise SystemExit(main())
