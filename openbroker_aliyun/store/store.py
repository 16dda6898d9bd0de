"""The state store: instances, bindings and operations in a SQL database.

``Store.transact(fn)`` runs ``fn(tx)`` in one database transaction and repeats it when
the database says a repeat can succeed (two requests inserting the same id at once, a
deadlock): the engine's decisions are written as such functions, reading with
``lock=True`` what they are about to change. Every mutating path locks the instance row
first, which serialises everything that happens to one instance and its bindings.

``Store.read(fn)`` runs ``fn(reader)`` in a read-only transaction, which takes no lock
and waits for no writer (see ``openbroker_aliyun.store.database``): what answers
last_operation, GET instance and GET binding, and every look before a decision.

The background driver's calls (``due_operations``, ``claim``, ``renew``, ``release``) are
single conditional statements, so that no two processes ever hold one operation.

Whatever the database or its driver raises leaves these methods as one of the store's
own errors (``StoreUnavailable``, ``StoreValueError``, ``StoreFailure``; see
``openbroker_aliyun.store.errors``), and each call tells the store's ``outage`` tracker
whether it reached the database.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, Callable, Iterable, Sequence, TypeVar

from sqlalchemy import Connection, Engine, Row, Select, and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from openbroker_aliyun.domain import OperationState
from openbroker_aliyun.store import lookups
from openbroker_aliyun.store.database import (
    is_retryable,
    make_engine,
    make_reader,
    read_only_options,
    store_error,
)
from openbroker_aliyun.store.direct import DirectQuery, KeptConnections
from openbroker_aliyun.store.encryption import FieldCipher
from openbroker_aliyun.store.errors import StoreDatabaseError, StoreError, StoreUnavailable
from openbroker_aliyun.store.mapping import RowMapper
from openbroker_aliyun.store.migrate import upgrade_to_head
from openbroker_aliyun.store.outage import OutageTracker
from openbroker_aliyun.store.rows import (
    BindingSnapshot,
    BindingStatus,
    InstanceSnapshot,
    InstanceStatus,
    OperationLookup,
    StoredBinding,
    StoredInstance,
    StoredOperation,
)
from openbroker_aliyun.store.tables import ENCRYPTED_COLUMNS, bindings, instances, operations

log = logging.getLogger("openbroker_aliyun.store")

T = TypeVar("T")

_IN_PROGRESS = str(OperationState.IN_PROGRESS)
# Bounded: a transaction that keeps colliding after this many tries reports the error.
_TRANSACTION_ATTEMPTS = 6
_PURGE_BATCH = 500
# Passes of a key rotation at most: each retries the rows still on an old key.
_ROTATION_ROUNDS = 20
# What a statement can raise: SQLAlchemy's errors (the drivers' wrapped), and the
# drivers' UnicodeError for text they cannot encode (a lone surrogate), never wrapped.
_DATABASE_ERRORS = (SQLAlchemyError, UnicodeError)


class Reader:
    """Reads inside one database transaction (see ``Store.read``)."""

    def __init__(self, connection: Connection, mapper: RowMapper) -> None:
        self._conn = connection
        self._map = mapper

    @property
    def connection(self) -> Connection:
        """The transaction's connection, for statements this class does not offer."""
        return self._conn

    # -- whole records ---------------------------------------------------------------

    def instance(self, instance_id: str) -> StoredInstance | None:
        return self._instance(instance_id, lock=False)

    def binding(self, instance_id: str, binding_id: str) -> StoredBinding | None:
        return self._binding(instance_id, binding_id, lock=False)

    def operation(self, operation_id: str) -> StoredOperation | None:
        return self._operation(operation_id, lock=False)

    def _instance(self, instance_id: str, *, lock: bool) -> StoredInstance | None:
        query = select(instances).where(instances.c.id == instance_id)
        row = self._conn.execute(query.with_for_update() if lock else query).mappings().first()
        return None if row is None else self._map.instance(row)

    def _binding(self, instance_id: str, binding_id: str, *, lock: bool) -> StoredBinding | None:
        query = select(bindings).where(bindings.c.instance_id == instance_id, bindings.c.id == binding_id)
        row = self._conn.execute(query.with_for_update() if lock else query).mappings().first()
        return None if row is None else self._map.binding(row)

    def _operation(self, operation_id: str, *, lock: bool) -> StoredOperation | None:
        query = select(operations).where(operations.c.id == operation_id)
        row = self._conn.execute(query.with_for_update() if lock else query).mappings().first()
        return None if row is None else self._map.operation(row)

    # -- lean reads for the hot request paths (one statement each) ------------------

    def instance_snapshot(self, instance_id: str) -> InstanceSnapshot | None:
        """What GET instance answers from (only the parameters are decrypted)."""
        row = self._conn.execute(lookups.INSTANCE_SNAPSHOT, {"instance_id": instance_id}).mappings().first()
        return None if row is None else self._map.instance_snapshot(row)

    def binding_snapshot(self, instance_id: str, binding_id: str) -> BindingSnapshot | None:
        """What GET binding answers from (parameters and result are decrypted, not details)."""
        params = {"instance_id": instance_id, "binding_id": binding_id}
        row = self._conn.execute(lookups.BINDING_SNAPSHOT, params).mappings().first()
        return None if row is None else self._map.binding_snapshot(row)

    # -- other reads -----------------------------------------------------------------

    def bindings_of(self, instance_id: str) -> list[StoredBinding]:
        query = select(bindings).where(bindings.c.instance_id == instance_id).order_by(bindings.c.id)
        return [self._map.binding(row) for row in self._conn.execute(query).mappings()]

    def busy_binding_ids(self, instance_id: str) -> list[str]:
        """Bindings of the instance with a bind or unbind in flight."""
        query = select(bindings.c.id).where(
            bindings.c.instance_id == instance_id,
            bindings.c.status.in_([str(BindingStatus.BINDING), str(BindingStatus.UNBINDING)]),
        )
        return list(self._conn.execute(query).scalars())

    def leased_elsewhere(
        self, instance_id: str, binding_id: str | None, operation_id: str, now: datetime
    ) -> bool:
        """True when a step that excludes this operation's holds a live lease.

        An instance operation excludes every other operation of the instance and its
        bindings; a binding operation excludes the instance's own operations and the
        other operations of the same binding (bindings of one instance go in parallel).
        """
        query = select(func.count()).where(
            operations.c.instance_id == instance_id,
            operations.c.id != operation_id,
            operations.c.lease_owner.is_not(None),
            operations.c.lease_expires_at > now,
        )
        if binding_id is not None:
            query = query.where(or_(operations.c.binding_id.is_(None), operations.c.binding_id == binding_id))
        return bool(self._conn.execute(query).scalar())


