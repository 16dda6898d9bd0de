"""The background driver: a thread in each process that steps due async operations.

A round: find due operations (in progress, ``next_run_at`` passed, lease free or run
out), claim each with one conditional UPDATE (so two processes never hold the same
operation), skip those whose instance another operation is still being stepped on (a
deprovision waits for the superseded provision's step to finish), hand the batch to
``broker.prefetch``, then step each and record its outcome, releasing its lease.
Operations are driven whether or not a platform polls last_operation.

While the state store is unreachable a round fails at once; the driver then waits longer
after each such round (``DriverSettings.store_retry``) and logs nothing of its own (the
store logs the outage once), until the store answers a call of any thread in the
process, which wakes it.
"""

from __future__ import annotations

import random
import threading
import time
from datetime import timedelta

from openbroker_aliyun.engine.leases import utcnow
from openbroker_aliyun.engine.logfields import fields, log, safe_error
from openbroker_aliyun.engine.parts import EngineParts
from openbroker_aliyun.engine.stepping import StepContext, Stepper, load_in
from openbroker_aliyun.store import Reader, StoreUnavailable, Transaction


class Driver:
    def __init__(self, parts: EngineParts, stepper: Stepper) -> None:
        self._parts = parts
        self._stepper = stepper
        self._settings = parts.settings
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_purge = 0.0
        self._listening = False

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the driver thread (once)."""
        if self.running:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._loop, name="openbroker-driver", daemon=True)
        if not self._listening:
            self._parts.store.outage.when_reachable(self.wake)
            self._listening = True
        self._thread.start()
        log.info("operation driver started", extra=fields(owner=self._parts.leases.owner))

    def wake(self) -> None:
        """Look for due operations now instead of at the next poll."""
        self._wake.set()

    def stop(self, timeout: float) -> bool:
        """Stop after the step in flight; True when the thread ended within ``timeout``."""
        self._stopping.set()
        self._wake.set()
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        stopped = not thread.is_alive()
        log.info("operation driver stopped" if stopped else "operation driver still stepping at stop timeout")
        return stopped

    def _loop(self) -> None:
        settings = self._settings
        unreachable = 0  # rounds in a row that found the state store unreachable
        while not self._stopping.is_set():
            self._wake.clear()
            stepped = 0
            try:
                stepped = self.run_once()
                self._purge_if_due()
                unreachable = 0
            except StoreUnavailable:  # logged once per outage by the store
                unreachable += 1
            except Exception as error:  # a failure of its own; try again next round
                unreachable = 0
                log.warning("operation driver round failed", extra=fields(**safe_error(error)))
            if unreachable:
                self._wake.wait(settings.store_retry(unreachable))
            elif stepped < settings.batch_size:
                self._wake.wait(settings.poll_interval)

    def run_once(self) -> int:
        """One round: claim, prefetch and step the due operations; returns how many stepped."""
        parts = self._parts
        leases = parts.leases
        owner = leases.owner
        if self._stopping.is_set():
            return 0
        now = utcnow()
        claimed: list[StepContext] = []
        taken = parts.store.claim_due(owner, now, leases.until(now), self._settings.batch_size)
        try:
            for operation_id in taken:
                leases.hold(operation_id)
                context = self._load(operation_id, owner)
                if context is not None:
                    claimed.append(context)
        except BaseException:
            # The store went away while loading: keep none of these leases alive (they run
            # out, and the operations are claimed again).
            for operation_id in taken:
                leases.drop(operation_id)
            raise
        if not claimed:
            return 0
        try:
            parts.broker.prefetch([context.domain for context in claimed])
        except Exception as error:  # prefetching is an optimisation; the steps still run
            log.warning("broker prefetch failed", extra=fields(**safe_error(error)))
        stepped = 0
        for index, claimed_context in enumerate(claimed):
            operation_id = claimed_context.op.id
            try:
                if self._stopping.is_set():
                    parts.store.release(operation_id, owner)
                    continue
                context = self._still_ours(operation_id, owner)
                if context is None:
                    continue
                outcome = self._stepper.call(context)
                self._stepper.apply_or_fail(context, outcome, owner)
                stepped += 1
            except StoreUnavailable:
                # The rest of the batch would run steps whose outcome could not be
                # recorded either: their leases run out, and they are stepped again then.
                for rest in claimed[index + 1 :]:
                    leases.drop(rest.op.id)
                raise
            except Exception as error:
                # Recording failed otherwise (the store refused it): the lease runs out
                # and the step is taken again later; the rest of the batch goes on.
                log.warning(
                    "could not record an operation step",
                    extra=fields(operation=operation_id, **safe_error(error)),
                )
            finally:
                leases.drop(operation_id)
        return stepped

    def _load(self, operation_id: str, owner: str) -> StepContext | None:
        """The claimed operation, or None (lease given back) when it must wait or is gone."""

        def read(reader: Reader) -> tuple[StepContext | None, bool]:
            context = load_in(reader, operation_id)
            if context is None:
                return None, False
            op = context.op
            return context, reader.leased_elsewhere(op.instance_id, op.binding_id, op.id, utcnow())

        try:
            context, busy = self._parts.store.read(read)
        except StoreUnavailable:
            raise
        except Exception as error:  # e.g. a row no configured key decrypts
            log.error(
                "cannot load a claimed operation; retrying later",
                extra=fields(operation=operation_id, **safe_error(error)),
            )
            self._give_back(operation_id, owner, self._settings.backoff_cap)
            return None
        if context is None:
            self._parts.store.release(operation_id, owner)
            self._parts.leases.drop(operation_id)
            return None
        if busy:
            # Another step on this resource is in flight (e.g. the provision a delete
            # superseded): wait for it, so nothing it does lands after this one looks.
            op = context.op
            log.debug(
                "operation waits for another step on its instance",
                extra=fields(instance_id=op.instance_id, binding_id=op.binding_id, operation=op.id),
            )
            self._give_back(operation_id, owner, self._settings.poll_interval)
            return None
        return context

    def _still_ours(self, operation_id: str, owner: str) -> StepContext | None:
        """Right before its step: confirm (and extend) the lease, and read the operation again.

        The batch's later operations waited for the earlier steps; had this process
        stalled past the lease meanwhile, another may have taken the operation over.
        """
        until = self._parts.leases.until(utcnow())

        def read(tx: Transaction) -> tuple[bool, StepContext | None]:
            if not tx.renew_lease(operation_id, owner, until):
                return False, None
            return True, load_in(tx, operation_id)

        held, context = self._parts.store.transact(read)
        if not held:
            log.warning("operation lease lost before its step; skipped", extra=fields(operation=operation_id))
            return None
        if context is None or not context.op.in_progress:
            self._parts.store.release(operation_id, owner)
            return None
        return context

    def _give_back(self, operation_id: str, owner: str, delay: float) -> None:
        # Jitter: two operations waiting for each other must not retry in lockstep.
        later = utcnow() + timedelta(seconds=delay * random.uniform(0.5, 1.0))  # noqa: S311
        self._parts.store.release(operation_id, owner, next_run_at=later)
        self._parts.leases.drop(operation_id)

    def _purge_if_due(self) -> None:
        if time.monotonic() < self._next_purge:
            return
        self._next_purge = time.monotonic() + self._settings.purge_interval
        before = utcnow() - timedelta(seconds=self._settings.tombstone_retention)
        removed = self._parts.store.purge(before)
        if removed:
            log.info("purged old tombstones and operations", extra=fields(rows=removed))
