"""A client of the emulator's admin API (``/_emulator/``, see ``admin``), for tests and benchmarks.

``EmulatorAdmin(url, product)`` sees one product's side of a running emulator (its own
process, or ``EmulatorServer`` in this one) the way a test wants to: how many calls the
broker made (by action and outcome), which instances exist, and which faults to inject::

    admin = EmulatorAdmin(emulator_url, "rds", instance_tag="openbroker-instance")
    admin.set_faults(["Throttling:0.2"], seed=7)
    ...                                        # drive the broker
    assert admin.count("CreateDBInstance") == 1
    assert admin.instances_of(osb_instance_id) == []

``instance_tag`` is the tag key by which the broker names the OSB instance a cloud
instance belongs to (``instances_of``, ``wait_created``). Every request is made on a
fresh session that ignores proxy variables (loopback only), so one object may be used
from several threads. It lives with the emulator, not in the library's test kit
(``openbroker_aliyun.testing``), which knows no cloud.
"""

from __future__ import annotations

import time
from typing import Any, Sequence

import requests

from .faults import PRODUCTS

__all__ = ["EmulatorAdmin"]


class EmulatorAdmin:
    """The admin API of the emulator at ``url``, seen for ``product``."""

    def __init__(self, url: str, product: str, *, instance_tag: str | None = None) -> None:
        if product not in PRODUCTS:
            raise ValueError(f"product must be one of {', '.join(PRODUCTS)}, not {product!r}")
        self.url = url.rstrip("/")
        self.product = product
        self.instance_tag = instance_tag

    def _request(self, method: str, path: str, body: Any = None) -> Any:
        with requests.Session() as session:
            session.trust_env = False
            response = session.request(method, f"{self.url}/_emulator/{path}", json=body, timeout=10)
        response.raise_for_status()
        return response.json()

    # -- calls -------------------------------------------------------------------------------

    def calls(self) -> dict[str, dict[str, Any]]:
        """The product's calls so far: ``{action: {"total": n, "outcomes": {outcome: n}}}``."""
        products = self._request("GET", "calls")["products"]
        return dict(products.get(self.product, {}).get("actions", {}))

    def count(self, action: str | None = None, outcome: str | None = None) -> int:
        """Calls of ``action`` with ``outcome`` (``ok``, ``Throttling``, ...); None: any."""
        return sum(
            entry["total"] if outcome is None else entry["outcomes"].get(outcome, 0)
            for name, entry in self.calls().items()
            if action is None or name == action
        )

    def faulted(self) -> int:
        """Calls answered with something else than ``ok`` (an injected fault or an error)."""
        return sum(
            n
            for entry in self.calls().values()
            for outcome, n in entry["outcomes"].items()
            if outcome != "ok"
        )

    def reset_calls(self) -> None:
        """Start counting from zero (for every product)."""
        self._request("DELETE", "calls")

    # -- instances ---------------------------------------------------------------------------

    def instances(self) -> list[dict[str, Any]]:
        """The product's instances that exist now (never with passwords)."""
        return list(self._request("GET", "instances").get(self.product, []))

    def instances_of(self, osb_instance_id: str) -> list[dict[str, Any]]:
        """The instances tagged for one OSB instance (``instance_tag``)."""
        if self.instance_tag is None:
            raise ValueError("instances_of needs the instance_tag the broker uses")
        return [i for i in self.instances() if i.get("Tags", {}).get(self.instance_tag) == osb_instance_id]

    def wait_created(self, osb_instance_id: str, *, timeout: float = 5.0) -> dict[str, Any]:
        """The one instance of ``osb_instance_id``, once the broker's create call has made it."""
        deadline = time.monotonic() + timeout
        while True:  # bounded by the deadline
            found = self.instances_of(osb_instance_id)
            if len(found) > 1:
                raise AssertionError(f"{len(found)} instances for one OSB instance")
            if found:
                return found[0]
            if time.monotonic() > deadline:
                raise AssertionError(f"no instance was created within {timeout:g} s")
            time.sleep(0.02)

    # -- faults ------------------------------------------------------------------------------

    def set_faults(self, rules: Sequence[Any], seed: int | None = None) -> None:
        """Replace the fault rules (the ``--fault`` text or objects; docs/emulator.md)."""
        body: dict[str, Any] = {"rules": list(rules)}
        if seed is not None:
            body["seed"] = seed
        self._request("PUT", "faults", body)

    def clear_faults(self) -> None:
        self._request("DELETE", "faults")
