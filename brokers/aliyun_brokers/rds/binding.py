"""Binding and unbinding: one normal account per binding, granted on the instance's database.

Bind stages, in the binding's ``details["step"]``:

    account   CreateAccount (Normal) with a generated password; if the account exists
              (an earlier run crashed before saving), ResetAccountPassword takes it over
    grant     GrantAccountPrivilege: ReadWrite (MySQL) / DBOwner (PostgreSQL)
    share     PostgreSQL: join the account to the database's owner role (sql_engines.py)

A rotation (``predecessor_binding_id``) is simply a new binding: a fresh account, while
the predecessor's keeps working until it is unbound. Unbind deletes the account; an
account or instance that is already gone counts as deleted.
"""

from __future__ import annotations

from typing import Any

from aliyun_brokers.common import binding as common_binding
from aliyun_brokers.common.stages import run_stages
from aliyun_brokers.rds.runtime import RdsRuntime
from aliyun_brokers.rds.sql_engines import Login
from openbroker_aliyun.broker import BindStepResult, Bound, InstanceStepResult
from openbroker_aliyun.credentials import database_credentials, endpoints_for, generate_password
from openbroker_aliyun.domain import BindingOperation

__all__ = ["bind", "unbind"]

_DOING = {
    "account": "Creating the binding's database account",
    "grant": "Granting the binding's account rights on the database",
    "share": "Giving the binding's account the database's shared owner role",
}


def bind(rt: RdsRuntime, op: BindingOperation) -> BindStepResult:
    """One bind step: run stages until one has to wait, or the credentials are ready."""

    def finish() -> BindStepResult:
        return _bound(rt, op)

    return run_stages(rt, op, op.binding.details, _STAGES, _DOING, finish, first="account")


def unbind(rt: RdsRuntime, op: BindingOperation) -> InstanceStepResult:
    """Delete the binding's account (also for a binding whose bind never finished)."""
    return common_binding.unbind(
        rt,
        op,
        derived_account=lambda: rt.profile(op.instance.details).binding_account(op.binding.id),
        account_noun="database account",
    )


def _account(rt: RdsRuntime, op: BindingOperation, details: dict[str, Any]) -> str | BindStepResult:
    instance = op.instance.details
    details["account"] = rt.profile(instance).binding_account(op.binding.id)
    # A new password on every run of this stage: if an earlier run created the account
    # and crashed, ensure_account resets it to this one.
    details["password"] = generate_password()
    rt.api.ensure_account(
        instance["db_instance_id"], details["account"], details["password"], privileged=False
    )
    return "grant"


def _grant(rt: RdsRuntime, op: BindingOperation, details: dict[str, Any]) -> str | BindStepResult:
    instance = op.instance.details
    profile = rt.profile(instance)
    rt.api.grant(
        instance["db_instance_id"], details["account"], instance["database"], profile.binding_privilege
    )
    return "share" if rt.uses_manager(instance) and instance.get("owner_role") else "done"


def _share(rt: RdsRuntime, op: BindingOperation, details: dict[str, Any]) -> str | BindStepResult:
    instance = op.instance.details
    account = Login(
        host=instance["host"],
        port=int(instance["port"]),
        username=details["account"],
        password=details["password"],
        database=instance["database"],
        tls=bool(instance.get("tls")),
    )
    # SqlError propagates: transient (e.g. the account is not usable yet).
    rt.profile(instance).sql.prepare_binding(rt.manager_login(instance), account, instance["owner_role"])
    return "done"


def _bound(rt: RdsRuntime, op: BindingOperation) -> Bound:
    details, instance = op.binding.details, op.instance.details
    host, port = instance["host"], int(instance["port"])
    credentials: dict[str, Any] = database_credentials(
        engine=rt.profile(instance).credential_type,
        host=host,
        port=port,
        username=details["account"],
        password=details["password"],
        database=instance["database"],
        tls=bool(instance.get("tls")),
        jdbc=rt.settings.jdbc_url,
    )
    return Bound(credentials=credentials, endpoints=endpoints_for(host, port))


_STAGES = {"account": _account, "grant": _grant, "share": _share}
