"""Binding and unbinding: one Redis account per binding, read-write or read-only.

Bind (one stage, ``account``): CreateAccount with ``RoleReadWrite``, or ``RoleReadOnly``
when the binding asked for ``read_only``, and a generated password; if the account
exists (an earlier run crashed before saving), ResetAccountPassword and
GrantAccountPrivilege take it over. A rotation (``predecessor_binding_id``) is simply a
new binding: a fresh account, while the predecessor's works until it is unbound. Unbind
(the shared ``CloudBroker.unbind``) deletes the account (Redis then closes its
connections); an account or instance that is already gone counts as deleted.

How clients log in depends on the engine: from Redis 6.0 on, as ``AUTH user password``
(``username`` and ``password`` in the credentials); on 4.0 and 5.0 Alibaba takes a custom
account as ``AUTH user:password``, so the credentials carry ``user:password`` as the
password and no ``username`` (which would make clients send the two-argument form).
"""

from __future__ import annotations

from typing import Any

from aliyun_brokers.common.broker import BindSteps
from aliyun_brokers.common.credentials import REDIS_ACCOUNT_MAX_LENGTH, generate_password, redis_credentials
from aliyun_brokers.common.progress import Binding, known
from aliyun_brokers.common.stages import StageTable
from aliyun_brokers.redis.plans import has_acl_auth
from aliyun_brokers.redis.progress import RedisBinding, RedisProgress
from aliyun_brokers.redis.runtime import RedisRuntime
from openbroker_aliyun.broker import BindStepResult, Bound
from openbroker_aliyun.credentials import endpoints_for, generate_account_name
from openbroker_aliyun.domain import BindingOperation

__all__ = ["BIND", "account_name", "binding_credentials"]

State = Binding[RedisProgress, RedisBinding]


def account_name(binding_id: str) -> str:
    """The Redis account of a binding (derived, so a retried bind finds it again)."""
    return generate_account_name("osb_", binding_id, max_length=REDIS_ACCOUNT_MAX_LENGTH)


def _account_of(rt: RedisRuntime, op: BindingOperation, instance: RedisProgress) -> str:
    """``account_name`` of the operation's binding."""
    return account_name(op.binding.id)


def _bound(rt: RedisRuntime, op: BindingOperation, state: State) -> Bound:
    """The credentials of a finished bind."""
    instance, binding = state.instance, state.binding
    host, port = known(instance.host, "host"), int(known(instance.port, "port"))
    credentials = binding_credentials(
        host=host,
        port=port,
        account=known(binding.account, "account"),
        password=known(binding.password, "password"),
        engine_version=known(instance.engine_version, "engine_version"),
        tls=bool(instance.tls),
    )
    return Bound(credentials=credentials, endpoints=endpoints_for(host, port))


def binding_credentials(
    *, host: str, port: int, account: str, password: str, engine_version: str, tls: bool
) -> dict[str, Any]:
    """The credentials of a binding's account (see the module docstring for the AUTH forms)."""
    if has_acl_auth(engine_version):
        return redis_credentials(host=host, port=port, username=account, password=password, tls=tls)
    return redis_credentials(host=host, port=port, username=None, password=f"{account}:{password}", tls=tls)


def _account(rt: RedisRuntime, op: BindingOperation, state: State) -> str | BindStepResult:
    binding = state.binding
    binding.account = account_name(op.binding.id)
    binding.read_only = bool(op.parameters.get("read_only", False))
    # A new password on every run of this stage: if an earlier run created the account
    # and crashed, ensure_account resets it to this one.
    binding.password = generate_password()
    rt.api.ensure_account(
        state.instance.cloud_id, binding.account, binding.password, read_only=binding.read_only
    )
    return "done"


#: The bind: its one stage in the binding's ``step``, its credentials, and the account unbind deletes.
BIND: BindSteps[RedisRuntime, RedisProgress, RedisBinding] = BindSteps(
    stages=StageTable(
        first="account",
        stages={
            "account": (_account, "Creating the binding's Redis account"),
        },
    ),
    bound=_bound,
    account=_account_of,
    account_noun="Redis account",
)
