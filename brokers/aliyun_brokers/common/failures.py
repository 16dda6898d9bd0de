"""How an Alibaba error ends a broker step: retried later, or a failed operation.

Transient errors (throttling, 5xx, transport) and "the instance is busy" propagate, so
the framework's engine runs the step again with backoff until the plan's
``maximum_polling_duration``. Everything else (quota, balance, permissions, an
unavailable instance class, ...) ends the operation as ``failed`` with a description a
person can act on, built by the transport's classification: never the raw SDK text alone,
never a secret.
"""

from __future__ import annotations

from typing import NoReturn

from openbroker_aliyun.aliyun.errors import ErrorCategory, classify, describe_for_user
from openbroker_aliyun.aliyun.port import AliyunError
from openbroker_aliyun.errors import OperationFailed

__all__ = ["fail_or_retry", "is_retryable"]


def is_retryable(error: AliyunError) -> bool:
    """Whether running the step again later may succeed without anyone changing anything."""
    category = classify(error)
    return category.transient or category is ErrorCategory.STATE


def fail_or_retry(
    error: AliyunError,
    doing: str,
    *,
    instance_usable: bool | None = None,
    update_repeatable: bool | None = None,
) -> NoReturn:
    """Re-raise a retryable ``error``; otherwise end the operation with what went wrong.

    ``doing`` says what the broker was doing, e.g. "Creating the RDS instance".
    """
    if is_retryable(error):
        raise error
    raise OperationFailed(
        f"{doing} failed. {describe_for_user(error)}",
        instance_usable=instance_usable,
        update_repeatable=update_repeatable,
    ) from None
