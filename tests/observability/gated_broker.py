"""A real broker plug-in for the observability tests, whose steps can wait at a gate.

Two plans: ``sync`` (the step runs inline, during the request) and ``async`` (202, then
stepped by the engine's driver). Every step call appends a line ``<pid> <step> <id>
<event>`` to ``steps.log`` in the gate folder, so tests (and other processes) see which
process ran which step and when it was waiting. A step of a resource whose id starts with
``slow-`` waits until the file ``open`` exists in the gate folder (bounded: 30 s).

An async provision answers ``InProgress`` on its first call (inline); later calls answer
``Done`` when ``mode`` is ``finish`` and ``InProgress`` when it is ``hold``, so a test
chooses which process finishes an operation.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from openbroker_aliyun.broker import Done, InProgress, ServiceBroker
from openbroker_aliyun.catalog.model import Catalog, Plan, Service
from openbroker_aliyun.domain import InstanceOperation, OperationKind

SERVICE_ID = "0b7c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3"
SYNC_PLAN = "1c8d2e3f-4051-4b6c-9d7e-8f90a1b2c3d4"
ASYNC_PLAN = "2d9e3f40-5162-4c7d-8e8f-90a1b2c3d4e5"

GATE_WAIT_LIMIT = 30.0

CATALOG = Catalog(
    services=(
        Service(
            id=SERVICE_ID,
            name="gated",
            description="A service whose steps can wait at a gate",
            bindable=False,
            instances_retrievable=True,
            plans=(
                Plan(id=SYNC_PLAN, name="sync", description="Steps run during the request"),
                Plan(id=ASYNC_PLAN, name="async", description="Steps run in the background"),
            ),
        ),
    )
)


class GatedBroker(ServiceBroker):
    """Provision and deprovision that record every call and may wait at the gate."""

    catalog = CATALOG

    def __init__(self, folder: str | Path, mode: str = "finish") -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.mode = mode
        self._lock = threading.Lock()

    def is_async(self, kind: OperationKind, plan: Plan, accepts_incomplete: bool) -> bool:
        return plan.id == ASYNC_PLAN

    # -- the gate and the log ------------------------------------------------------------

    @property
    def steps_log(self) -> Path:
        return self.folder / "steps.log"

    def open_gate(self) -> None:
        (self.folder / "open").touch()

    def _note(self, step: str, resource_id: str, event: str) -> None:
        with self._lock, self.steps_log.open("a", encoding="utf-8") as out:
            out.write(f"{os.getpid()} {step} {resource_id} {event}\n")

    def _wait_at_gate(self, step: str, resource_id: str) -> None:
        if not resource_id.startswith("slow-"):
            return
        self._note(step, resource_id, "waiting")
        deadline = time.monotonic() + GATE_WAIT_LIMIT
        while not (self.folder / "open").exists():
            if time.monotonic() > deadline:
                raise TimeoutError("the test never opened the gate")
            time.sleep(0.02)
        self._note(step, resource_id, "passed")

    # -- steps ---------------------------------------------------------------------------

    def provision(self, op: InstanceOperation) -> InProgress | Done:
        iid = op.instance.id
        self._note("provision", iid, f"call-{op.attempt}")
        if op.plan_id == SYNC_PLAN:
            self._wait_at_gate("provision", iid)
            return Done()
        # The first call of an async provision is the inline one, in the request.
        if op.attempt > 1:
            self._wait_at_gate("provision", iid)
            if self.mode == "finish":
                self._note("provision", iid, "done")
                return Done()
        return InProgress("creating", retry_after=0.05)

    def deprovision(self, op: InstanceOperation) -> InProgress | Done:
        self._note("deprovision", op.instance.id, "call")
        return Done()


def step_lines(folder: str | Path) -> list[tuple[int, str, str, str]]:
    """The lines of ``steps.log``: (pid, step, resource id, event)."""
    path = Path(folder) / "steps.log"
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        pid, step, resource_id, event = line.split(" ", 3)
        out.append((int(pid), step, resource_id, event))
    return out
