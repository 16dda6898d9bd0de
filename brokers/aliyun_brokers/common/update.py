"""Updating an Alibaba instance: what every broker's update stages share.

An update records its targets in ``details["update"]`` (an ``UpdateProgress``, for one
operation: a new operation starts over; ``CloudBroker.update`` runs it). The targets of
the network parameters are taken the same way for every product (``network_targets``),
and so is the whitelist change (``update_whitelist``, the ``ips`` stage). A failed update
leaves the instance usable and the update repeatable.
"""

from __future__ import annotations

from typing import Any, Mapping, TypeVar

from aliyun_brokers.common.progress import CloudProgress, UpdateProgress, Updating
from aliyun_brokers.common.runtime import CloudRuntime
from openbroker_aliyun.broker import InstanceStepResult
from openbroker_aliyun.domain import InstanceOperation

__all__ = ["network_targets", "update_whitelist"]

InstanceT = TypeVar("InstanceT", bound=CloudProgress)
UpdateT = TypeVar("UpdateT", bound=UpdateProgress)


def network_targets(rt: CloudRuntime[Any, Any, Any, Any], parameters: Mapping[str, Any]) -> dict[str, Any]:
    """The ``security_ips`` (the operator's plus the user's) and ``tls`` targets of the
    parameters given, as keyword arguments of an ``UpdateProgress``."""
    targets: dict[str, Any] = {}
    if "security_ips" in parameters:
        targets["security_ips"] = rt.settings.whitelist(parameters["security_ips"])
    if "tls" in parameters:
        targets["tls"] = bool(parameters["tls"])
    return targets


def update_whitelist(
    rt: CloudRuntime[Any, Any, Any, Any], op: InstanceOperation, state: Updating[InstanceT, UpdateT]
) -> str | InstanceStepResult:
    """The ``ips`` stage: ModifySecurityIps (mode Cover) when the update changes the whitelist."""
    ips = state.update.security_ips
    if ips is not None:
        rt.api.modify_security_ips(state.instance.cloud_id, ips)
        state.instance.security_ips = ips
    return "tls"
