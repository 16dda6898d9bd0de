"""API economy: many instances in flight share DescribeInstances calls of 30 ids, at most one
describe per instance per refresh interval, however many steps run."""

from __future__ import annotations

import uuid
from typing import Any

from aliyun_brokers.redis.broker import RedisBroker
from redis_harness import REDIS, emulator, fast_transport, redis_settings

from openbroker_aliyun.broker import InProgress
from openbroker_aliyun.domain import InstanceOperation, InstanceRecord, OperationKind


class Clock:
    """Monotonic seconds the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_31_instances_cost_two_describe_calls_per_interval(tmp_path: Any) -> None:
    with emulator(create_seconds=3600.0) as cloud:
        settings = redis_settings(cloud.url, tmp_path, refresh_seconds=5.0)
        transport = fast_transport(settings)
        clock = Clock()
        broker = RedisBroker(settings, transport, clock=clock)
        plan = REDIS.plans[0]
        ops = []
        for _ in range(31):
            instance_id = transport.call(
                "r-kvstore",
                "CreateInstance",
                {
                    "RegionId": "cn-hangzhou",
                    "InstanceClass": "redis.master.micro.default",
                    "EngineVersion": "7.0",
                },
            )["InstanceId"]
            details = {"step": "wait", "provision_op": "op", "instance_id": instance_id, "created_at": 2e9}
            record = InstanceRecord(
                id=str(uuid.uuid4()), service_id=REDIS.id, plan_id=plan.id, details=details
            )
            ops.append(
                InstanceOperation(id="op", kind=OperationKind.PROVISION, instance=record, plan_id=plan.id)
            )
        cloud.reset_calls()

        broker.prefetch(ops)
        assert cloud.count("DescribeInstances") == 2  # 30 ids, then 1
        for op in ops:
            result = broker.provision(op)  # still Creating: answered from the cache
            assert isinstance(result, InProgress) and "Creating" in result.description
        broker.prefetch(ops)
        assert cloud.count("DescribeInstances") == 2  # nothing is stale yet

        clock.now += 5.0
        for op in ops:  # steps without a prefetch: the first refreshes every stale one
            broker.provision(op)
        assert cloud.count("DescribeInstances") == 4
        assert cloud.count() == cloud.count("DescribeInstances")  # no other call while waiting
