"""``redis-broker --demo`` as a real process leaves no redis-server behind.

Real: the console script in a subprocess (its own process group), the emulator inside it
running one real ``redis-server`` child per instance, OSB over HTTP, the binding's
credentials used with a Redis client. The children are found in ``/proc`` (Linux).
"""

from __future__ import annotations

import signal
import socket
import sys
import uuid
from pathlib import Path

import pytest
import redis
from broker_harness import assert_readable_output, demo, demo_env
from redis_harness import REDIS, plan_id

from openbroker_aliyun.testing.client import OSBClient, PollingPolicy

REDIS_BROKER = str(Path(sys.executable).with_name("redis-broker"))


def _redis_children(parent: int) -> set[int]:
    """The pids of the live redis-server processes whose parent is ``parent``."""
    found: set[int] = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # ended while we looked
            continue
        command = text[text.index("(") + 1 : text.rindex(")")]
        state, ppid = text[text.rindex(")") + 2 :].split()[:2]
        if command == "redis-server" and int(ppid) == parent and state != "Z":
            found.add(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return text[text.rindex(")") + 2 :].split()[0] != "Z"


@pytest.mark.slow
@pytest.mark.services
@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_demo_stops_every_redis_server_it_started(
    stop_signal: int, redis_server: str, tmp_path: Path
) -> None:
    if not Path("/proc/self/stat").is_file():
        pytest.skip("finding the demo's children needs /proc (Linux)")
    with demo([REDIS_BROKER, "--demo", "--port", "0"], demo_env(tmp_path), stop_signal) as running:
        client = OSBClient(
            running.url,
            running.username,
            running.password,
            polling=PollingPolicy(interval=0.2, interval_cap=0.5, max_duration=60),
        )
        instance_id, plan = str(uuid.uuid4()), plan_id("standard-256mb")
        client.provision_and_wait(instance_id, REDIS.id, plan)
        credentials = client.bind_and_wait(instance_id, str(uuid.uuid4()), REDIS.id, plan).credentials
        client.session.close()
        assert credentials is not None
        with redis.Redis(
            host=credentials["host"],
            port=int(credentials["port"]),
            username=credentials.get("username"),
            password=credentials["password"],
            socket_timeout=5,
        ) as served:
            assert served.ping()
        children = _redis_children(running.process.pid)
        assert children, "the instance is backed by a redis-server child"
    assert running.returncode == 0, running.output
    assert not [pid for pid in children if _alive(pid)], "a redis-server outlived the demo"
    with socket.socket() as probe:
        assert probe.connect_ex((credentials["host"], int(credentials["port"]))) != 0
    assert list(tmp_path.iterdir()) == [], "the demo left a folder in TMPDIR"
    assert "1 redis-server process" in running.farewell
    assert_readable_output(running)
