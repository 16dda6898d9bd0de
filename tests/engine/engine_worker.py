"""A broker process for the multi-process engine tests (run as a script).

It opens the shared store, runs the engine's background driver with a ``RecordingBroker``
that records its steps in the ``test_effects`` table, and:

* with ``--ids``: provisions those instances from one thread each, all at once, waits
  (bounded) until every operation has finished, prints a JSON report and exits;
* without: drives operations until ``--run-for`` seconds have passed (or it is killed).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine_testkit import RecordingBroker, last_op, provision_request

from openbroker_aliyun.domain import OperationKind, OperationState
from openbroker_aliyun.engine import DriverSettings, Engine
from openbroker_aliyun.store import Store


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--state", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--effects", required=True)
    parser.add_argument("--steps", type=int, default=1)
    parser.add_argument("--sleep", type=float, default=0.0)
    parser.add_argument("--lease", type=float, default=1.0)
    parser.add_argument("--ids", default="")
    parser.add_argument("--run-for", type=float, default=60.0)
    args = parser.parse_args()

    broker = RecordingBroker(
        async_kinds=frozenset(OperationKind),
        steps={OperationKind.PROVISION: args.steps},
        step_sleep=args.sleep,
        effects_url=args.effects,
    )
    store = Store.open(args.state, encryption_keys=[args.key], pool_size=5, max_overflow=10)
    settings = DriverSettings(
        poll_interval=0.02, batch_size=20, lease_seconds=args.lease, backoff_base=0.01, backoff_cap=0.05
    )
    engine = Engine(broker, store, settings=settings)
    engine.start()
    print("ready", flush=True)
    try:
        if args.ids:
            return provision_all(engine, args.ids.split(","), args.run_for)
        time.sleep(args.run_for)
        return 0
    finally:
        engine.close()


def provision_all(engine: Engine, ids: list[str], run_for: float) -> int:
    answers: dict[str, list[object]] = {}
    errors: list[str] = []
    barrier = threading.Barrier(len(ids))

    def put(instance_id: str) -> None:
        barrier.wait(30)
        try:
            answer = engine.provision(provision_request(instance_id))
            answers[instance_id] = [answer.status, answer.operation]
        except Exception as error:
            errors.append(f"{type(error).__name__}: {error}")

    started = time.monotonic()
    threads = [threading.Thread(target=put, args=(instance_id,)) for instance_id in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(run_for)
    answered = time.monotonic()
    deadline = answered + run_for
    states: dict[str, str] = {}
    pending = list(ids)
    while pending and time.monotonic() < deadline:
        for iid in pending:
            states[iid] = str(engine.last_operation(last_op(iid)).state)
        pending = [iid for iid in pending if states[iid] == OperationState.IN_PROGRESS]
        time.sleep(0.1)
    timings = {"answer": round(answered - started, 2), "settle": round(time.monotonic() - answered, 2)}
    print(
        json.dumps({"answers": answers, "errors": errors, "states": states, "timings": timings}), flush=True
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
