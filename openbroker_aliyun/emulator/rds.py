"""RDS 2014-08-15: the actions brokers need, over the in-memory state and the SQL backends.

Every handler validates all of its input before it changes anything (on the backing server
or in the state), so that a refused call leaves no trace. The caller holds the state lock.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any, Callable

from .backends.base import BackendError, InstanceView, SqlBackend
from .config import EmulatorConfig
from .discard import Discarded
from .errors import ApiError, incorrect_state, invalid_parameter, missing_parameter
from .formats import iso_time, new_instance_id, new_order_id, new_task_id
from .idempotency import TokenScope
from .params import Params
from .product import ProductActions
from .rules import check_database_name, check_description, check_password, check_rds_account_name
from .state import CloudState, IpGroup, RdsAccount, RdsDatabase, RdsInstance, Transition
from .tags import create_tags
from .whitelist import MODES, modify_ip_group, parse_security_ips

log = logging.getLogger(__name__)

ENGINES = ("MySQL", "PostgreSQL", "SQLServer", "MariaDB")
ENGINE_VERSIONS = {
    "MySQL": ("5.5", "5.6", "5.7", "8.0"),
    "PostgreSQL": tuple(f"{v}.0" for v in range(10, 19)),
    "MariaDB": ("10.3", "10.6"),
    "SQLServer": (
        "2008r2",
        "2012",
        "2012_ent_ha",
        "2016_ent_ha",
        "2017_ent",
        "2019_std_ha",
        "2019_ent",
        "2022_ent",
    ),
}
_CLASS_PATTERNS = {
    "MySQL": r"(rds\.)?(mysql|mys\d*)\.[a-z0-9.]+",
    "PostgreSQL": r"(rds\.)?(pg|postgres)\.[a-z0-9.]+",
    "MariaDB": r"(rds\.)?mariadb\.[a-z0-9.]+",
    "SQLServer": r"(rds\.)?(mssql|mss\d*)\.[a-z0-9.]+",
}
BACKEND_OF_ENGINE = {"MySQL": "mysql", "MariaDB": "mysql", "PostgreSQL": "postgres"}
DEFAULT_PORT = {"MySQL": 3306, "MariaDB": 3306, "PostgreSQL": 5432, "SQLServer": 1433}
ID_PREFIX = {"MySQL": "rm", "MariaDB": "rdsm", "PostgreSQL": "pgm", "SQLServer": "rm"}
PRIVILEGES = {
    "MySQL": ("ReadWrite", "ReadOnly", "DDLOnly", "DMLOnly"),
    "MariaDB": ("ReadWrite", "ReadOnly", "DDLOnly", "DMLOnly"),
    "PostgreSQL": ("DBOwner",),
    "SQLServer": ("ReadWrite", "ReadOnly", "DBOwner"),
}
_PRIVILEGE_DETAIL = {
    "ReadWrite": "ALL PRIVILEGES",
    "ReadOnly": "SELECT,LOCK TABLES,SHOW VIEW,EXECUTE",
    "DDLOnly": "CREATE,DROP,INDEX,ALTER,CREATE TEMPORARY TABLES,LOCK TABLES,CREATE VIEW,SHOW VIEW,"
    "CREATE ROUTINE,ALTER ROUTINE,EVENT,TRIGGER",
    "DMLOnly": "SELECT,INSERT,UPDATE,DELETE,CREATE TEMPORARY TABLES,LOCK TABLES,EXECUTE,SHOW VIEW,"
    "EVENT,TRIGGER",
    "DBOwner": "CONNECT,CREATE,TEMPORARY;SCHEMA public: USAGE,CREATE;TABLES: ALL",
}
_MYSQL_CHARSETS = ("utf8", "gbk", "latin1", "utf8mb4")
_PG_ENCODINGS = ("UTF8", "LATIN1", "SQL_ASCII", "EUC_CN", "EUC_JP", "EUC_KR", "WIN1252")
STORAGE_TYPES = ("local_ssd", "cloud_ssd", "cloud_essd", "cloud_essd2", "cloud_essd3", "general_essd")
CATEGORIES = (
    "Basic", "HighAvailability", "AlwaysOn", "Finance", "cluster",
    "serverless_basic", "serverless_standard", "serverless_ha",
)  # fmt: skip
READ_ONLY_ACTIONS = frozenset(
    {
        "DescribeDBInstanceAttribute", "DescribeDBInstances", "DescribeAccounts", "DescribeDatabases",
        "DescribeDBInstanceIPArrayList", "DescribeDBInstanceNetInfo", "DescribeDBInstanceSSL",
        "ListTagResources", "DescribeRegions",
    }
)  # fmt: skip


def _not_found(instance_id: str) -> ApiError:
    return ApiError(
        "InvalidDBInstanceId.NotFound",
        f"The DBInstanceId provided does not exist in records: {instance_id}.",
        404,
    )


class RdsActions(ProductActions[RdsInstance]):
    """The RDS product; ``handle`` dispatches one action."""

    product = "rds"
    id_parameter = "DBInstanceId"
    ready_status = "Running"
    tag_resource_type = "ALIYUN::RDS::INSTANCE"

    def __init__(
        self,
        state: CloudState,
        backends: dict[str, SqlBackend],
        config: EmulatorConfig,
        clock: Callable[[], float],
    ) -> None:
        super().__init__(state, state.rds, config, clock, _not_found)
        self._backends = backends
        self._actions = {
            "CreateDBInstance": self.create_db_instance,
            "DescribeDBInstanceAttribute": self.describe_db_instance_attribute,
            "DescribeDBInstances": self.describe_db_instances,
            "DeleteDBInstance": self.delete_db_instance,
            "ModifyDBInstanceSpec": self.modify_db_instance_spec,
            "ModifyDBInstanceDeletionProtection": self.modify_deletion_protection,
            "ModifyDBInstanceDescription": self.modify_description,
            "CreateAccount": self.create_account,
            "DeleteAccount": self.delete_account,
            "ResetAccountPassword": self.reset_account_password,
            "DescribeAccounts": self.describe_accounts,
            "CreateDatabase": self.create_database,
            "DeleteDatabase": self.delete_database,
            "DescribeDatabases": self.describe_databases,
            "GrantAccountPrivilege": self.grant_account_privilege,
            "RevokeAccountPrivilege": self.revoke_account_privilege,
            "ModifySecurityIps": self.modify_security_ips,
            "DescribeDBInstanceIPArrayList": self.describe_ip_array_list,
            "DescribeDBInstanceNetInfo": self.describe_net_info,
            "ModifyDBInstanceSSL": self.modify_ssl,
            "DescribeDBInstanceSSL": self.describe_ssl,
            "TagResources": self.tag_resources,
            "UntagResources": self.untag_resources,
            "ListTagResources": self.list_tag_resources,
            "DescribeRegions": self.describe_regions,
        }

    def _backend(self, instance: RdsInstance) -> SqlBackend | None:
        return self._backends.get(instance.backend) if instance.backend else None

    def _view(self, instance: RdsInstance) -> InstanceView:
        others = {
            name
            for other in self._state.rds.values()
            if other.id != instance.id and other.backend == instance.backend
            for name in other.accounts
        }
        return InstanceView(
            databases=tuple(instance.databases),
            accounts=tuple(instance.accounts),
            privileged=tuple(a.name for a in instance.accounts.values() if a.type == "Super"),
            protected=frozenset(others),
        )

    def discard(self) -> Discarded:
        """Drop what each instance made on its backing server, and forget the instances.

        An instance being deleted lost its databases and accounts at ``DeleteDBInstance``
        already. One that a server fails to drop stays (its problem is reported), and the
        others are still dropped.
        """
        gone = Discarded()
        for instance in list(self._instances.values()):
            backend = self._backend(instance)
            if backend is not None and instance.status != "Deleting":
                view = self._view(instance)
                try:
                    backend.drop_instance(view)
                except BackendError as exc:
                    gone += Discarded(problems=(f"rds {instance.id}: {exc}",))
                    continue
                gone += Discarded(databases=view.databases, accounts=view.accounts)
            del self._instances[instance.id]
        return gone

    def _check_name_free(self, instance: RdsInstance, kind: str, name: str) -> None:
        """Names are global on a shared backing server (a documented deviation from the cloud)."""
        backend = self._backend(instance)
        if backend is None:
            return
        code = "InvalidAccountName.Duplicate" if kind == "account" else "InvalidDBName.Duplicate"
        for other in self._state.rds.values():
            names = other.accounts if kind == "account" else other.databases
            if other.id != instance.id and other.backend == instance.backend and name in names:
                raise ApiError(
                    code, f"Specified {kind} name is used by another instance on the backing server."
                )
        if backend.exists("account" if kind == "account" else "database", name):
            raise ApiError(code, f"Specified {kind} name already exists on the emulator's backing server.")

    def _check_class(self, engine: str, instance_class: str) -> None:
        if not re.fullmatch(_CLASS_PATTERNS[engine], instance_class):
            raise ApiError(
                "InvalidDBInstanceClass.NotFound", f"Specified DB instance class is not valid for {engine}."
            )

    # -- instances --------------------------------------------------------------------------

    def create_db_instance(self, p: Params, now: float) -> dict[str, Any]:
        token = TokenScope(self._state, "rds", "CreateDBInstance", p, "ClientToken")
        previous = token.previous()
        if previous is not None:
            return previous
        region = p.required("RegionId")
        engine = p.choice("Engine", ENGINES)
        version = p.choice("EngineVersion", ENGINE_VERSIONS[engine])
        instance_class = p.required("DBInstanceClass")
        self._check_class(engine, instance_class)
        if "DBInstanceStorage" not in p:
            raise missing_parameter("DBInstanceStorage")
        storage = p.integer("DBInstanceStorage", 0, minimum=5, maximum=32000)
        net_type = p.choice("DBInstanceNetType", ["Internet", "Intranet"])
        pay_type = p.choice("PayType", ["Postpaid", "Prepaid", "Serverless"])
        security_ips = parse_security_ips(p.required("SecurityIPList"))
        if pay_type == "Prepaid":
            p.required("Period")
            p.required("UsedTime")
        vpc_id = p.text("VPCId", max_length=64)
        vswitch_id = p.text("VSwitchId", max_length=64)
        network_type = p.choice("InstanceNetworkType", ["VPC", "Classic"], "VPC" if vpc_id else "Classic")
        if network_type == "VPC":
            p.required("VPCId")
            p.required("VSwitchId")
        storage_type = p.choice("DBInstanceStorageType", STORAGE_TYPES, "cloud_essd")
        category = p.choice("Category", CATEGORIES, "HighAvailability")
        description = p.text("DBInstanceDescription", max_length=255)
        check_description("DBInstanceDescription", description, max_length=255)
        tags = create_tags(p)
        deletion_protection = p.boolean("DeletionProtection", False)
        if p.boolean("DryRun", False):
            return {"DryRun": True, "DryRunResult": True}

        backend_kind = BACKEND_OF_ENGINE.get(engine)
        backend = self._backends.get(backend_kind) if backend_kind else None
        host, port = (backend.host, backend.port) if backend else ("127.0.0.1", DEFAULT_PORT[engine])
        instance = RdsInstance(
            id=new_instance_id(ID_PREFIX[engine]),
            region_id=region,
            engine=engine,
            engine_version=version,
            instance_class=instance_class,
            storage=storage,
            storage_type=storage_type,
            category=category,
            pay_type=pay_type,
            net_type=net_type,
            network_type=network_type,
            vpc_id=vpc_id,
            vswitch_id=vswitch_id,
            zone_id=p.text("ZoneId", f"{region}-a", max_length=64),
            description=description,
            deletion_protection=deletion_protection,
            resource_group_id=p.text("ResourceGroupId", max_length=64),
            order_id=new_order_id(),
            created=now,
            status="Creating",
            host=host,
            port=port,
            backend=backend_kind if backend else None,
            transition=Transition(due=now + self._config.create_seconds, then="Running"),
            ip_groups=[IpGroup("Default", security_ips)],
            tags=tags,
        )
        self._state.rds[instance.id] = instance
        log.info("rds %s created (%s %s)", instance.id, engine, version)
        response = {
            "DBInstanceId": instance.id,
            "OrderId": instance.order_id,
            "ConnectionString": host,
            "Port": str(port),
            "TagResult": bool(tags),
        }
        token.remember(response)
        return response

    def _attribute(self, instance: RdsInstance) -> dict[str, Any]:
        return {
            "DBInstanceId": instance.id,
            "DBInstanceStatus": instance.status,
            "DBInstanceDescription": instance.description,
            "Engine": instance.engine,
            "EngineVersion": instance.engine_version,
            "DBInstanceClass": instance.instance_class,
            "DBInstanceStorage": instance.storage,
            "DBInstanceStorageType": instance.storage_type,
            "Category": instance.category,
            "ConnectionString": instance.host,
            "Port": str(instance.port),
            "DBInstanceNetType": instance.net_type,
            "InstanceNetworkType": instance.network_type,
            "VpcId": instance.vpc_id,
            "VSwitchId": instance.vswitch_id,
            "ZoneId": instance.zone_id,
            "RegionId": instance.region_id,
            "PayType": instance.pay_type,
            "LockMode": "Unlock",
            "LockReason": "",
            "DBInstanceType": "Primary",
            "SecurityIPList": ",".join(next((g.ips for g in instance.ip_groups if g.name == "Default"), [])),
            "CreationTime": iso_time(instance.created),
            "ExpireTime": "",
            "MaxConnections": 2000,
            "DeletionProtection": instance.deletion_protection,
            "ResourceGroupId": instance.resource_group_id,
        }

    def describe_regions(self, p: Params, now: float) -> dict[str, Any]:
        """One ``RDSRegion`` per zone of the emulator's region, as the cloud lists them."""
        region, zones = self.region_zones()
        return {
            "Regions": {
                "RDSRegion": [
                    {
                        "RegionId": region,
                        "ZoneId": zone,
                        "LocalName": region,
                        "ZoneName": zone,
                        "RegionEndpoint": "rds.aliyuncs.com",
                    }
                    for zone in zones
                ]
            }
        }

    def describe_db_instance_attribute(self, p: Params, now: float) -> dict[str, Any]:
        return {"Items": {"DBInstanceAttribute": [self._attribute(self._instance(p))]}}

    def describe_db_instances(self, p: Params, now: float) -> dict[str, Any]:
        region = p.required("RegionId")
        ids = p.comma_list("DBInstanceId", max_items=100)
        status = p.optional("DBInstanceStatus")
        engine = p.optional("Engine")
        search = p.optional("SearchKey")
        vpc_id = p.optional("VpcId")
        wanted_tags = _parse_tags_filter(p.optional("Tags"))
        page_size = p.integer("PageSize", 30, minimum=1, maximum=100)
        page_number = p.integer("PageNumber", 1, minimum=1, maximum=10**6)
        rows = [
            i
            for i in self._state.rds.values()
            if i.region_id == region
            and (not ids or i.id in ids)
            and (status is None or i.status == status)
            and (engine is None or i.engine == engine)
            and (vpc_id is None or i.vpc_id == vpc_id)
            and (search is None or search in i.id or search in i.description)
            and all(i.tags.get(k) == v for k, v in wanted_tags.items())
        ]
        rows.sort(key=lambda i: (i.created, i.id))
        response: dict[str, Any] = {"TotalRecordCount": len(rows)}
        if "MaxResults" in p:  # token paging, the newer style
            max_results = p.integer("MaxResults", 30, minimum=1, maximum=100)
            token = p.optional("NextToken", "0") or "0"
            if not token.isdigit():
                raise invalid_parameter("NextToken")
            start = int(token)
            page = rows[start : start + max_results]
            more = start + max_results < len(rows)
            response["NextToken"] = str(start + max_results) if more else ""
        else:
            start = (page_number - 1) * page_size
            page = rows[start : start + page_size]
            response["PageNumber"] = page_number
        response["PageRecordCount"] = len(page)
        response["Items"] = {"DBInstance": [self._summary(i) for i in page]}
        return response

    def _summary(self, instance: RdsInstance) -> dict[str, Any]:
        attribute = self._attribute(instance)
        keys = (
            "DBInstanceId", "DBInstanceStatus", "DBInstanceDescription", "Engine", "EngineVersion",
            "DBInstanceClass", "DBInstanceStorageType", "Category", "ConnectionString", "DBInstanceNetType",
            "InstanceNetworkType", "VpcId", "VSwitchId", "ZoneId", "RegionId", "PayType", "LockMode",
            "LockReason", "DBInstanceType", "ExpireTime", "DeletionProtection", "ResourceGroupId",
        )  # fmt: skip
        summary = {k: attribute[k] for k in keys}
        summary["CreateTime"] = attribute["CreationTime"]
        return summary

    def delete_db_instance(self, p: Params, now: float) -> dict[str, Any]:
        instance = self._instance(p)
        if instance.deletion_protection:
            raise ApiError(
                "OperationDenied.DeletionProtection",
                "The instance has release protection enabled; disable it before deleting the instance.",
                403,
            )
        if instance.status != "Running":
            raise incorrect_state(instance.status)
        backend = self._backend(instance)
        if backend is not None:
            backend.drop_instance(self._view(instance))
        instance.status = "Deleting"
        instance.transition = Transition(due=now + self._config.delete_seconds, then=None)
        log.info("rds %s deleting", instance.id)
        return {"RegionId": instance.region_id}

    def modify_db_instance_spec(self, p: Params, now: float) -> dict[str, Any]:
        instance = self._instance(p)
        changes: dict[str, Any] = {}
        if "DBInstanceClass" in p:
            instance_class = p.required("DBInstanceClass")
            self._check_class(instance.engine, instance_class)
            changes["instance_class"] = instance_class
        if "DBInstanceStorage" in p:
            changes["storage"] = p.integer("DBInstanceStorage", 0, minimum=5, maximum=32000)
        if "DBInstanceStorageType" in p:
            changes["storage_type"] = p.choice("DBInstanceStorageType", STORAGE_TYPES)
        if "Category" in p:
            changes["category"] = p.choice("Category", CATEGORIES)
        if not changes:
            raise missing_parameter("DBInstanceClass")
        if "PayType" in p:
            p.choice("PayType", ["Postpaid", "Prepaid", "Serverless"])
        if instance.status != "Running":
            raise incorrect_state(instance.status)
        instance.status = "DBInstanceClassChanging"
        instance.transition = Transition(
            due=now + self._config.modify_seconds, then="Running", changes=changes
        )
        return {"DBInstanceId": instance.id, "OrderId": new_order_id()}

    def modify_deletion_protection(self, p: Params, now: float) -> dict[str, Any]:
        instance = self._instance(p)
        if "DeletionProtection" not in p:
            raise missing_parameter("DeletionProtection")
        instance.deletion_protection = p.boolean("DeletionProtection")
        return {}

    def modify_description(self, p: Params, now: float) -> dict[str, Any]:
        instance = self._instance(p)
        description = p.text("DBInstanceDescription", max_length=255)
        if not description:
            raise missing_parameter("DBInstanceDescription")
        check_description("DBInstanceDescription", description, max_length=255)
        instance.description = description
        return {}

    # -- accounts ---------------------------------------------------------------------------

    def create_account(self, p: Params, now: float) -> dict[str, Any]:
        instance = self._ready(p)
        name = p.required("AccountName")
        check_rds_account_name(instance.engine, instance.engine_version, name)
        password = p.required("AccountPassword")
        check_password(password)
        account_type = p.choice("AccountType", ["Normal", "Super"], "Normal")
        description = p.text("AccountDescription", max_length=256)
        check_description("AccountDescription", description)
        if name in instance.accounts:
            raise ApiError("InvalidAccountName.Duplicate", "Specified account name already exists.")
        if (
            account_type == "Super"
            and instance.engine in ("MySQL", "MariaDB", "SQLServer")
            and any(a.type == "Super" for a in instance.accounts.values())
        ):
            raise ApiError(
                "InvalidAccountType.Duplicate",
                f"A {instance.engine} instance can have only one privileged (Super) account.",
            )
        self._check_name_free(instance, "account", name)
        backend = self._backend(instance)
        if backend is not None:
            backend.create_account(self._view(instance), name, password, account_type == "Super")
        instance.accounts[name] = RdsAccount(name, account_type, description, now)
        return {}

    def _account(self, instance: RdsInstance, p: Params) -> RdsAccount:
        name = p.required("AccountName")
        account = instance.accounts.get(name)
        if account is None:
            raise ApiError("InvalidAccountName.NotFound", "Specified account does not exist.", 404)
        return account

    def delete_account(self, p: Params, now: float) -> dict[str, Any]:
        instance = self._ready(p)
        account = self._account(instance, p)
        backend = self._backend(instance)
        if backend is not None:
            backend.drop_account(self._view(instance), account.name)
        del instance.accounts[account.name]
        return {}

    def reset_account_password(self, p: Params, now: float) -> dict[str, Any]:
        instance = self._ready(p)
        account = self._account(instance, p)
        password = p.required("AccountPassword")
        check_password(password)
        backend = self._backend(instance)
        if backend is not None:
            backend.reset_password(account.name, password)
        return {}

    def describe_accounts(self, p: Params, now: float) -> dict[str, Any]:
        instance = self._instance(p)
        name = p.optional("AccountName")
        accounts = [a for a in instance.accounts.values() if name is None or a.name == name]
        return {
            "Accounts": {
                "DBInstanceAccount": [
                    {
                        "DBInstanceId": instance.id,
                        "AccountName": a.name,
                        "AccountStatus": "Available",
                        "AccountType": a.type,
                        "AccountDescription": a.description,
                        "PrivExceeded": "0",
                        "DatabasePrivileges": {
                            "DatabasePrivilege": [
                                {
                                    "DBName": db,
                                    "AccountPrivilege": privilege,
                                    "AccountPrivilegeDetail": _PRIVILEGE_DETAIL[privilege],
                                }
                                for db, privilege in sorted(a.privileges.items())
                            ]
                        },
                    }
                    for a in accounts
                ]
            }
        }

    # -- databases --------------------------------------------------------------------------

    def _check_charset(self, engine: str, charset: str) -> None:
        if engine in ("MySQL", "MariaDB"):
            valid = charset in _MYSQL_CHARSETS
        elif engine == "PostgreSQL":
            parts = charset.split(",")
            valid = len(parts) in (1, 3) and parts[0] in _PG_ENCODINGS and all(parts)
        else:
            valid = bool(re.fullmatch(r"[A-Za-z0-9_]+", charset))
        if not valid:
            raise ApiError(
                "InvalidCharacterSetName.Malformed", f"Specified character set is not valid for {engine}."
            )

    def create_database(self, p: Params, now: float) -> dict[str, Any]:
        instance = self._ready(p)
        name = p.required("DBName")
        check_database_name(name)
        charset = p.required("CharacterSetName")
        self._check_charset(instance.engine, charset)
        description = p.text("DBDescription", max_length=256)
        check_description("DBDescription", description)
        if name in instance.databases:
            raise ApiError("InvalidDBName.Duplicate", "Specified database name already exists.")
        self._check_name_free(instance, "database", name)
        backend = self._backend(instance)
        if backend is not None:
            backend.create_database(self._view(instance), name, charset)
        instance.databases[name] = RdsDatabase(name, charset, description, now)
        return {}

    def _database(self, instance: RdsInstance, name: str) -> RdsDatabase:
        database = instance.databases.get(name)
        if database is None:
            raise ApiError("InvalidDBName.NotFound", "Specified database does not exist.", 404)
        return database

    def delete_database(self, p: Params, now: float) -> dict[str, Any]:
        instance = self._ready(p)
        database = self._database(instance, p.required("DBName"))
        backend = self._backend(instance)
        if backend is not None:
            backend.drop_database(self._view(instance), database.name)
        del instance.databases[database.name]
        for account in instance.accounts.values():
            account.privileges.pop(database.name, None)
        return {}

    def describe_databases(self, p: Params, now: float) -> dict[str, Any]:
        instance = self._instance(p)
        name = p.optional("DBName")
        status = p.optional("DBStatus")
        rows = [
            d
            for d in instance.databases.values()
            if (name is None or d.name == name) and (status is None or status == "Running")
        ]
        return {
            "Databases": {
                "Database": [
                    {
                        "DBInstanceId": instance.id,
                        "DBName": d.name,
                        "DBStatus": "Running",
                        "CharacterSetName": d.charset,
                        "DBDescription": d.description,
                        "Engine": instance.engine,
                        "Accounts": {
                            "AccountPrivilegeInfo": [
                                {
                                    "Account": a.name,
                                    "AccountPrivilege": a.privileges[d.name],
                                    "AccountPrivilegeDetail": _PRIVILEGE_DETAIL[a.privileges[d.name]],
                                }
                                for a in instance.accounts.values()
                                if d.name in a.privileges
                            ]
                        },
                    }
                    for d in rows
                ]
            }
        }

    # -- privileges -------------------------------------------------------------------------

    def grant_account_privilege(self, p: Params, now: float) -> dict[str, Any]:
        instance = self._ready(p)
        account = self._account(instance, p)
        databases = p.comma_list("DBName", max_items=100)
        privileges = p.comma_list("AccountPrivilege", max_items=100)
        if not databases:
            raise missing_parameter("DBName")
        if not privileges:
            raise missing_parameter("AccountPrivilege")
        if len(databases) != len(privileges):
            raise invalid_parameter("AccountPrivilege", "Give one privilege per database, in the same order.")
        for privilege in privileges:
            if privilege not in PRIVILEGES[instance.engine]:
                raise ApiError(
                    "InvalidAccountPrivilege.Malformed",
                    f"Specified privilege is not valid for {instance.engine}: use "
                    + ", ".join(PRIVILEGES[instance.engine])
                    + ".",
                )
        for db in databases:
            self._database(instance, db)
        backend = self._backend(instance)
        for db, privilege in zip(databases, privileges, strict=True):
            if backend is not None:
                backend.grant(self._view(instance), account.name, db, privilege)
            account.privileges[db] = privilege
        return {}

    def revoke_account_privilege(self, p: Params, now: float) -> dict[str, Any]:
        instance = self._ready(p)
        account = self._account(instance, p)
        databases = p.comma_list("DBName", max_items=100)
        if not databases:
            raise missing_parameter("DBName")
        for db in databases:
            self._database(instance, db)
        backend = self._backend(instance)
        for db in databases:
            if backend is not None:
                backend.revoke(self._view(instance), account.name, db)
            account.privileges.pop(db, None)
        return {}

    # -- network ----------------------------------------------------------------------------

    def modify_security_ips(self, p: Params, now: float) -> dict[str, Any]:
        instance = self._ready(p)
        ips = parse_security_ips(p.required("SecurityIps"))
        mode = p.choice("ModifyMode", MODES, "Cover")
        group = p.text("DBInstanceIPArrayName", "Default", max_length=64)
        attribute = p.text("DBInstanceIPArrayAttribute", max_length=64)
        modify_ip_group(instance.ip_groups, group, ips, mode, attribute)
        return {"TaskId": new_task_id()}

    def describe_ip_array_list(self, p: Params, now: float) -> dict[str, Any]:
        instance = self._instance(p)
        return {
            "Items": {
                "DBInstanceIPArray": [
                    {
                        "DBInstanceIPArrayName": g.name,
                        "DBInstanceIPArrayAttribute": g.attribute,
                        "SecurityIPList": ",".join(g.ips),
                        "SecurityIPType": "IPv4",
                        "WhitelistNetworkType": "MIX",
                    }
                    for g in instance.ip_groups
                ]
            }
        }

    def describe_net_info(self, p: Params, now: float) -> dict[str, Any]:
        instance = self._instance(p)
        vpc = instance.network_type == "VPC"
        return {
            "InstanceNetworkType": instance.network_type,
            "SecurityIPMode": "normal",
            "DBInstanceNetInfos": {
                "DBInstanceNetInfo": [
                    {
                        "ConnectionString": instance.host,
                        "IPAddress": "127.0.0.1",
                        "IPType": "Private" if vpc else "Inner",
                        "Port": str(instance.port),
                        "VPCId": instance.vpc_id,
                        "VSwitchId": instance.vswitch_id,
                        "ConnectionStringType": "Normal",
                        "Upgradeable": "Disabled",
                    }
                ]
            },
        }

    def modify_ssl(self, p: Params, now: float) -> dict[str, Any]:
        instance = self._ready(p)
        enabled = p.choice("SSLEnabled", ["0", "1"], "1") == "1"
        if enabled:
            connection_string = p.required("ConnectionString")
            if connection_string != instance.host:
                raise invalid_parameter("ConnectionString", "It must be one of the instance's endpoints.")
        p.boolean("ForceEncryption", False)
        instance.ssl_previous = instance.ssl_on(now)
        instance.ssl_enabled = enabled
        instance.ssl_effective_at = now + self._config.ssl_seconds
        return {}

    def describe_ssl(self, p: Params, now: float) -> dict[str, Any]:
        instance = self._instance(p)
        on = instance.ssl_on(now)
        flags = ("on", "off") if instance.engine == "PostgreSQL" else ("Yes", "No")
        flag = flags[0] if on else flags[1]
        return {
            "DBInstanceId": instance.id,
            "SSLEnabled": flag,
            "ConnectionString": instance.host if on else "",
            "SSLExpireTime": iso_time(instance.ssl_effective_at + 365 * 86400) if on else "",
            "RequireUpdate": "No",
            "CAType": "aliyun" if on else "",
            "ServerCAUrl": "",
            "ForceEncryption": "0",
        }


def _parse_tags_filter(text: str | None) -> dict[str, str]:
    """DescribeDBInstances ``Tags``: ``{"k": "v"}`` or ``[{"Key": "k", "Value": "v"}]`` (≤ 5)."""
    if text is None:
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        raise invalid_parameter("Tags", 'Expected JSON such as {"key": "value"}.') from None
    if isinstance(data, dict) and all(isinstance(v, str) for v in data.values()):
        pairs = dict(data)
    elif isinstance(data, list) and all(isinstance(t, dict) and isinstance(t.get("Key"), str) for t in data):
        pairs = {t["Key"]: str(t.get("Value", "")) for t in data}
    else:
        raise invalid_parameter("Tags", 'Expected JSON such as {"key": "value"}.')
    if len(pairs) > 5:
        raise invalid_parameter("Tags", "At most 5 tags.")
    return pairs
