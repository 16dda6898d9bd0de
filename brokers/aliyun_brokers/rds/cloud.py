"""The RDS API calls the broker makes, in wire terms, over the ``AliyunPort``.

One method per action (docs/ram-policy.json lists exactly these). Methods return plain
values and raise ``AliyunError``; "already done" outcomes (a duplicate on create, a
missing resource on delete) are reported as values, so the steps stay readable and every
call is safe to repeat (see each method). All calls are marked ``idempotent`` for the
transport's retries because each is either a read, carries a ``ClientToken``, or has a
repeat outcome handled here or by the calling step.
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Sequence

from openbroker_aliyun.aliyun.errors import ErrorCategory, classify
from openbroker_aliyun.aliyun.port import AliyunError, AliyunPort

__all__ = ["DESCRIBE_BATCH", "RDS_ACTIONS", "RdsApi"]

#: DescribeDBInstances takes at most 100 ids per call.
DESCRIBE_BATCH = 100
# Pages of a tag search; far more than one OSB instance ever has.
_MAX_PAGES = 10

#: Every action the broker calls (the RAM policy must allow exactly these).
RDS_ACTIONS = (
    "CreateAccount",
    "CreateDBInstance",
    "CreateDatabase",
    "DeleteAccount",
    "DeleteDBInstance",
    "DescribeDBInstanceNetInfo",
    "DescribeDBInstanceSSL",
    "DescribeDBInstanceAttribute",
    "DescribeDBInstances",
    "GrantAccountPrivilege",
    "ModifyDBInstanceSSL",
    "ModifyDBInstanceSpec",
    "ModifySecurityIps",
    "ResetAccountPassword",
)


class RdsApi:
    """Typed RDS calls for one region."""

    def __init__(self, port: AliyunPort, region_id: str) -> None:
        self._port = port
        self._region = region_id

    def _call(self, action: str, params: Mapping[str, Any]) -> dict[str, Any]:
        assert action in RDS_ACTIONS, action
        return self._port.call("rds", action, {"RegionId": self._region, **params}, idempotent=True)

    # -- instances -------------------------------------------------------------------------

    def create_instance(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """CreateDBInstance; with the same ``ClientToken`` it returns the first instance."""
        return self._call("CreateDBInstance", params)

    def describe_instances(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """DescribeDBInstances for up to 100 ids: ``{id: item}`` of those that exist."""
        if not ids:
            return {}
        if len(ids) > DESCRIBE_BATCH:
            raise ValueError(f"at most {DESCRIBE_BATCH} ids per DescribeDBInstances call")
        body = self._call("DescribeDBInstances", {"DBInstanceId": ",".join(ids), "PageSize": DESCRIBE_BATCH})
        wanted = set(ids)
        return {item["DBInstanceId"]: item for item in _items(body) if item.get("DBInstanceId") in wanted}

    def find_by_tags(self, tags: Mapping[str, str]) -> list[dict[str, Any]]:
        """DescribeDBInstances filtered by tags (a JSON object, as the API wants it)."""
        found: list[dict[str, Any]] = []
        for page in range(1, _MAX_PAGES + 1):
            body = self._call(
                "DescribeDBInstances",
                {
                    "Tags": json.dumps(dict(tags), sort_keys=True),
                    "PageSize": DESCRIBE_BATCH,
                    "PageNumber": page,
                },
            )
            items = _items(body)
            found.extend(items)
            if len(items) < DESCRIBE_BATCH:
                break
        return found

    def describe_attribute(self, instance_id: str) -> dict[str, Any] | None:
        """DescribeDBInstanceAttribute: the full attributes, or None when the instance is gone."""
        try:
            body = self._call("DescribeDBInstanceAttribute", {"DBInstanceId": instance_id})
        except AliyunError as error:
            if classify(error) is ErrorCategory.NOT_FOUND:
                return None
            raise
        items = body.get("Items", {}).get("DBInstanceAttribute", [])
        return items[0] if items else None

    def endpoint(self, instance_id: str) -> tuple[str, int] | None:
        """DescribeDBInstanceNetInfo: the private (VPC) connection string and port."""
        body = self._call("DescribeDBInstanceNetInfo", {"DBInstanceId": instance_id})
        infos = body.get("DBInstanceNetInfos", {}).get("DBInstanceNetInfo", [])
        ranked = sorted(infos, key=lambda info: {"Private": 0, "Inner": 1}.get(info.get("IPType", ""), 2))
        for info in ranked:
            host, port = info.get("ConnectionString"), info.get("Port")
            if host and port:
                return str(host), int(port)
        return None

    def modify_spec(
        self, instance_id: str, *, instance_class: str, storage_gb: int, category: str | None
    ) -> None:
        """ModifyDBInstanceSpec (no token: the step checks the class before calling again)."""
        params: dict[str, Any] = {
            "DBInstanceId": instance_id,
            "DBInstanceClass": instance_class,
            "DBInstanceStorage": storage_gb,
            "PayType": "Postpaid",
            "EffectiveTime": "Immediate",
        }
        if category:
            params["Category"] = category
        self._call("ModifyDBInstanceSpec", params)

    def delete_instance(self, instance_id: str) -> bool:
        """DeleteDBInstance; False when the instance was already gone."""
        try:
            self._call("DeleteDBInstance", {"DBInstanceId": instance_id})
        except AliyunError as error:
            if classify(error) is ErrorCategory.NOT_FOUND:
                return False
            raise
        return True

    def modify_security_ips(self, instance_id: str, ips: Sequence[str]) -> None:
        """ModifySecurityIps, mode ``Cover`` of the default group: repeating it is harmless."""
        self._call(
            "ModifySecurityIps",
            {"DBInstanceId": instance_id, "SecurityIps": ",".join(ips), "ModifyMode": "Cover"},
        )

    def modify_ssl(self, instance_id: str, connection_string: str, enabled: bool) -> None:
        """ModifyDBInstanceSSL on the instance's connection string."""
        self._call(
            "ModifyDBInstanceSSL",
            {
                "DBInstanceId": instance_id,
                "ConnectionString": connection_string,
                "SSLEnabled": 1 if enabled else 0,
            },
        )

    def ssl_enabled(self, instance_id: str) -> bool:
        """DescribeDBInstanceSSL: whether TLS is on (MySQL says Yes/No, PostgreSQL on/off)."""
        body = self._call("DescribeDBInstanceSSL", {"DBInstanceId": instance_id})
        return str(body.get("SSLEnabled", "")).lower() in ("yes", "on", "1", "true", "enable", "enabled")

    # -- accounts and databases -------------------------------------------------------------

    def ensure_account(self, instance_id: str, name: str, password: str, *, privileged: bool) -> None:
        """CreateAccount, or ResetAccountPassword when the account exists (a repeated step)."""
        try:
            self._call(
                "CreateAccount",
                {
                    "DBInstanceId": instance_id,
                    "AccountName": name,
                    "AccountPassword": password,
                    "AccountType": "Super" if privileged else "Normal",
                    "AccountDescription": "openbroker manager" if privileged else "openbroker binding",
                },
            )
        except AliyunError as error:
            if classify(error) is not ErrorCategory.DUPLICATE:
                raise
            # Created by an earlier run whose password was not saved: take it over.
            self._call(
                "ResetAccountPassword",
                {"DBInstanceId": instance_id, "AccountName": name, "AccountPassword": password},
            )

    def delete_account(self, instance_id: str, name: str) -> bool:
        """DeleteAccount; False when the account (or the instance) was already gone."""
        try:
            self._call("DeleteAccount", {"DBInstanceId": instance_id, "AccountName": name})
        except AliyunError as error:
            if classify(error) is ErrorCategory.NOT_FOUND:
                return False
            raise
        return True

    def grant(self, instance_id: str, account: str, database: str, privilege: str) -> None:
        """GrantAccountPrivilege (granting again what is granted is harmless)."""
        self._call(
            "GrantAccountPrivilege",
            {
                "DBInstanceId": instance_id,
                "AccountName": account,
                "DBName": database,
                "AccountPrivilege": privilege,
            },
        )

    def ensure_database(self, instance_id: str, name: str, character_set: str) -> None:
        """CreateDatabase; a duplicate means an earlier run created it."""
        try:
            self._call(
                "CreateDatabase",
                {
                    "DBInstanceId": instance_id,
                    "DBName": name,
                    "CharacterSetName": character_set,
                    "DBDescription": "openbroker database",
                },
            )
        except AliyunError as error:
            if classify(error) is not ErrorCategory.DUPLICATE:
                raise


def _items(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    items = body.get("Items", {})
    found = items.get("DBInstance", []) if isinstance(items, Mapping) else []
    return [item for item in found if isinstance(item, dict)]
