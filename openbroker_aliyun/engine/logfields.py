"""The engine's logger and the structured fields it logs with.

Fields: ``instance_id``, ``binding_id``, ``operation``, ``kind``, ``outcome``. Never
parameters, details or credentials.
"""

from __future__ import annotations

import logging
from typing import Any

from openbroker_aliyun.store import StoredOperation

log = logging.getLogger("openbroker_aliyun.engine")


def fields(
    *,
    instance_id: str | None = None,
    binding_id: str | None = None,
    operation: str | None = None,
    kind: str | None = None,
    outcome: str | None = None,
    **more: Any,
) -> dict[str, Any]:
    """The ``extra`` of a log call, with empty fields left out."""
    out = {
        "instance_id": instance_id,
        "binding_id": binding_id,
        "operation": operation,
        "kind": kind,
        "outcome": outcome,
        **more,
    }
    return {key: value for key, value in out.items() if value is not None}


def operation_fields(op: StoredOperation, **more: Any) -> dict[str, Any]:
    """``fields`` naming an operation: its instance, binding, id and kind."""
    return fields(
        instance_id=op.instance_id, binding_id=op.binding_id, operation=op.id, kind=str(op.kind), **more
    )


def safe_error(error: BaseException) -> dict[str, Any]:
    """How to log an exception without its message, which may hold a secret.

    The type and where it was raised (file, line, function of the innermost frame) are
    enough to find the cause in the code.
    """
    where = None
    trace = error.__traceback__
    while trace is not None and trace.tb_next is not None:
        trace = trace.tb_next
    if trace is not None:
        code = trace.tb_frame.f_code
        where = f"{code.co_filename}:{trace.tb_lineno} in {code.co_name}"
    return {"error_type": f"{type(error).__module__}.{type(error).__qualname__}", "error_at": where}
