"""Updating an Alibaba instance: what every broker's update step shares.

An update records its targets in ``details["update"]`` (those of one operation: a new
operation starts over) and runs the product's stages from there (``run_update``). The
targets of the network parameters are taken the same way for every product
(``network_targets``), and so is the whitelist change (``update_whitelist``, the ``ips``
stage). A failed update leaves the instance usable and the update repeatable.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, TypeVar

from aliyun_brokers.common.cloud_api import CloudApi
from aliyun_brokers.common.runtime import CloudRuntime
from aliyun_brokers.common.stages import Stage, run_stages
from openbroker_aliyun.broker import InstanceStepResult
from openbroker_aliyun.domain import InstanceOperation

__all__ = ["network_targets", "run_update", "update_whitelist"]

RuntimeT = TypeVar("RuntimeT", bound=CloudRuntime[Any, Any, Any])


def run_update(
    rt: RuntimeT,
    op: InstanceOperation,
    *,
    targets: Callable[[], dict[str, Any]],
    stages: Mapping[str, Stage[RuntimeT, InstanceOperation, InstanceStepResult]],
    doing: Mapping[str, str],
    first: str,
) -> InstanceStepResult:
    """One update step: record ``targets()`` once per operation, then run ``stages`` from ``first``.

    ``targets()`` may name another first stage as ``step`` (e.g. none of the plan changes).
    """
    details = op.instance.details
    state = details.setdefault("update", {})
    if state.get("op") != op.id:
        state.clear()
        state.update({"op": op.id, "step": first, **targets()})

    def finish() -> InstanceStepResult:
        details.pop("update", None)
        return rt.finish(details, f"The {rt.kind.noun} was updated.")

    return run_stages(
        rt, op, state, stages, doing, finish, first=first, instance_usable=True, update_repeatable=True
    )


def network_targets(rt: CloudRuntime[Any, Any, Any], parameters: Mapping[str, Any]) -> dict[str, Any]:
    """The whitelist (the operator's plus the user's) and TLS targets of the parameters given."""
    targets: dict[str, Any] = {}
    if "security_ips" in parameters:
        targets["security_ips"] = rt.settings.whitelist(parameters["security_ips"])
    if "tls" in parameters:
        targets["tls"] = bool(parameters["tls"])
    return targets


def update_whitelist(
    rt: CloudRuntime[Any, CloudApi, Any], op: InstanceOperation, state: dict[str, Any]
) -> str | InstanceStepResult:
    """The ``ips`` stage: ModifySecurityIps (mode Cover) when the update changes the whitelist."""
    if "security_ips" in state:
        details = op.instance.details
        rt.api.modify_security_ips(rt.instance_id(details), state["security_ips"])
        details["security_ips"] = state["security_ips"]
    return "tls"
