"""What the RDS and R-kvstore products handle alike: dispatch, settling, instance lookup, tags.

Each product keeps its own wire names (the instance id parameter, the ready status, the
not-found error, the tag resource type) as class attributes; the logic lives here once.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, ClassVar, Generic, TypeVar

from .config import EmulatorConfig
from .errors import ApiError, incorrect_state
from .params import Params
from .state import CloudState, KvInstance, RdsInstance, settle_transition
from .tags import list_tag_resources, tag_resources, untag_resources

InstanceT = TypeVar("InstanceT", RdsInstance, KvInstance)
Handler = Callable[[Params, float], dict[str, Any]]

# The zones DescribeRegions lists for the emulator's region (any zone id is accepted).
_ZONE_LETTERS = "abcdefghijk"


class ProductActions(Generic[InstanceT]):
    """One product's actions over its table of instances; ``handle`` dispatches one action.

    A subclass sets the class attributes and fills ``self._actions`` in its ``__init__``.
    """

    product: ClassVar[str]
    id_parameter: ClassVar[str]  # the request parameter naming the instance
    ready_status: ClassVar[str]  # the status in which the instance accepts changes
    tag_resource_type: ClassVar[str]

    def __init__(
        self,
        state: CloudState,
        instances: dict[str, InstanceT],
        config: EmulatorConfig,
        clock: Callable[[], float],
        not_found: Callable[[str], ApiError],
    ) -> None:
        self._state = state
        self._instances: dict[str, InstanceT] = instances
        self._config = config
        self._clock = clock
        self._not_found = not_found
        self._actions: dict[str, Handler] = {}

    @property
    def actions(self) -> frozenset[str]:
        return frozenset(self._actions)

    def handle(self, action: str, params: Params) -> dict[str, Any]:
        handler = self._actions.get(action)
        if handler is None:
            raise ApiError(
                "InvalidAction.NotFound", "Specified api is not found, please check your url and method.", 404
            )
        return handler(params, self._clock())

    def settle(self, now: float) -> bool:
        """Apply due transitions; returns whether anything changed."""
        changed = False
        for instance_id, instance in list(self._instances.items()):
            result = settle_transition(instance, now)
            if result is None:
                del self._instances[instance_id]
                # Logged under the product module's name, as its other messages are.
                logging.getLogger(type(self).__module__).info("%s %s deleted", self.product, instance_id)
            changed = changed or result is not False
        return changed

    def region_zones(self) -> tuple[str, list[str]]:
        """The emulator's region and the zones it lists, for ``DescribeRegions``."""
        region = self._config.region_id
        return region, [f"{region}-{letter}" for letter in _ZONE_LETTERS]

    def _instance(self, params: Params) -> InstanceT:
        instance_id = params.required(self.id_parameter)
        instance = self._instances.get(instance_id)
        region = params.optional("RegionId")
        if instance is None or (region is not None and region != instance.region_id):
            raise self._not_found(instance_id)
        return instance

    def _ready(self, params: Params) -> InstanceT:
        """The instance, if it is in the status that accepts changes."""
        instance = self._instance(params)
        if instance.status != self.ready_status:
            raise incorrect_state(instance.status)
        return instance

    # -- tags -------------------------------------------------------------------------------

    def tag_resources(self, p: Params, now: float) -> dict[str, Any]:
        tag_resources(p, self._instances, self._not_found)
        return {}

    def untag_resources(self, p: Params, now: float) -> dict[str, Any]:
        untag_resources(p, self._instances, self._not_found)
        return {}

    def list_tag_resources(self, p: Params, now: float) -> dict[str, Any]:
        return list_tag_resources(p, self._instances, self.tag_resource_type)
