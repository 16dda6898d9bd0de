"""Settings of the emulator, shared by the CLI and by in-process users (tests, ``--demo``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .faults import FaultRule


@dataclass
class EmulatorConfig:
    """Everything the emulator needs; the defaults suit a developer on a laptop.

    Durations are seconds of wall-clock time an operation takes (0: done by the next call).
    Backing servers are optional: without them the emulator keeps metadata only.
    """

    host: str = "127.0.0.1"
    port: int = 0  # 0: a free port
    access_keys: dict[str, str] = field(default_factory=lambda: {"testak": "testsecret"}, repr=False)
    region_id: str = "cn-hangzhou"
    create_seconds: float = 3.0
    modify_seconds: float = 3.0
    delete_seconds: float = 2.0
    ssl_seconds: float = 2.0
    mysql_url: str | None = field(default=None, repr=False)  # may carry a password
    postgres_url: str | None = field(default=None, repr=False)
    redis: bool = False  # one real redis-server child per R-kvstore instance
    redis_server_binary: str = "redis-server"
    state_file: str | None = None
    faults: list[FaultRule] = field(default_factory=list)
    fault_seed: int | None = None
    rate_limit: float = 0.0  # calls per second per AccessKey (0: unlimited)
    timestamp_tolerance_seconds: float = 900.0
    check_nonce: bool = True

    def __post_init__(self) -> None:
        for name in ("create_seconds", "modify_seconds", "delete_seconds", "ssl_seconds", "rate_limit"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if not self.access_keys:
            raise ValueError("at least one AccessKey pair is needed")

    @classmethod
    def instant(cls, **overrides: object) -> EmulatorConfig:
        """Zero durations: what tests want (every operation done by the next call)."""
        values: dict[str, object] = {
            "create_seconds": 0.0,
            "modify_seconds": 0.0,
            "delete_seconds": 0.0,
            "ssl_seconds": 0.0,
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]