class Transaction(Reader):
    """Reads and writes inside one database transaction (see ``Store.transact``).

    Reads take ``lock=True`` to lock the row they are about to change.
    """

    def instance(self, instance_id: str, *, lock: bool = False) -> StoredInstance | None:
        return self._instance(instance_id, lock=lock)

    def binding(self, instance_id: str, binding_id: str, *, lock: bool = False) -> StoredBinding | None:
        return self._binding(instance_id, binding_id, lock=lock)

    def operation(self, operation_id: str, *, lock: bool = False) -> StoredOperation | None:
        return self._operation(operation_id, lock=lock)

    # -- writes ----------------------------------------------------------------------

    def renew_lease(self, operation_id: str, owner: str, until: datetime) -> bool:
        """Extend this owner's lease of the operation; False when the owner lost it."""
        statement = (
            update(operations)
            .where(operations.c.id == operation_id, operations.c.lease_owner == owner)
            .values(lease_expires_at=until)
        )
        return self._conn.execute(statement).rowcount == 1

    def add_instance(self, stored: StoredInstance) -> None:
        self._conn.execute(insert(instances).values(self._map.instance_values(stored)))

    def save_instance(self, stored: StoredInstance) -> None:
        values = self._map.instance_values(stored)
        del values["id"]
        self._conn.execute(update(instances).where(instances.c.id == stored.id).values(values))

    def remove_instance(self, instance_id: str) -> None:
        self._conn.execute(delete(operations).where(operations.c.instance_id == instance_id))
        self._conn.execute(delete(bindings).where(bindings.c.instance_id == instance_id))
        self._conn.execute(delete(instances).where(instances.c.id == instance_id))

    def add_binding(self, stored: StoredBinding) -> None:
        self._conn.execute(insert(bindings).values(self._map.binding_values(stored)))

    def save_binding(self, stored: StoredBinding) -> None:
        values = self._map.binding_values(stored)
        del values["instance_id"], values["id"]
        self._conn.execute(
            update(bindings)
            .where(bindings.c.instance_id == stored.record.instance_id, bindings.c.id == stored.id)
            .values(values)
        )

    def remove_binding(self, instance_id: str, binding_id: str) -> None:
        self._conn.execute(
            delete(operations).where(
                operations.c.instance_id == instance_id, operations.c.binding_id == binding_id
            )
        )
        self._conn.execute(
            delete(bindings).where(bindings.c.instance_id == instance_id, bindings.c.id == binding_id)
        )

    def add_operation(self, op: StoredOperation) -> None:
        self._conn.execute(insert(operations).values(self._map.operation_values(op)))

    def save_operation(self, op: StoredOperation) -> None:
        values = self._map.operation_values(op)
        del values["id"]
        self._conn.execute(update(operations).where(operations.c.id == op.id).values(values))

    def remove_operation(self, operation_id: str) -> None:
        self._conn.execute(delete(operations).where(operations.c.id == operation_id))

    def mark_bindings_deleted(self, instance_id: str, now: datetime) -> None:
        """Tombstone every binding of the instance (on deprovision)."""
        self._conn.execute(
            update(bindings)
            .where(bindings.c.instance_id == instance_id, bindings.c.status != str(BindingStatus.DELETED))
            .values(status=str(BindingStatus.DELETED), deleted_at=now, updated_at=now)
        )


