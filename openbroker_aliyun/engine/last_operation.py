"""last_operation for instances and bindings, answered from the operation records.

Final states are remembered: a finished async delete keeps answering ``succeeded`` (from
the tombstone) until the retention time purges it. Decision where the spec leaves a
choice: an ``operation`` token that is not an operation of that instance (or binding)
is 400, a malformed request; an unknown instance or binding is 404.

Platforms poll this every few seconds for every operation in flight, so it is one
read-only statement (``Store.operation_lookup``) that reads no secret column: no lock,
no decryption, and no cache (every answer is the database's at that moment).
"""

from __future__ import annotations

import math

from openbroker_aliyun.domain import LastOperation, LastOperationRequest, OperationKind
from openbroker_aliyun.engine.parts import EngineParts
from openbroker_aliyun.engine.resolve import require
from openbroker_aliyun.errors import BadRequest, NotFound
from openbroker_aliyun.store import OperationSummary


def last_operation(parts: EngineParts, request: LastOperationRequest) -> LastOperation:
    require(instance_id=request.instance_id)
    if request.binding_id is not None:
        require(binding_id=request.binding_id)
    found = parts.store.operation_lookup(request.instance_id, request.binding_id, request.operation)
    if not found.instance_found:
        raise NotFound(f"Instance {request.instance_id} does not exist.")
    resource = f"instance {request.instance_id}"
    if request.binding_id is not None:
        if not found.binding_found:
            raise NotFound(f"Binding {request.binding_id} of instance {request.instance_id} does not exist.")
        resource = f"binding {request.binding_id}"
    op = found.operation
    if op is None or op.instance_id != request.instance_id or op.binding_id != request.binding_id:
        if request.operation:
            raise BadRequest(f"operation {request.operation!r} is not an operation of {resource}.")
        raise NotFound(f"There is no operation on {resource}.")  # pragma: no cover
    return _view(op)


def _view(op: OperationSummary) -> LastOperation:
    failed_instance_op = op.state == op.state.FAILED and op.kind in (
        OperationKind.UPDATE,
        OperationKind.DEPROVISION,
    )
    return LastOperation(
        state=op.state,
        description=op.description,
        # Only where the spec defines them: instance_usable on update and deprovision,
        # update_repeatable on update.
        instance_usable=op.instance_usable if failed_instance_op else None,
        update_repeatable=op.update_repeatable
        if failed_instance_op and op.kind == OperationKind.UPDATE
        else None,
        retry_after=max(1, math.ceil(op.retry_after or 1)) if op.in_progress else None,
    )
