"""The lease keeper's owner name across a fork (a gunicorn worker is a forked child)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from openbroker_aliyun.engine.leases import LeaseKeeper
from openbroker_aliyun.store import Store, generate_key


def test_a_forked_child_is_one_new_owner_for_all_its_threads(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path}/state.db", encryption_keys=[generate_key()])
    keeper = LeaseKeeper(store, lease_seconds=30.0)
    try:
        parent_owner = keeper.owner
        keeper.hold("op-of-the-parent")
        pid = os.fork()
        if pid == 0:  # the child: its threads race for the name, as a new worker's do
            seen: list[str] = []
            start = threading.Barrier(8)

            def read_owner() -> None:
                start.wait()
                seen.append(keeper.owner)

            threads = [threading.Thread(target=read_owner) for _ in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            keeper.hold("op-of-the-child")  # starts a renewal thread of the child's own
            ok = (
                len(set(seen)) == 1
                and seen[0] != parent_owner
                and f":{os.getpid()}:" in seen[0]
                and keeper._held == {"op-of-the-child"}
                and keeper._thread is not None
                and keeper._thread.is_alive()
            )
            os._exit(0 if ok else 1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert keeper.owner == parent_owner
        assert keeper._held == {"op-of-the-parent"}
    finally:
        keeper.stop(timeout=5.0)
        store.close()
