"""What every step of an Alibaba broker needs: ``CloudRuntime``.

The settings, the product's API calls, the describe cache, the typed plans and the
``CloudKind`` of its instances, with the small helpers every step module uses (waiting
for the next describe, an instance's metadata, ending an operation). A product's runtime
subclasses it to add facts of its own (RDS: the engine profile and SQL logins).
"""

from __future__ import annotations

import time
from dataclasses import InitVar, dataclass, field
from typing import Any, Callable, Generic, Mapping, TypeVar

from aliyun_brokers.common.cloud_api import CloudApi
from aliyun_brokers.common.cloud_kind import CloudKind
from aliyun_brokers.common.describe_cache import DescribeCache, Described
from aliyun_brokers.common.progress import CloudProgress
from aliyun_brokers.common.settings import CloudBrokerSettings
from openbroker_aliyun.broker import Done, InProgress, InstanceStepResult
from openbroker_aliyun.domain import InstanceMetadata

__all__ = ["CloudRuntime"]

SettingsT = TypeVar("SettingsT", bound=CloudBrokerSettings)
# Covariant: a step written for any product's runtime takes every product's runtime.
ApiT = TypeVar("ApiT", bound=CloudApi[Any], covariant=True)
PlanT = TypeVar("PlanT")
#: The product's describe item (what ``ApiT.describe_instances`` returns).
ItemT = TypeVar("ItemT")

# Wake this long after an epoch ends, so the clock has surely passed it.
_AFTER_EPOCH = 0.01


@dataclass
class CloudRuntime(Generic[SettingsT, ApiT, PlanT, ItemT]):
    """Shared by a broker's step modules (one per broker object).

    ``clock`` (monotonic seconds) drives the describe cache over ``api``; tests replace it.
    """

    settings: SettingsT
    api: ApiT
    plans: Mapping[str, PlanT]
    clock: InitVar[Callable[[], float]] = time.monotonic
    cache: DescribeCache[ItemT] = field(init=False)
    kind: CloudKind = field(init=False)

    def __post_init__(self, clock: Callable[[], float]) -> None:
        self.cache = DescribeCache(
            self.api.describe_instances,
            refresh_seconds=self.settings.refresh_seconds,
            batch_size=self.api.describe_batch,
            clock=clock,
        )
        self.kind = self.api.kind()

    def plan(self, plan_id: str) -> PlanT:
        return self.plans[plan_id]

    def describe(self, instance_id: str) -> Described[ItemT]:
        return self.cache.get(instance_id)

    def wait(self, description: str) -> InProgress:
        """Come back just after the describe cache's epoch ends (when it has news).

        Every waiting step of the process wakes at the same moment, so one batched
        describe serves all of them.
        """
        return InProgress(description=description, retry_after=self.cache.next_refresh_in() + _AFTER_EPOCH)

    def metadata(self, progress: CloudProgress) -> InstanceMetadata:
        """What GET instance shows operators: where the instance is in Alibaba Cloud."""
        return InstanceMetadata(
            attributes={
                "alibaba_cloud_instance_id": progress.cloud_id,
                "region_id": self.settings.region_id,
            }
        )

    def finish(self, progress: CloudProgress, description: str) -> InstanceStepResult:
        """End a provision or update: stop watching the instance, and say where it is."""
        self.cache.forget(progress.cloud_id)
        return Done(description=description, metadata=self.metadata(progress))

    def ready(self, progress: CloudProgress) -> InstanceStepResult:
        """End a provision: the instance is ready."""
        return self.finish(progress, f"The {self.kind.noun} {progress.cloud_id} is ready.")

    @staticmethod
    def now() -> float:
        """Wall-clock seconds: stored in details, so it must survive a restart (not monotonic)."""
        return time.time()
