"""What a bind step returned, as stored (JSON, encrypted) and as answered (``BindingView``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from openbroker_aliyun.broker import Bound
from openbroker_aliyun.domain import BindingView, Endpoint, JSONDict


def _when(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def bound_to_json(bound: Bound) -> JSONDict:
    """The storable form of a ``Bound``; raises TypeError/ValueError if not JSON."""
    return {
        "credentials": dict(bound.credentials),
        "endpoints": [
            {"host": endpoint.host, "ports": list(endpoint.ports), "protocol": endpoint.protocol}
            for endpoint in bound.endpoints
        ],
        "syslog_drain_url": bound.syslog_drain_url,
        "route_service_url": bound.route_service_url,
        "volume_mounts": [dict(mount) for mount in bound.volume_mounts],
        "expires_at": _when(bound.expires_at),
        "renew_before": _when(bound.renew_before),
    }


def view_from_json(result: JSONDict, parameters: JSONDict | None) -> BindingView:
    """The binding's body (bind 200/201, GET binding) from its stored form."""

    def when(key: str) -> datetime | None:
        value: Any = result.get(key)
        return None if value is None else datetime.fromisoformat(value)

    return BindingView(
        credentials=result.get("credentials"),
        endpoints=tuple(
            Endpoint(host=item["host"], ports=tuple(item["ports"]), protocol=item.get("protocol", "tcp"))
            for item in result.get("endpoints") or ()
        ),
        syslog_drain_url=result.get("syslog_drain_url"),
        route_service_url=result.get("route_service_url"),
        volume_mounts=tuple(result.get("volume_mounts") or ()),
        parameters=parameters,
        expires_at=when("expires_at"),
        renew_before=when("renew_before"),
    )
