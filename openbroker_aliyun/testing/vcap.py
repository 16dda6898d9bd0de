"""``VCAP_SERVICES`` as Cloud Foundry builds it for an app, from a catalog and bindings.

Follows the Cloud Controller's presenters (``system_env_presenter.rb``,
``service_binding_presenter.rb``; platforms.md §1.6): a JSON object keyed by the
service offering's ``label`` (its name), each value a list of entries with ``label``,
``provider`` (null for OSB v2 brokers), ``plan`` (the plan's name), ``name`` (binding
name, else instance name), ``tags`` (offering tags then the user's instance tags,
without duplicates), ``instance_guid``, ``instance_name``, ``binding_guid``,
``binding_name``, ``credentials`` (verbatim), ``syslog_drain_url`` and ``volume_mounts``
(without the private ``device``). Use it to check that an app library (cfenv,
java-cfenv) finds what the broker returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping


@dataclass(frozen=True)
class VcapBinding:
    """One app binding: the ids the platform chose and the broker's binding body.

    ``binding`` is the JSON of the bind answer (sync) or of GET binding (async):
    ``FlowResult.body`` of ``OSBClient.bind_and_wait``.
    """

    service_id: str
    plan_id: str
    instance_id: str
    instance_name: str
    binding_id: str
    binding: Mapping[str, Any]
    binding_name: str | None = None
    instance_tags: tuple[str, ...] = ()


def vcap_services_entry(catalog: Mapping[str, Any], bound: VcapBinding) -> dict[str, Any]:
    """The entry CC shows for one binding; ``catalog`` is the ``/v2/catalog`` JSON."""
    service = _find(catalog.get("services"), bound.service_id, "service")
    plan = _find(service.get("plans"), bound.plan_id, "plan")
    tags = list(dict.fromkeys([*(service.get("tags") or ()), *bound.instance_tags]))
    mounts = [
        {key: mount[key] for key in ("container_dir", "mode", "device_type") if key in mount}
        for mount in bound.binding.get("volume_mounts") or ()
        if isinstance(mount, Mapping)
    ]
    return {
        "label": service["name"],
        "provider": None,
        "plan": plan["name"],
        "name": bound.binding_name or bound.instance_name,
        "tags": tags,
        "instance_guid": bound.instance_id,
        "instance_name": bound.instance_name,
        "binding_guid": bound.binding_id,
        "binding_name": bound.binding_name,
        "credentials": dict(bound.binding.get("credentials") or {}),
        "syslog_drain_url": bound.binding.get("syslog_drain_url"),
        "volume_mounts": mounts,
    }


def build_vcap_services(
    catalog: Mapping[str, Any], bindings: Iterable[VcapBinding]
) -> dict[str, list[dict[str, Any]]]:
    """The whole ``VCAP_SERVICES`` object for an app with these bindings (``json.dumps`` it)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for bound in bindings:
        entry = vcap_services_entry(catalog, bound)
        out.setdefault(entry["label"], []).append(entry)
    return out


def _find(items: Any, wanted: str, what: str) -> Mapping[str, Any]:
    for item in items or ():
        if isinstance(item, Mapping) and item.get("id") == wanted:
            return item
    raise KeyError(f"{what} {wanted} is not in the catalog")
