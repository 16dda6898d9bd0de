"""The driver's statements on every database: exclusive claims, renewals, purge, time."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

from store_rows import add_instance_with_secrets, now

from openbroker_aliyun.domain import OperationKind, OperationState, RequestInfo
from openbroker_aliyun.store import InstanceStatus, Store, StoredOperation, generate_key


def _due_operation(store: Store, instance_id: str) -> str:
    at = now() - timedelta(seconds=1)
    op = StoredOperation(
        id=uuid.uuid4().hex,
        instance_id=instance_id,
        binding_id=None,
        kind=OperationKind.UPDATE,
        state=OperationState.IN_PROGRESS,
        plan_id="plan",
        started_at=at,
        updated_at=at,
        next_run_at=at,
        info=RequestInfo(),
    )
    store.transact(lambda tx: tx.add_operation(op))
    return op.id


def test_only_one_of_many_concurrent_claims_wins(store_url: str) -> None:
    store = Store.open(store_url, encryption_keys=[generate_key()])
    try:
        op_id = _due_operation(store, add_instance_with_secrets(store))
        assert store.due_operations(now(), 10) == [op_id]
        barrier = threading.Barrier(8)
        wins: list[str] = []

        def claim(owner: str) -> None:
            barrier.wait(10)
            at = now()
            if store.claim(op_id, owner, at, at + timedelta(seconds=30)):
                wins.append(owner)

        threads = [threading.Thread(target=claim, args=(f"owner-{n}",)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert len(wins) == 1
        assert store.due_operations(now(), 10) == []
        # Renewal only by the holder; release lets the next claim in.
        until = now() + timedelta(seconds=60)
        assert store.renew("someone-else", [op_id], until) == 0
        assert store.renew(wins[0], [op_id], until) == 1
        store.release(op_id, wins[0])
        assert store.claim(op_id, "next", now(), now() + timedelta(seconds=1))
    finally:
        store.close()


def test_an_expired_lease_can_be_taken_over(store_url: str) -> None:
    store = Store.open(store_url, encryption_keys=[generate_key()])
    try:
        op_id = _due_operation(store, add_instance_with_secrets(store))
        at = now()
        assert store.claim(op_id, "crashed", at, at + timedelta(milliseconds=1))
        later = at + timedelta(seconds=1)
        assert store.due_operations(later, 10) == [op_id]
        assert store.claim(op_id, "survivor", later, later + timedelta(seconds=30))
    finally:
        store.close()


def test_times_keep_microseconds_and_come_back_in_utc(store_url: str) -> None:
    store = Store.open(store_url, encryption_keys=[generate_key()])
    try:
        instance_id = add_instance_with_secrets(store)
        at = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)

        def touch(tx):  # type: ignore[no-untyped-def]
            instance = tx.instance(instance_id, lock=True)
            instance.updated_at = at
            tx.save_instance(instance)

        store.transact(touch)
        assert store.transact(lambda tx: tx.instance(instance_id)).updated_at == at  # type: ignore[union-attr]
    finally:
        store.close()


def test_purge_removes_old_tombstones_only(store_url: str) -> None:
    store = Store.open(store_url, encryption_keys=[generate_key()])
    try:
        deleted = add_instance_with_secrets(store, status=InstanceStatus.DELETED)
        alive = add_instance_with_secrets(store)
        assert store.purge(now() - timedelta(hours=1)) == 0
        assert store.purge(now() + timedelta(seconds=1)) >= 3
        assert store.transact(lambda tx: tx.instance(deleted)) is None
        kept = store.transact(lambda tx: tx.instance(alive))
        assert kept is not None
        # The live instance's current operation is kept, however old.
        assert store.transact(lambda tx: tx.operation(kept.operation_id)) is not None  # type: ignore[arg-type]
    finally:
        store.close()
