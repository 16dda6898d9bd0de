"""The R-kvstore (ApsaraDB for Redis) API calls the broker makes, in wire terms.

One method per action (``KVSTORE_ACTIONS`` is the list a RAM policy must allow), on the
shared ``CloudApi`` (which says how calls are made and repeated safely: ``Token`` on
CreateInstance, ``ClientToken`` on ModifyInstanceSpec), and ``KvstoreApi.kind``: how
R-kvstore names, finds and deletes its instances.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from aliyun_brokers.common.cloud_api import CloudApi
from aliyun_brokers.common.cloud_kind import CloudKind

__all__ = ["BUSY_STATES", "DESCRIBE_BATCH", "GONE_STATES", "KVSTORE_ACTIONS", "NORMAL", "KvstoreApi"]

#: DescribeInstances takes at most 30 ids per call.
DESCRIBE_BATCH = 30
# DescribeInstances pages hold at most 50 items.
_PAGE_SIZE = 50

#: The status of an instance that is up and idle (R-kvstore says ``Normal``, not ``Running``).
NORMAL = "Normal"
#: Statuses of an instance on its way out: never adopted, never waited for.
GONE_STATES = frozenset({"Released"})
#: Statuses of an instance busy with a change; it returns to ``Normal`` by itself.
BUSY_STATES = frozenset(
    {
        "Creating",
        "Changing",
        "Transforming",
        "Migrating",
        "BackupRecovering",
        "Flushing",
        "MinorVersionUpgrading",
        "MajorVersionUpgrading",
        "NetworkModifying",
        "SSLModifying",
    }
)

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


class KvstoreApi(CloudApi):
    """Typed R-kvstore calls for one region."""

    product = "r-kvstore"
    actions = KVSTORE_ACTIONS
    id_key = "InstanceId"
    items_path = ("Instances", "KVStoreInstance")
    describe_batch = DESCRIBE_BATCH

    # -- instances -------------------------------------------------------------------------

    def create_instance(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """CreateInstance; with the same ``Token`` (and parameters) it returns the first instance."""
        return self._call("CreateInstance", params)

    def describe_instances(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """DescribeInstances for up to 30 ids: ``{id: item}`` of those that exist."""
        return self._describe_ids("DescribeInstances", "InstanceIds", ids)

    def find_by_tags(self, tags: Mapping[str, str]) -> list[dict[str, Any]]:
        """DescribeInstances filtered by tags (``Tag.N.Key``/``Tag.N.Value``), every page."""
        tag_list = [{"Key": key, "Value": value} for key, value in sorted(tags.items())]
        return self._all_pages("DescribeInstances", {"Tag": tag_list}, page_size=_PAGE_SIZE)

    def kind(self) -> CloudKind:
        """How R-kvstore names, finds and deletes its instances (for deprovisioning and adoption)."""
        return CloudKind(
            noun="Redis instance",
            id_detail="instance_id",
            id_key=self.id_key,
            status_key="InstanceStatus",
            gone_states=GONE_STATES,
            wait_states=BUSY_STATES,
            busy_codes=frozenset(
                {"IncorrectDBInstanceState", "IncorrectInstanceState", "IncorrectInstanceStatus"}
            ),
            find_by_tags=self.find_by_tags,
            delete=self.delete_instance,
        )

    def delete_instance(self, instance_id: str) -> bool:
        """DeleteInstance; False when the instance was already gone."""
        return self._call_unless_gone("DeleteInstance", {"InstanceId": instance_id})

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

    def ensure_account(self, instance_id: str, name: str, password: str, *, read_only: bool) -> None:
        """CreateAccount; if it exists (a repeated step), take it over with this password and role."""
        privilege = "RoleReadOnly" if read_only else "RoleReadWrite"
        created = self._call_unless_duplicate(
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
        if not created:
            # Created by an earlier run whose password was not saved.
            self.reset_password(instance_id, name, password)
            self._call(
                "GrantAccountPrivilege",
                {"InstanceId": instance_id, "AccountName": name, "AccountPrivilege": privilege},
            )
