"""Keeping the leases of operations this process is stepping.

A lease lasts ``lease_seconds``; a step may take longer (a slow cloud call), so a small
thread extends every lease the process holds each third of that time. When the process
dies the renewals stop and the leases run out, which is how another process knows it
may take the operations over.

While the state store is unreachable a renewal fails; the thread tries again sooner
than its usual interval at first (``STORE_RETRY_FIRST``, doubling, never later than the
interval) without a log line of its own (the store logs the outage once), and at once
when the store answers a call of any thread in the process.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from datetime import UTC, datetime, timedelta

from openbroker_aliyun.engine.logfields import fields, log, safe_error
from openbroker_aliyun.engine.settings import STORE_RETRY_FIRST, jittered_backoff
from openbroker_aliyun.forking import on_fork_in_child
from openbroker_aliyun.store import Store, StoreUnavailable


def utcnow() -> datetime:
    """The current time, aware, in UTC (the store's clock)."""
    return datetime.now(UTC)


class LeaseKeeper:
    """The leases this process holds, their owner name, and the thread renewing them."""

    def __init__(self, store: Store, lease_seconds: float) -> None:
        self._store = store
        self.lease_seconds = lease_seconds
        self._start_afresh()
        store.outage.when_reachable(self._renew_now)
        # A forked child (a gunicorn worker) is another lease owner. The reset runs in the
        # child before it has a second thread: a check of the pid on each use instead let
        # two threads of a new worker make two different owner names, and a synchronous
        # step recorded under one could not be applied under the other.
        on_fork_in_child(self, LeaseKeeper._start_afresh)

    def _start_afresh(self) -> None:
        #: This process's lease owner name (a new one after a fork).
        self.owner = f"{socket.gethostname()[:64]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self._held: set[str] = set()
        self._lock = threading.Lock()  # a lock inherited from the parent may be held
        self._stop = threading.Event()
        # Set to end the thread's wait early: on stop, and when the store is back.
        self._nudge = threading.Event()
        self._thread: threading.Thread | None = None  # threads do not survive a fork

    def until(self, now: datetime) -> datetime:
        """When a lease taken now runs out."""
        return now + timedelta(seconds=self.lease_seconds)

    def hold(self, operation_id: str) -> None:
        """Keep renewing this operation's lease until ``drop``."""
        owner = self.owner
        with self._lock:
            self._held.add(operation_id)
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._nudge.clear()
                self._thread = threading.Thread(
                    target=self._run, args=(owner,), name="openbroker-leases", daemon=True
                )
                self._thread.start()

    def drop(self, operation_id: str) -> None:
        """Stop renewing (the lease was released or lost)."""
        with self._lock:
            self._held.discard(operation_id)

    def stop(self, timeout: float) -> None:
        """Stop the renewal thread (leases still held then simply run out)."""
        self._stop.set()
        self._nudge.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _renew_now(self) -> None:
        self._nudge.set()

    def _run(self, owner: str) -> None:
        interval = self.lease_seconds / 3
        wait = interval
        unreachable = 0  # renewals in a row that found the state store unreachable
        while True:
            self._nudge.wait(wait)
            self._nudge.clear()
            if self._stop.is_set():
                return
            wait = interval
            with self._lock:
                held = list(self._held)
            if not held:
                continue
            try:
                self._store.renew(owner, held, self.until(utcnow()))
                unreachable = 0
            except StoreUnavailable:  # logged once per outage by the store
                unreachable += 1
                wait = jittered_backoff(unreachable, STORE_RETRY_FIRST, interval)
            except Exception as error:
                log.warning("could not renew operation leases", extra=fields(**safe_error(error)))
