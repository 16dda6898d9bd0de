"""The RDS API calls the broker makes, typed, over the ``AliyunPort``.

One method per action (docs/ram-policy.json lists exactly these), taking and returning
the types of ``aliyun_brokers.rds.wire``, on the shared ``CloudApi`` (which says how calls
are made and repeated safely), and ``RdsApi.kind``: how RDS names, finds and deletes its
instances.
"""

from __future__ import annotations

import json
from typing import Mapping, Sequence

from aliyun_brokers.common.cloud_api import CloudApi, SharedRequests
from aliyun_brokers.common.cloud_kind import CloudKind
from aliyun_brokers.common.wire import WireResponse
from aliyun_brokers.rds.wire import (
    CreateAccount,
    CreateDatabase,
    CreateDBInstance,
    CreateDBInstanceResponse,
    DBInstance,
    DBInstanceAttribute,
    DeleteAccount,
    DeleteDBInstance,
    DescribeDBInstanceAttribute,
    DescribeDBInstanceAttributeResponse,
    DescribeDBInstanceNetInfo,
    DescribeDBInstanceNetInfoResponse,
    DescribeDBInstances,
    DescribeDBInstancesResponse,
    DescribeDBInstanceSSL,
    DescribeDBInstanceSSLResponse,
    GrantAccountPrivilege,
    ModifyDBInstanceSpec,
    ModifyDBInstanceSSL,
    ModifySecurityIps,
    ResetAccountPassword,
)

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


class RdsApi(CloudApi[DBInstance]):
    """Typed RDS calls for one region."""

    product = "rds"
    actions = RDS_ACTIONS
    describe_batch = DESCRIBE_BATCH
    shared = SharedRequests(ModifySecurityIps, ResetAccountPassword, DeleteAccount)

    # -- instances -------------------------------------------------------------------------

    def create_instance(self, request: CreateDBInstance) -> CreateDBInstanceResponse:
        """CreateDBInstance; with the same ``ClientToken`` it returns the first instance."""
        return self._call(request, CreateDBInstanceResponse)

    def describe(self, request: DescribeDBInstances) -> DescribeDBInstancesResponse:
        """DescribeDBInstances: one page of the instances asked for."""
        return self._call(request, DescribeDBInstancesResponse)

    def describe_instances(self, ids: Sequence[str]) -> dict[str, DBInstance]:
        """DescribeDBInstances for up to 100 ids: ``{id: item}`` of those that exist."""
        return self._describe_ids(
            ids,
            lambda joined: (
                self.describe(DescribeDBInstances(instance_ids=joined, page_size=DESCRIBE_BATCH)).items
            ),
        )

    def find_by_tags(self, tags: Mapping[str, str]) -> list[DBInstance]:
        """DescribeDBInstances filtered by tags (a JSON object, as the API wants it)."""
        tags_filter = json.dumps(dict(tags), sort_keys=True)
        return self._all_pages(
            lambda number: (
                self.describe(
                    DescribeDBInstances(tags=tags_filter, page_size=DESCRIBE_BATCH, page_number=number)
                ).items
            ),
            page_size=DESCRIBE_BATCH,
        )

    def kind(self) -> CloudKind:
        """How RDS names, finds and deletes its instances (for deprovisioning and adoption)."""
        return CloudKind(
            noun="RDS instance",
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

    def describe_attribute(self, request: DescribeDBInstanceAttribute) -> DBInstanceAttribute | None:
        """DescribeDBInstanceAttribute: the full attributes, or None when the instance is gone."""
        answer = self._call_unless_gone(request, DescribeDBInstanceAttributeResponse)
        return answer.items[0] if answer is not None and answer.items else None

    def describe_net_info(self, request: DescribeDBInstanceNetInfo) -> DescribeDBInstanceNetInfoResponse:
        """DescribeDBInstanceNetInfo: the instance's endpoints."""
        return self._call(request, DescribeDBInstanceNetInfoResponse)

    def modify_spec(self, request: ModifyDBInstanceSpec) -> WireResponse:
        """ModifyDBInstanceSpec (no token: the step checks the class before calling again)."""
        return self._call(request, WireResponse)

    def delete_instance(self, instance_id: str) -> bool:
        """DeleteDBInstance; False when the instance was already gone."""
        return self._call_unless_gone(DeleteDBInstance(instance_id=instance_id), WireResponse) is not None

    def modify_ssl(self, request: ModifyDBInstanceSSL) -> WireResponse:
        """ModifyDBInstanceSSL on the instance's connection string."""
        return self._call(request, WireResponse)

    def describe_ssl(self, request: DescribeDBInstanceSSL) -> DescribeDBInstanceSSLResponse:
        """DescribeDBInstanceSSL: whether TLS is on (``.enabled``)."""
        return self._call(request, DescribeDBInstanceSSLResponse)

    # -- accounts and databases -------------------------------------------------------------

    def ensure_account(self, instance_id: str, name: str, password: str, *, privileged: bool) -> None:
        """CreateAccount (``Super`` when ``privileged``, for the broker), or
        ResetAccountPassword when the account exists (a repeated step)."""
        request = CreateAccount(
            instance_id=instance_id,
            account_name=name,
            account_password=password,
            account_type="Super" if privileged else "Normal",
            account_description="openbroker manager" if privileged else "openbroker binding",
        )
        if self._call_unless_duplicate(request, WireResponse) is None:
            # Created by an earlier run whose password was not saved: take it over.
            self.reset_password(instance_id, name, password)

    def grant(self, request: GrantAccountPrivilege) -> WireResponse:
        """GrantAccountPrivilege (granting again what is granted is harmless)."""
        return self._call(request, WireResponse)

    def ensure_database(self, request: CreateDatabase) -> None:
        """CreateDatabase; a duplicate means an earlier run created it."""
        self._call_unless_duplicate(request, WireResponse)
