"""The R-kvstore (ApsaraDB for Redis) API calls the broker makes, typed.

One method per action (``KVSTORE_ACTIONS`` is the list a RAM policy must allow), taking
and returning the types of ``aliyun_brokers.redis.wire``, on the shared ``CloudApi``
(which says how calls are made and repeated safely: ``Token`` on CreateInstance,
``ClientToken`` on ModifyInstanceSpec), and ``KvstoreApi.kind``: how R-kvstore names,
finds and deletes its instances.
"""

from __future__ import annotations

from typing import Mapping, Sequence

from aliyun_brokers.common.cloud_api import CloudApi, SharedRequests
from aliyun_brokers.common.cloud_kind import CloudKind
from aliyun_brokers.common.wire import Tag, WireResponse
from aliyun_brokers.redis.wire import (
    CreateAccount,
    CreateInstance,
    CreateInstanceResponse,
    DeleteAccount,
    DeleteInstance,
    DescribeInstances,
    DescribeInstancesResponse,
    DescribeInstanceSSL,
    DescribeInstanceSSLResponse,
    GrantAccountPrivilege,
    KVStoreInstance,
    ModifyInstanceSpec,
    ModifyInstanceSSL,
    ModifySecurityIps,
    ResetAccountPassword,
)

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


class KvstoreApi(CloudApi[KVStoreInstance]):
    """Typed R-kvstore calls for one region."""

    product = "r-kvstore"
    actions = KVSTORE_ACTIONS
    describe_batch = DESCRIBE_BATCH
    shared = SharedRequests(ModifySecurityIps, ResetAccountPassword, DeleteAccount)

    # -- instances -------------------------------------------------------------------------

    def create_instance(self, request: CreateInstance) -> CreateInstanceResponse:
        """CreateInstance; with the same ``Token`` (and parameters) it returns the first instance."""
        return self._call(request, CreateInstanceResponse)

    def describe(self, request: DescribeInstances) -> DescribeInstancesResponse:
        """DescribeInstances: one page of the instances asked for."""
        return self._call(request, DescribeInstancesResponse)

    def describe_instances(self, ids: Sequence[str]) -> dict[str, KVStoreInstance]:
        """DescribeInstances for up to 30 ids: ``{id: item}`` of those that exist."""
        return self._describe_ids(
            ids,
            lambda joined: (
                self.describe(DescribeInstances(instance_ids=joined, page_size=DESCRIBE_BATCH)).items
            ),
        )

    def find_by_tags(self, tags: Mapping[str, str]) -> list[KVStoreInstance]:
        """DescribeInstances filtered by tags (``Tag.N.Key``/``Tag.N.Value``), every page."""
        tag = tuple(Tag(key=key, value=value) for key, value in sorted(tags.items()))
        return self._all_pages(
            lambda number: (
                self.describe(DescribeInstances(tag=tag, page_size=_PAGE_SIZE, page_number=number)).items
            ),
            page_size=_PAGE_SIZE,
        )

    def kind(self) -> CloudKind:
        """How R-kvstore names, finds and deletes its instances (for deprovisioning and adoption)."""
        return CloudKind(
            noun="Redis instance",
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
        return self._call_unless_gone(DeleteInstance(instance_id=instance_id), WireResponse) is not None

    def modify_spec(self, request: ModifyInstanceSpec) -> WireResponse:
        """ModifyInstanceSpec; the ``ClientToken`` makes a repeated call return the first answer."""
        return self._call(request, WireResponse)

    def modify_ssl(self, request: ModifyInstanceSSL) -> WireResponse:
        """ModifyInstanceSSL (the instance goes ``SSLModifying`` → ``Normal``)."""
        return self._call(request, WireResponse)

    def describe_ssl(self, request: DescribeInstanceSSL) -> DescribeInstanceSSLResponse:
        """DescribeInstanceSSL: whether TLS is on (``.enabled``)."""
        return self._call(request, DescribeInstanceSSLResponse)

    # -- accounts -------------------------------------------------------------------------

    def ensure_account(self, instance_id: str, name: str, password: str, *, read_only: bool) -> None:
        """CreateAccount; if it exists (a repeated step), take it over with this password and role."""
        privilege = "RoleReadOnly" if read_only else "RoleReadWrite"
        request = CreateAccount(
            instance_id=instance_id,
            account_name=name,
            account_password=password,
            account_privilege=privilege,
            account_type="Normal",
            account_description="openbroker binding",
        )
        if self._call_unless_duplicate(request, WireResponse) is None:
            # Created by an earlier run whose password was not saved.
            self.reset_password(instance_id, name, password)
            grant = GrantAccountPrivilege(
                instance_id=instance_id, account_name=name, account_privilege=privilege
            )
            self._call(grant, WireResponse)
