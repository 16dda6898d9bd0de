"""The R-kvstore (ApsaraDB for Redis) API calls the broker makes, in wire terms.

One method per action (``KVSTORE_ACTIONS`` is the list a RAM policy must allow). Methods
return plain values and raise ``AliyunError``; "already done" outcomes (a duplicate
account, a missing resource on delete) are reported as values, so the steps stay readable
and every call is safe to repeat. Every call is marked ``idempotent`` for the transport's
retries because each is a read, carries a token (``Token`` on CreateInstance,
``ClientToken`` on ModifyInstanceSpec), or has its repeat outcome handled here.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from openbroker_aliyun.aliyun.errors import ErrorCategory, classify
from openbroker_aliyun.aliyun.port import AliyunError, AliyunPort

__all__ = ["DESCRIBE_BATCH", "KVSTORE_ACTIONS", "KvstoreApi"]

#: DescribeInstances takes at most 30 ids per call.
DESCRIBE_BATCH = 30
# DescribeInstances pages hold at most 50 items; a tag search reads at most this many pages
# (far more than one OSB instance ever has).
_PAGE_SIZE, _MAX_PAGES = 50, 10

#: Every action the broker calls (the RAM policy must allow exactly these).
KVSTORE_ACTIONS = (
    "CreateAccount",
    "CreateInstance",
    "DeleteAccount",
    "DeleteInstance",
    "DescribeInstanceSSL",
    "DescribeInstances",
    "GrantAccountPrivilege",
    "ModifyInstanceSSL",
    "ModifyInstanceSpec",
    "ModifySecurityIps",
    "ResetAccountPassword",
)


class KvstoreApi:
    """Typed R-kvstore calls for one region."""

    def __init__(self, port: AliyunPort, region_id: str) -> None:
        self._port = port
        self._region = region_id

    def _call(self, action: str, params: Mapping[str, Any]) -> dict[str, Any]:
        assert action in KVSTORE_ACTIONS, action
        return self._port.call("r-kvstore", action, {"RegionId": self._region, **params}, idempotent=True)

    # -- instances -------------------------------------------------------------------------

    def create_instance(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """CreateInstance; with the same ``Token`` (and parameters) it returns the first instance."""
        return self._call("CreateInstance", params)

    def describe_instances(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """DescribeInstances for up to 30 ids: ``{id: item}`` of those that exist."""
        if not ids:
            return {}
        if len(ids) > DESCRIBE_BATCH:
            raise ValueError(f"at most {DESCRIBE_BATCH} ids per DescribeInstances call")
        body = self._call("DescribeInstances", {"InstanceIds": ",".join(ids), "PageSize": DESCRIBE_BATCH})
        wanted = set(ids)
        return {item["InstanceId"]: item for item in _items(body) if item.get("InstanceId") in wanted}

    def find_by_tags(self, tags: Mapping[str, str]) -> list[dict[str, Any]]:
        """DescribeInstances filtered by tags (``Tag.N.Key``/``Tag.N.Value``), every page."""
        found: list[dict[str, Any]] = []
        tag_list = [{"Key": key, "Value": value} for key, value in sorted(tags.items())]
        for page in range(1, _MAX_PAGES + 1):
            body = self._call(
                "DescribeInstances", {"Tag": tag_list, "PageSize": _PAGE_SIZE, "PageNumber": page}
            )
            items = _items(body)
            found.extend(items)
            if len(items) < _PAGE_SIZE:
                break
        return found

    def delete_instance(self, instance_id: str) -> bool:
        """DeleteInstance; False when the instance was already gone."""
        try:
            self._call("DeleteInstance", {"InstanceId": instance_id})
        except AliyunError as error:
            if classify(error) is ErrorCategory.NOT_FOUND:
                return False
            raise
        return True

    def modify_spec(
        self, instance_id: str, *, instance_class: str, shard_count: int | None, token: str
    ) -> None:
        """ModifyInstanceSpec; the ``ClientToken`` makes a repeated call return the first answer."""
        params: dict[str, Any] = {
            "InstanceId": instance_id,
            "InstanceClass": instance_class,
            "EffectiveTime": "Immediately",
            "ClientToken": token,
        }
        if shard_count is not None:
            params["ShardCount"] = shard_count
        self._call("ModifyInstanceSpec", params)

    def modify_security_ips(self, instance_id: str, ips: Sequence[str]) -> None:
        """ModifySecurityIps, mode ``Cover`` of the default group: repeating it is harmless."""
        self._call(
            "ModifySecurityIps",
            {"InstanceId": instance_id, "SecurityIps": ",".join(ips), "ModifyMode": "Cover"},
        )

    def modify_ssl(self, instance_id: str, enabled: bool) -> None:
        """ModifyInstanceSSL (the instance goes ``SSLModifying`` → ``Normal``)."""
        self._call(
            "ModifyInstanceSSL", {"InstanceId": instance_id, "SSLEnabled": "Enable" if enabled else "Disable"}
        )

    def ssl_enabled(self, instance_id: str) -> bool:
        """DescribeInstanceSSL: whether TLS is on."""
        body = self._call("DescribeInstanceSSL", {"InstanceId": instance_id})
        return str(body.get("SSLEnabled", "")).lower() in ("enable", "enabled", "true", "yes", "on")

    # -- accounts -------------------------------------------------------------------------

    def reset_password(self, instance_id: str, account: str, password: str) -> None:
        """ResetAccountPassword (setting the same password again is harmless)."""
        self._call(
            "ResetAccountPassword",
            {"InstanceId": instance_id, "AccountName": account, "AccountPassword": password},
        )

    def ensure_account(self, instance_id: str, name: str, password: str, *, read_only: bool) -> None:
        """CreateAccount; if it exists (a repeated step), take it over with this password and role."""
        privilege = "RoleReadOnly" if read_only else "RoleReadWrite"
        try:
            self._call(
                "CreateAccount",
                {
                    "InstanceId": instance_id,
                    "AccountName": name,
                    "AccountPassword": password,
                    "AccountPrivilege": privilege,
                    "AccountType": "Normal",
                    "AccountDescription": "openbroker binding",
                },
            )
        except AliyunError as error:
            if classify(error) is not ErrorCategory.DUPLICATE:
                raise
            # Created by an earlier run whose password was not saved.
            self.reset_password(instance_id, name, password)
            self._call(
                "GrantAccountPrivilege",
                {"InstanceId": instance_id, "AccountName": name, "AccountPrivilege": privilege},
            )

    def delete_account(self, instance_id: str, name: str) -> bool:
        """DeleteAccount; False when the account (or the instance) was already gone."""
        try:
            self._call("DeleteAccount", {"InstanceId": instance_id, "AccountName": name})
        except AliyunError as error:
            if classify(error) is ErrorCategory.NOT_FOUND:
                return False
            raise
        return True


def _items(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    instances = body.get("Instances", {})
    found = instances.get("KVStoreInstance", []) if isinstance(instances, Mapping) else []
    return [item for item in found if isinstance(item, dict)]
