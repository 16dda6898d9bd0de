"""The calls every Alibaba product API shares, in wire terms: ``CloudApi``.

A product's API class (``RdsApi``, ``KvstoreApi``) subclasses it with one method per
action it calls, names its product, its actions (the list a RAM policy must allow) and
the wire keys of its instances, and says how its instances are described in batches,
found by their tags and deleted (``kind()``, a ``CloudKind``). Methods return plain values and raise
``AliyunError``; "already done" outcomes (a duplicate on create, a missing resource on
delete) are reported as values, so the steps stay readable and every call is safe to
repeat. Every call is marked ``idempotent`` for the transport's retries because each is a
read, carries a token, or has its repeat outcome handled here or by the calling step.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Mapping, Sequence

from aliyun_brokers.common.cloud_kind import CloudKind
from openbroker_aliyun.aliyun.errors import ErrorCategory, classify
from openbroker_aliyun.aliyun.port import AliyunError, AliyunPort, Product

__all__ = ["MAX_PAGES", "CloudApi"]

#: A listing reads at most this many pages (far more than one OSB instance ever has).
MAX_PAGES = 10


class CloudApi(ABC):
    """Typed calls of one product in one region (subclasses add one method per action)."""

    #: The product as the transport knows it (``rds``, ``r-kvstore``).
    product: ClassVar[Product]
    #: Every action the broker calls (the RAM policy must allow exactly these).
    actions: ClassVar[tuple[str, ...]]
    #: The parameter, and the describe item key, of an instance's id (``DBInstanceId``).
    id_key: ClassVar[str]
    #: Where a describe answer lists its items (``("Items", "DBInstance")``).
    items_path: ClassVar[tuple[str, str]]
    #: How many ids one ``describe_instances`` call takes.
    describe_batch: ClassVar[int]

    def __init__(self, port: AliyunPort, region_id: str) -> None:
        self._port = port
        self._region = region_id

    def _call(self, action: str, params: Mapping[str, Any]) -> dict[str, Any]:
        assert action in self.actions, action
        return self._port.call(self.product, action, {"RegionId": self._region, **params}, idempotent=True)

    def _call_unless_gone(self, action: str, params: Mapping[str, Any]) -> bool:
        """The call; False when what it acts on does not exist (a delete done before)."""
        try:
            self._call(action, params)
        except AliyunError as error:
            if classify(error) is ErrorCategory.NOT_FOUND:
                return False
            raise
        return True

    def _call_unless_duplicate(self, action: str, params: Mapping[str, Any]) -> bool:
        """The call; False when what it creates exists already (made by an earlier run)."""
        try:
            self._call(action, params)
        except AliyunError as error:
            if classify(error) is not ErrorCategory.DUPLICATE:
                raise
            return False
        return True

    def _items(self, body: Mapping[str, Any]) -> list[dict[str, Any]]:
        outer, inner = self.items_path
        items = body.get(outer, {})
        found = items.get(inner, []) if isinstance(items, Mapping) else []
        return [item for item in found if isinstance(item, dict)]

    def _describe_ids(self, action: str, ids_param: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """One describe call for up to ``describe_batch`` ids: ``{id: item}`` of those that exist."""
        if not ids:
            return {}
        batch = self.describe_batch
        if len(ids) > batch:
            raise ValueError(f"at most {batch} ids per {action} call")
        body = self._call(action, {ids_param: ",".join(ids), "PageSize": batch})
        wanted = set(ids)
        return {item[self.id_key]: item for item in self._items(body) if item.get(self.id_key) in wanted}

    def _all_pages(self, action: str, params: Mapping[str, Any], *, page_size: int) -> list[dict[str, Any]]:
        """Every item of a paged listing (at most ``MAX_PAGES`` pages)."""
        found: list[dict[str, Any]] = []
        for page in range(1, MAX_PAGES + 1):
            items = self._items(self._call(action, {**params, "PageSize": page_size, "PageNumber": page}))
            found.extend(items)
            if len(items) < page_size:
                break
        return found

    # -- what every product's API provides ---------------------------------------------------

    @abstractmethod
    def describe_instances(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """One describe call for up to ``describe_batch`` ids: ``{id: item}`` of those that exist."""

    @abstractmethod
    def kind(self) -> CloudKind:
        """How the product names, finds and deletes its instances."""

    # -- calls both products spell the same way ---------------------------------------------

    def modify_security_ips(self, instance_id: str, ips: Sequence[str]) -> None:
        """ModifySecurityIps, mode ``Cover`` of the default group: repeating it is harmless."""
        self._call(
            "ModifySecurityIps",
            {self.id_key: instance_id, "SecurityIps": ",".join(ips), "ModifyMode": "Cover"},
        )

    def reset_password(self, instance_id: str, account: str, password: str) -> None:
        """ResetAccountPassword (setting the same password again is harmless)."""
        self._call(
            "ResetAccountPassword",
            {self.id_key: instance_id, "AccountName": account, "AccountPassword": password},
        )

    def delete_account(self, instance_id: str, name: str) -> bool:
        """DeleteAccount; False when the account (or the instance) was already gone."""
        return self._call_unless_gone("DeleteAccount", {self.id_key: instance_id, "AccountName": name})
