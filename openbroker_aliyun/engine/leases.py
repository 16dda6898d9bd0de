"""Keeping the leases of operations this process is stepping.

A lease lasts ``lease_seconds``; a step may take longer (a slow cloud call), so a small
thread extends every lease the process holds each third of that time. When the process
dies the renewals stop and the leases run out, which is how another process knows it
may take the operations over.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from datetime import UTC, datetime, timedelta

from openbroker_aliyun.engine.logfields import fields, log, safe_error
from openbroker_aliyun.store import Store


def utcnow() -> datetime:
    """The current time, aware, in UTC (the store's clock)."""
    return datetime.now(UTC)


class LeaseKeeper:
    """The leases this process holds, their owner name, and the thread renewing them."""

    def __init__(self, store: Store, lease_seconds: float) -> None:
        self._store = store
        self.lease_seconds = lease_seconds
        self._held: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._owner = ""
        self._owner_pid = -1

    @property
    def owner(self) -> str:
        """This process's lease owner name (a new one after a fork)."""
        pid = os.getpid()
        if pid != self._owner_pid:
            self._owner = f"{socket.gethostname()[:64]}:{pid}:{uuid.uuid4().hex[:12]}"
            self._owner_pid = pid
            self._thread = None  # threads do not survive a fork
            with self._lock:
                self._held.clear()
        return self._owner

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
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _run(self, owner: str) -> None:
        interval = self.lease_seconds / 3
        while not self._stop.wait(interval):
            with self._lock:
                held = list(self._held)
            if not held:
                continue
            try:
                self._store.renew(owner, held, self.until(utcnow()))
            except Exception as error:  # the database may be down for a while
                log.warning("could not renew operation leases", extra=fields(**safe_error(error)))
