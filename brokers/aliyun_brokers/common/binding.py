"""What every Alibaba broker's unbind does: delete the binding's own account.

Each binding gets an account of its own on the instance (the product's binding.py makes
it), so unbinding deletes that account; the product's service then closes the account's
connections. An account or instance that is already gone counts as deleted, and a
binding whose bind never finished is unbound all the same.
"""

from __future__ import annotations

from typing import Any, Callable

from aliyun_brokers.common.failures import fail_or_retry
from aliyun_brokers.common.progress import BindingProgress, CloudProgress
from aliyun_brokers.common.runtime import CloudRuntime
from openbroker_aliyun.aliyun.port import AliyunError
from openbroker_aliyun.broker import Done, InstanceStepResult

__all__ = ["unbind"]


def unbind(
    rt: CloudRuntime[Any, Any, Any, Any],
    instance: CloudProgress,
    binding: BindingProgress,
    *,
    derived_account: Callable[[], str],
    account_noun: str,
) -> InstanceStepResult:
    """Delete the binding's account: the one its bind recorded, else ``derived_account()``.

    ``account_noun`` names it in descriptions ("Redis account").
    """
    instance_id = instance.recorded_id
    if not instance_id:
        return Done(description=f"The service instance has no {rt.kind.noun}; nothing to delete.")
    account = binding.account or derived_account()
    try:
        deleted = rt.api.delete_account(instance_id, account)
    except AliyunError as error:
        fail_or_retry(error, f"Deleting the binding's {account_noun}")
    return Done(
        description=f"The binding's {account_noun} was deleted."
        if deleted
        else f"The binding's {account_noun} was already gone."
    )
