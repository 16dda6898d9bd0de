"""Pieces shared by the instance and binding decisions."""

from __future__ import annotations

from typing import Any, Callable

from openbroker_aliyun.engine.logfields import fields, log, safe_error
from openbroker_aliyun.errors import BrokerError, ConcurrencyError, InternalError
from openbroker_aliyun.store import StoredOperation

#: Decide, validate, decide again: the second decision may find the first changed by a
#: concurrent request; a few rounds settle it.
DECISION_ROUNDS = 4


class NeedsValidation:
    """A decision's answer: record a new operation, once the broker has validated it."""


NEEDS_VALIDATION = NeedsValidation()


def in_flight_answer(op: StoredOperation | None, accepts_incomplete: bool, what: str) -> str:
    """The operation to answer 202 with, for a repeat of a request whose operation runs.

    Without ``accepts_incomplete`` a 202 would be invalid: 422 ``ConcurrencyError``.
    """
    if op is None or not op.in_progress:  # pragma: no cover - the status says in flight
        raise ConcurrencyError(f"{what} is changing; retry later.")
    if not accepts_incomplete:
        raise ConcurrencyError(f"{what} is in progress; retry with accepts_incomplete=true or later.")
    return op.id


def broker_check(check: Callable[..., None], *args: Any) -> None:
    """Run one of the broker's ``validate_*`` hooks.

    Its ``BrokerError`` (a 4xx, say) is the answer; any other exception is a failure of
    the broker, answered 500 without its message (which may hold a secret) and logged.
    """
    try:
        check(*args)
    except BrokerError:
        raise
    except Exception as error:
        log.error("the broker's request check failed", extra=fields(**safe_error(error)))
        raise InternalError("The broker could not check this request; its log has details.") from None
