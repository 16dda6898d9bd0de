"""Binding and unbinding: one Redis account per binding, read-write or read-only.

Bind (one stage, ``account``): CreateAccount with ``RoleReadWrite``, or ``RoleReadOnly``
when the binding asked for ``read_only``, and a generated password; if the account
exists (an earlier run crashed before saving), ResetAccountPassword and
GrantAccountPrivilege take it over. A rotation (``predecessor_binding_id``) is simply a
new binding: a fresh account, while the predecessor's works until it is unbound. Unbind
deletes the account (Redis then closes its connections); an account or instance that is
already gone counts as deleted.

How clients log in depends on the engine: from Redis 6.0 on, as ``AUTH user password``
(``username`` and ``password`` in the credentials); on 4.0 and 5.0 Alibaba takes a custom
account as ``AUTH user:password``, so the credentials carry ``user:password`` as the
password and no ``username`` (which would make clients send the two-argument form).
"""

from __future__ import annotations

from typing import Any

from aliyun_brokers.common import binding as common_binding
from aliyun_brokers.common.stages import run_stages
from aliyun_brokers.redis.plans import has_acl_auth
from aliyun_brokers.redis.runtime import RedisRuntime
from openbroker_aliyun.broker import BindStepResult, Bound, InstanceStepResult
from openbroker_aliyun.credentials import (
    REDIS_ACCOUNT_MAX_LENGTH,
    endpoints_for,
    generate_account_name,
    generate_password,
    redis_credentials,
)
from openbroker_aliyun.domain import BindingOperation

__all__ = ["account_name", "bind", "binding_credentials", "unbind"]

_DOING = {"account": "Creating the binding's Redis account"}


def account_name(binding_id: str) -> str:
    """The Redis account of a binding (derived, so a retried bind finds it again)."""
    return generate_account_name("osb_", binding_id, max_length=REDIS_ACCOUNT_MAX_LENGTH)


def bind(rt: RedisRuntime, op: BindingOperation) -> BindStepResult:
    """One bind step: create the binding's account, then hand out its credentials."""
    details, instance = op.binding.details, op.instance.details

    def finish() -> BindStepResult:
        host, port = instance["host"], int(instance["port"])
        credentials = binding_credentials(
            host=host,
            port=port,
            account=details["account"],
            password=details["password"],
            engine_version=instance["engine_version"],
            tls=bool(instance.get("tls")),
        )
        return Bound(credentials=credentials, endpoints=endpoints_for(host, port))

    return run_stages(rt, op, details, {"account": _account}, _DOING, finish, first="account")


def binding_credentials(
    *, host: str, port: int, account: str, password: str, engine_version: str, tls: bool
) -> dict[str, Any]:
    """The credentials of a binding's account (see the module docstring for the AUTH forms)."""
    if has_acl_auth(engine_version):
        return redis_credentials(host=host, port=port, username=account, password=password, tls=tls)
    return redis_credentials(host=host, port=port, username=None, password=f"{account}:{password}", tls=tls)


def unbind(rt: RedisRuntime, op: BindingOperation) -> InstanceStepResult:
    """Delete the binding's account (also for a binding whose bind never finished)."""
    return common_binding.unbind(
        rt, op, derived_account=lambda: account_name(op.binding.id), account_noun="Redis account"
    )


def _account(rt: RedisRuntime, op: BindingOperation, details: dict[str, Any]) -> str | BindStepResult:
    details["account"] = account_name(op.binding.id)
    details["read_only"] = bool(op.parameters.get("read_only", False))
    # A new password on every run of this stage: if an earlier run created the account
    # and crashed, ensure_account resets it to this one.
    details["password"] = generate_password()
    rt.api.ensure_account(
        op.instance.details["instance_id"],
        details["account"],
        details["password"],
        read_only=details["read_only"],
    )
    return "done"
