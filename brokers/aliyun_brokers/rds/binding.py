"""Binding and unbinding: one normal account per binding, granted on the instance's database.

Bind stages, in the binding's ``details["step"]`` (a ``BindingProgress``):

    account   CreateAccount (Normal) with a generated password; if the account exists
              (an earlier run crashed before saving), ResetAccountPassword takes it over
    grant     GrantAccountPrivilege: ReadWrite (MySQL) / DBOwner (PostgreSQL)
    share     PostgreSQL: join the account to the database's owner role (sql_engines.py)

A rotation (``predecessor_binding_id``) is simply a new binding: a fresh account, while
the predecessor's keeps working until it is unbound. Unbind (the shared
``CloudBroker.unbind``) deletes the account; an
account or instance that is already gone counts as deleted.
"""

from __future__ import annotations

from typing import Any

from aliyun_brokers.common.broker import BindSteps
from aliyun_brokers.common.credentials import database_credentials, generate_password
from aliyun_brokers.common.progress import Binding, BindingProgress, known
from aliyun_brokers.common.stages import StageTable
from aliyun_brokers.rds.progress import RdsProgress
from aliyun_brokers.rds.runtime import RdsRuntime
from aliyun_brokers.rds.sql_engines import Login
from aliyun_brokers.rds.wire import GrantAccountPrivilege
from openbroker_aliyun.broker import BindStepResult, Bound
from openbroker_aliyun.credentials import endpoints_for
from openbroker_aliyun.domain import BindingOperation

__all__ = ["BIND"]

State = Binding[RdsProgress, BindingProgress]


def _account_of(rt: RdsRuntime, op: BindingOperation, instance: RdsProgress) -> str:
    """The account of a binding (derived from its id, so a retried bind finds it again)."""
    return rt.profile(instance).binding_account(op.binding.id)


def _account(rt: RdsRuntime, op: BindingOperation, state: State) -> str | BindStepResult:
    binding = state.binding
    binding.account = _account_of(rt, op, state.instance)
    # A new password on every run of this stage: if an earlier run created the account
    # and crashed, ensure_account resets it to this one.
    binding.password = generate_password()
    rt.api.ensure_account(state.instance.cloud_id, binding.account, binding.password, privileged=False)
    return "grant"


def _grant(rt: RdsRuntime, op: BindingOperation, state: State) -> str | BindStepResult:
    instance = state.instance
    rt.api.grant(
        GrantAccountPrivilege(
            instance_id=instance.cloud_id,
            account_name=known(state.binding.account, "account"),
            db_name=known(instance.database, "database"),
            account_privilege=rt.profile(instance).binding_privilege,
        )
    )
    return "share" if rt.uses_manager(instance) and instance.owner_role else "done"


def _share(rt: RdsRuntime, op: BindingOperation, state: State) -> str | BindStepResult:
    instance = state.instance
    account = _binding_login(rt, state)
    # SqlError propagates: transient (e.g. the account is not usable yet).
    owner_role = known(instance.owner_role, "owner_role")
    rt.profile(instance).sql.prepare_binding(rt.manager_login(instance), account, owner_role)
    return "done"


def _binding_login(rt: RdsRuntime, state: State) -> Login:
    binding = state.binding
    return rt.login(state.instance, known(binding.account, "account"), known(binding.password, "password"))


def _bound(rt: RdsRuntime, op: BindingOperation, state: State) -> Bound:
    """The credentials of a finished bind."""
    login = _binding_login(rt, state)
    credentials: dict[str, Any] = database_credentials(
        engine=rt.profile(state.instance).credential_type,
        host=login.host,
        port=login.port,
        username=login.username,
        password=login.password,
        database=login.database,
        tls=login.tls,
        jdbc=rt.settings.jdbc_url,
    )
    return Bound(credentials=credentials, endpoints=endpoints_for(login.host, login.port))


#: The bind: its stages in the binding's ``step``, its credentials, and the account unbind deletes.
BIND: BindSteps[RdsRuntime, RdsProgress, BindingProgress] = BindSteps(
    stages=StageTable(
        first="account",
        stages={
            "account": (_account, "Creating the binding's database account"),
            "grant": (_grant, "Granting the binding's account rights on the database"),
            "share": (_share, "Giving the binding's account the database's shared owner role"),
        },
    ),
    bound=_bound,
    account=_account_of,
    account_noun="database account",
)