@dataclass(frozen=True)
class RotationReport:
    """What ``Store.rotate_keys`` did, counted in secret values (a row holds one to three).

    ``rewritten``: values this run re-encrypted with the first key; ``already_current``:
    values it found encrypted with it already; ``remaining_on_old_key``: values still not
    encrypted with the first key when the run ended, in the rows ``remaining`` names
    (table and primary key, never a value). Only when that is 0 may the old key go.
    """

    rewritten: int
    already_current: int
    remaining_on_old_key: int = 0
    remaining: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        """True when every stored value is encrypted with the first key."""
        return self.remaining_on_old_key == 0


class Store:
    """The state store. Build it with ``Store.open``; share one per process."""

    def __init__(self, engine: Engine, cipher: FieldCipher, *, reader: Engine | None = None) -> None:
        self.engine = engine
        #: The engine of read-only transactions (``engine`` itself unless given).
        self.reader = reader if reader is not None else engine
        self.cipher = cipher
        self._map = RowMapper(cipher)
        self._read_options = read_only_options(engine)
        self._kept = KeptConnections(self.reader) if KeptConnections.suit(self.reader) else None
        self._operation_lookups = {
            key: DirectQuery(self.reader, statement, self._kept)
            for key, statement in lookups.OPERATION_LOOKUPS.items()
        }
        #: Whether the database is reachable, as the store's calls found it.
        self.outage = OutageTracker()

    @classmethod
    def open(
        cls,
        url: str,
        *,
        encryption_keys: Sequence[str] = (),
        allow_plaintext: bool = False,
        migrate: bool = True,
        pool_size: int = 10,
        max_overflow: int = 20,
    ) -> Store:
        """Connect to the store at ``url`` and bring its schema to the newest revision.

        ``encryption_keys``: Fernet keys, the first encrypts and all decrypt. Without a key
        the store refuses to start unless ``allow_plaintext=True`` (``StoreConfigError``).
        """
        cipher = FieldCipher(encryption_keys, allow_plaintext=allow_plaintext)
        engine = make_engine(url, pool_size=pool_size, max_overflow=max_overflow)
        try:
            if migrate:
                upgrade_to_head(engine)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, cipher, reader=make_reader(engine, pool_size=pool_size, max_overflow=max_overflow))

    def close(self) -> None:
        """Close every pooled connection (and the lookups' own)."""
        if self._kept is not None:
            self._kept.close()
        self.engine.dispose()
        if self.reader is not self.engine:
            self.reader.dispose()

    # -- transactions ----------------------------------------------------------------

    def transact(self, fn: Callable[[Transaction], T]) -> T:
        """Run ``fn`` in a transaction, repeating it (bounded) on retryable errors.

        ``fn`` must have no effect outside the database: it may run more than once.
        """
        for attempt in range(1, _TRANSACTION_ATTEMPTS + 1):
            try:
                with self.engine.begin() as connection:
                    result = fn(Transaction(connection, self._map))
            except DBAPIError as error:
                if attempt == _TRANSACTION_ATTEMPTS or not is_retryable(error):
                    raise self._failed(error) from None
                # Let the other transaction finish before trying again.
                time.sleep(0.005 * attempt)
                continue
            except _DATABASE_ERRORS as error:
                raise self._failed(error) from None
            self.outage.reachable()
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    def read(self, fn: Callable[[Reader], T]) -> T:
        """Run ``fn`` in a read-only transaction and return what it returns.

        The transaction takes no lock and waits for no writer: a deferred ``BEGIN`` on
        SQLite's own read connections (WAL), ``BEGIN READ ONLY`` on PostgreSQL, a plain
        transaction that only reads on MySQL. Everything ``fn`` reads comes from the
        database at this moment; nothing is cached.
        """
        try:
            with self.reader.connect() as connection:
                if self._read_options:
                    connection.execution_options(**self._read_options)
                with connection.begin():
                    result = fn(Reader(connection, self._map))
        except _DATABASE_ERRORS as error:
            raise self._failed(error) from None
        self.outage.reachable()
        return result

    def operation_lookup(
        self, instance_id: str, binding_id: str | None, operation: str | None
    ) -> OperationLookup:
        """What last_operation answers from: whether the instance (and binding) exist, and
        the operation named by ``operation`` (when given) or else the current one.

        One statement, run directly on the driver (``openbroker_aliyun.store.direct``):
        the hottest read of a broker. Reads no secret column, takes no lock.
        """
        query = self._operation_lookups[(binding_id is not None, bool(operation))]
        try:
            row = query.first({"instance_id": instance_id, "binding_id": binding_id, "operation": operation})
        except _DATABASE_ERRORS as error:
            raise self._failed(error) from None
        self.outage.reachable()
        if row is None:
            return OperationLookup(instance_found=False, binding_found=False, operation=None)
        return OperationLookup(
            instance_found=True, binding_found=row[0] is not None, operation=self._map.operation_summary(row)
        )

    def ping(self) -> bool:
        """True when the database answers (a failure counts in ``outage`` as any other)."""
        try:
            self.read(lambda reader: reader.connection.exec_driver_sql("SELECT 1").scalar())
        except StoreError:
            return False
        return True

    def _failed(self, error: SQLAlchemyError | UnicodeError) -> StoreDatabaseError:
        """The store's error for a failed call (told to ``outage`` when unreachable).

        Raised ``from None``: the message holds the statement's kind, the driver's error
        class and code, never the driver's own message, which may quote a value (MySQL's
        "Incorrect string value: ..."); the original stays in ``__context__``.
        """
        failure = store_error(error)
        if isinstance(failure, StoreUnavailable):
            self.outage.unreachable(failure)
        return failure

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        """One read-write transaction for the store's own statements (no repeats)."""
        try:
            with self.engine.begin() as connection:
                yield connection
        except _DATABASE_ERRORS as error:
            raise self._failed(error) from None
        self.outage.reachable()

    def operation_counts(self) -> dict[tuple[str, str], int]:
        """How many operations the store holds, by (kind, state); read-only, for metrics."""
        query = select(operations.c.kind, operations.c.state, func.count()).group_by(
            operations.c.kind, operations.c.state
        )
        return self.read(
            lambda reader: {(kind, state): count for kind, state, count in reader.connection.execute(query)}
        )

    # -- the driver's statements -----------------------------------------------------

    def due_operations(self, now: datetime, limit: int) -> list[str]:
        """Ids of operations in progress, due, and not leased (or with an expired lease)."""
        query = select(operations.c.id).where(_due(now)).order_by(operations.c.next_run_at).limit(limit)
        return self.read(lambda reader: list(reader.connection.execute(query).scalars()))

    def claim_due(self, owner: str, now: datetime, until: datetime, limit: int) -> list[str]:
        """Take the leases of up to ``limit`` due operations; returns the ids this call got.

        One conditional UPDATE over the due ids: when drivers race for the same rows, the
        database lets each row match for one of them only. A read comes first, so that a
        driver with nothing to do (the common case) takes no write lock.
        """
        if not self.due_operations(now, 1):
            return []
        due = _due(now)

        def take(tx: Transaction) -> list[str]:
            connection = tx.connection
            ids = list(
                connection.execute(
                    select(operations.c.id).where(due).order_by(operations.c.next_run_at).limit(limit)
                ).scalars()
            )
            if not ids:
                return []
            connection.execute(
                update(operations)
                .where(operations.c.id.in_(ids), due)
                .values(lease_owner=owner, lease_expires_at=until)
            )
            mine = select(operations.c.id).where(
                operations.c.id.in_(ids),
                operations.c.lease_owner == owner,
                operations.c.lease_expires_at == until,
            )
            return list(connection.execute(mine).scalars())

        return self.transact(take)

    def claim(self, operation_id: str, owner: str, now: datetime, until: datetime) -> bool:
        """Take the lease of a due operation; True when this call got it.

        One conditional UPDATE: when two drivers race, the database lets one match.
        """
        statement = (
            update(operations)
            .where(operations.c.id == operation_id, _due(now))
            .values(lease_owner=owner, lease_expires_at=until)
        )
        with self._writing() as connection:
            return connection.execute(statement).rowcount == 1

    def take_lease(self, operation_id: str, owner: str, now: datetime, until: datetime) -> bool:
        """Take the lease of an operation whatever its schedule (an inline step)."""
        statement = (
            update(operations)
            .where(
                operations.c.id == operation_id,
                or_(operations.c.lease_owner.is_(None), operations.c.lease_expires_at <= now),
            )
            .values(lease_owner=owner, lease_expires_at=until)
        )
        with self._writing() as connection:
            return connection.execute(statement).rowcount == 1

    def renew(self, owner: str, operation_ids: Iterable[str], until: datetime) -> int:
        """Extend the leases this owner holds; returns how many it still holds."""
        ids = list(operation_ids)
        if not ids:
            return 0
        statement = (
            update(operations)
            .where(operations.c.id.in_(ids), operations.c.lease_owner == owner)
            .values(lease_expires_at=until)
        )
        with self._writing() as connection:
            return connection.execute(statement).rowcount

    def release(self, operation_id: str, owner: str, *, next_run_at: datetime | None = None) -> None:
        """Give a lease back without stepping (optionally moving the next run)."""
        values: dict[str, Any] = {"lease_owner": None, "lease_expires_at": None}
        if next_run_at is not None:
            values["next_run_at"] = next_run_at
        statement = (
            update(operations)
            .where(operations.c.id == operation_id, operations.c.lease_owner == owner)
            .values(values)
        )
        with self._writing() as connection:
            connection.execute(statement)

    # -- housekeeping ----------------------------------------------------------------

    def purge(self, before: datetime) -> int:
        """Delete tombstones (and finished operations) older than ``before``; returns rows.

        Keeps every resource's current operation, so last_operation answers until the
        resource itself is purged.
        """
        removed = 0
        with self._writing() as connection:
            gone = list(
                connection.execute(
                    select(instances.c.id)
                    .where(instances.c.status == str(InstanceStatus.DELETED), instances.c.deleted_at < before)
                    .limit(_PURGE_BATCH)
                ).scalars()
            )
            if gone:
                removed += connection.execute(
                    delete(operations).where(operations.c.instance_id.in_(gone))
                ).rowcount
                removed += connection.execute(
                    delete(bindings).where(bindings.c.instance_id.in_(gone))
                ).rowcount
                removed += connection.execute(delete(instances).where(instances.c.id.in_(gone))).rowcount
            dead_bindings = connection.execute(
                select(bindings.c.instance_id, bindings.c.id)
                .where(bindings.c.status == str(BindingStatus.DELETED), bindings.c.deleted_at < before)
                .limit(_PURGE_BATCH)
            ).all()
            for instance_id, binding_id in dead_bindings:
                removed += connection.execute(
                    delete(operations).where(
                        operations.c.instance_id == instance_id, operations.c.binding_id == binding_id
                    )
                ).rowcount
                removed += connection.execute(
                    delete(bindings).where(bindings.c.instance_id == instance_id, bindings.c.id == binding_id)
                ).rowcount
            current = select(instances.c.operation_id).where(instances.c.operation_id.is_not(None))
            current_b = select(bindings.c.operation_id).where(bindings.c.operation_id.is_not(None))
            old_ops = list(
                connection.execute(
                    select(operations.c.id)
                    .where(
                        operations.c.state != _IN_PROGRESS,
                        operations.c.finished_at < before,
                        operations.c.id.not_in(current),
                        operations.c.id.not_in(current_b),
                    )
                    .limit(_PURGE_BATCH)
                ).scalars()
            )
            if old_ops:
                removed += connection.execute(delete(operations).where(operations.c.id.in_(old_ops))).rowcount
        return removed

    def rotate_keys(self, *, max_rounds: int = _ROTATION_ROUNDS) -> RotationReport:
        """Re-encrypt every secret value with the first configured key.

        Values written in clear text (``allow_plaintext``) are encrypted too. Run it after
        putting a new key first in every process's configuration; the broker may keep
        running. Each row is rewritten in its own transaction, only if nobody changed it
        meanwhile (compare-and-set); a row that a writer changed is read again. After each
        pass the whole store is read again, and the rows still not on the first key (those
        that kept losing races, or that a process still configured with the old key first
        wrote meanwhile) get another pass, ``max_rounds`` passes at most. The report says
        how many values remain on an old key (0 when the old key may be dropped).
        """
        # (table, row key, column) -> whether this run rewrote the value (else it was current).
        seen: dict[tuple[str, tuple[Any, ...], str], bool] = {}
        stale: list[tuple[Any, tuple[Any, ...], int]] | None = None  # None: every row
        for round_ in range(1, max_rounds + 1):
            for spec, key_values in self._rows_to_rotate(stale):
                self._rotate_row(spec, key_values, seen)
            stale = self._stale_rows()
            if not stale:
                break
            if round_ < max_rounds:
                # Let the writers that won the races finish before the next pass.
                time.sleep(min(0.05 * round_, 1.0))
        remaining = stale or []
        report = RotationReport(
            rewritten=sum(seen.values()),
            already_current=sum(not rewritten for rewritten in seen.values()),
            remaining_on_old_key=sum(count for _, _, count in remaining),
            remaining=tuple(_row_name(spec[0].name, key_values) for spec, key_values, _ in remaining),
        )
        fields = {
            "rewritten": report.rewritten,
            "already_current": report.already_current,
            "remaining_on_old_key": report.remaining_on_old_key,
        }
        if report.complete:
            log.info("encryption keys rotated", extra=fields)
        else:
            log.warning("encryption keys rotated, but values remain on an old key", extra=fields)
        return report

    def _rows_to_rotate(
        self, stale: list[tuple[Any, tuple[Any, ...], int]] | None
    ) -> Iterator[tuple[Any, tuple[Any, ...]]]:
        """The rows of a pass: the stale ones, or (first pass) every row, table by table."""
        if stale is not None:
            for spec, key_values, _ in stale:
                yield spec, key_values
            return
        for spec in ENCRYPTED_COLUMNS:
            for rows in self._encrypted_batches(spec):
                for row in rows:
                    yield spec, tuple(row[: len(spec[1])])

    def _stale_rows(self) -> list[tuple[Any, tuple[Any, ...], int]]:
        """Every row holding a value not encrypted with the first key, with their count."""
        stale = []
        for spec in ENCRYPTED_COLUMNS:
            width = len(spec[1])
            for rows in self._encrypted_batches(spec):
                for row in rows:
                    values = [value for value in row[width:] if value is not None]
                    old = sum(1 for value in values if not self.cipher.is_current(value))
                    if old:
                        stale.append((spec, tuple(row[:width]), old))
        return stale

    def _encrypted_batches(self, spec: Any) -> Iterator[Sequence[Row[Any]]]:
        """The key and secret columns of every row of one table, in batches by key order."""
        table, key_names, column_names = spec
        keys = [table.c[name] for name in key_names]
        columns = [table.c[name] for name in column_names]
        last: tuple[Any, ...] | None = None
        while True:
            query = select(*keys, *columns).order_by(*keys).limit(_PURGE_BATCH)
            if last is not None:
                query = query.where(_after(keys, last))
            rows = self.read(partial(_all_rows, query))
            if not rows:
                return
            yield rows
            last = tuple(rows[-1][: len(keys)])

    def _rotate_row(
        self, spec: Any, key_values: tuple[Any, ...], seen: dict[tuple[str, tuple[Any, ...], str], bool]
    ) -> bool:
        """Re-encrypt one row's values (compare-and-set); False when every attempt lost a race."""
        table, key_names, column_names = spec
        pairs = zip(key_names, key_values, strict=True)
        key_clause = and_(*(table.c[name] == value for name, value in pairs))
        where = _row_name(table.name, key_values)
        read = select(*(table.c[name] for name in column_names)).where(key_clause)

        def attempt(tx: Transaction) -> dict[str, bool] | None:
            row = tx.connection.execute(read).first()
            if row is None:
                return {}  # deleted meanwhile: nothing left to rotate
            stored = {name: value for name, value in zip(column_names, row, strict=True) if value is not None}
            changes = {}
            for name, value in stored.items():
                new = self.cipher.reseal(value, f"{table.name}.{name} of {where}")
                if new is not None:
                    changes[name] = new
            if changes:
                # Compare-and-set: when a writer changed the row meanwhile, read it again.
                unchanged = and_(*(table.c[name] == stored[name] for name in changes))
                written = tx.connection.execute(update(table).where(key_clause, unchanged).values(changes))
                if written.rowcount != 1:
                    return None
            return {name: name in changes for name in stored}

        for _attempt in range(_TRANSACTION_ATTEMPTS):
            outcome = self.transact(attempt)
            if outcome is not None:
                for name, rewritten in outcome.items():
                    cell = (table.name, key_values, name)
                    seen[cell] = seen.get(cell, False) or rewritten
                return True
        return False


def _due(now: datetime) -> Any:
    """Operations in progress, due, and not leased (or with an expired lease)."""
    return and_(
        operations.c.state == _IN_PROGRESS,
        operations.c.next_run_at <= now,
        or_(operations.c.lease_owner.is_(None), operations.c.lease_expires_at <= now),
    )


def _all_rows(query: Select[Any], reader: Reader) -> Sequence[Row[Any]]:
    return reader.connection.execute(query).all()


def _row_name(table: str, key_values: tuple[Any, ...]) -> str:
    """How errors and reports name a row: its table and primary key (never a value)."""
    return f"{table} row {'/'.join(repr(value) for value in key_values)}"


def _after(keys: list[Any], last: tuple[Any, ...]) -> Any:
    """Keyset pagination: rows whose key sorts after ``last``."""
    if len(keys) == 1:
        return keys[0] > last[0]
    first, second = keys
    return or_(first > last[0], and_(first == last[0], second > last[1]))
