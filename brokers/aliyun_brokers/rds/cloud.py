"""The RDS API calls the broker makes, in wire terms, over the ``AliyunPort``.

One method per action (docs/ram-policy.json lists exactly these), on the shared
``CloudApi`` (which says how calls are made and repeated safely), and ``RdsApi.kind``:
how RDS names, finds and deletes its instances.
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Sequence

from aliyun_brokers.common.cloud_api import CloudApi
from aliyun_brokers.common.cloud_kind import CloudKind
from openbroker_aliyun.aliyun.errors import ErrorCategory, classify
from openbroker_aliyun.aliyun.port import AliyunError

__all__ = ["DESCRIBE_BATCH", "RDS_ACTIONS", "RUNNING", "RdsApi"]

#: DescribeDBInstances takes at most 100 ids per call.
DESCRIBE_BATCH = 100
#: The status of an instance that is up and idle.
RUNNING = "Running"

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


class RdsApi(CloudApi):
    """Typed RDS calls for one region."""

    product = "rds"
    actions = RDS_ACTIONS
    id_key = "DBInstanceId"
    items_path = ("Items", "DBInstance")
    describe_batch = DESCRIBE_BATCH

    # -- instances -------------------------------------------------------------------------

    def create_instance(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """CreateDBInstance; with the same ``ClientToken`` it returns the first instance."""
        return self._call("CreateDBInstance", params)

    def describe_instances(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """DescribeDBInstances for up to 100 ids: ``{id: item}`` of those that exist."""
        return self._describe_ids("DescribeDBInstances", "DBInstanceId", ids)

    def find_by_tags(self, tags: Mapping[str, str]) -> list[dict[str, Any]]:
        """DescribeDBInstances filtered by tags (a JSON object, as the API wants it)."""
        return self._all_pages(
            "DescribeDBInstances", {"Tags": json.dumps(dict(tags), sort_keys=True)}, page_size=DESCRIBE_BATCH
        )

    def kind(self) -> CloudKind:
        """How RDS names, finds and deletes its instances (for deprovisioning and adoption)."""
        return CloudKind(
            noun="RDS instance",
            id_detail="db_instance_id",
            id_key=self.id_key,
            status_key="DBInstanceStatus",
            # Released: in the recycle bin, which Alibaba empties on its own.
            gone_states=frozenset({"Released"}),
            deleting_states=frozenset({"Deleting"}),
            # DeleteDBInstance is refused in these, and accepted later.
            wait_states=frozenset(
                {"Creating", "DBInstanceClassChanging", "Rebooting", "Restoring", "TRANSING"}
            ),
            busy_codes=frozenset({"IncorrectDBInstanceState", "OperationDenied.DBInstanceStatus"}),
            find_by_tags=self.find_by_tags,
            delete=self.delete_instance,
            refusals={
                "OperationDenied.DeletionProtection": "deletion protection is on; an operator must turn it "
                "off in the Alibaba Cloud console, then the deletion can be tried again."
            },
        )

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
        return self._call_unless_gone("DeleteDBInstance", {"DBInstanceId": instance_id})

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
        created = self._call_unless_duplicate(
            "CreateAccount",
            {
                "DBInstanceId": instance_id,
                "AccountName": name,
                "AccountPassword": password,
                "AccountType": "Super" if privileged else "Normal",
                "AccountDescription": "openbroker manager" if privileged else "openbroker binding",
            },
        )
        if not created:
            # Created by an earlier run whose password was not saved: take it over.
            self.reset_password(instance_id, name, password)

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
        self._call_unless_duplicate(
            "CreateDatabase",
            {
                "DBInstanceId": instance_id,
                "DBName": name,
                "CharacterSetName": character_set,
                "DBDescription": "openbroker database",
            },
        )
