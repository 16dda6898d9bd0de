"""Lean reads for the hot request paths: one statement each, only the columns used.

Platforms poll last_operation every few seconds for every operation in flight, and ask
GET instance and GET binding often enough: these statements answer them in one round
trip without reading (or decrypting) a column they do not show. Built once at import:
SQLAlchemy then reuses their compiled form; the values go in as bound parameters.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, FromClause, Select, and_, bindparam, select

from openbroker_aliyun.store.tables import bindings, instances, operations

#: The operation columns of a lookup, in the order ``RowMapper.operation_summary`` reads.
OPERATION_SUMMARY_COLUMNS = (
    operations.c.id.label("op_id"),
    operations.c.instance_id.label("op_instance_id"),
    operations.c.binding_id.label("op_binding_id"),
    operations.c.kind.label("op_kind"),
    operations.c.state.label("op_state"),
    operations.c.description.label("op_description"),
    operations.c.instance_usable.label("op_instance_usable"),
    operations.c.update_repeatable.label("op_update_repeatable"),
    operations.c.retry_after.label("op_retry_after"),
)


def _operation_lookup(*, of_binding: bool, by_token: bool) -> Select[tuple[object, ...]]:
    """The instance (and binding) row joined to the operation last_operation reports.

    The first column tells whether the binding exists (the instance's id when no
    binding is asked for); no row at all means no instance. Parameters:
    ``instance_id``, ``binding_id`` (binding lookups), ``operation`` (token lookups).
    """
    source: FromClause = instances
    found: ColumnElement[object] = instances.c.id
    current: ColumnElement[object] = instances.c.operation_id
    if of_binding:
        source = source.outerjoin(
            bindings,
            and_(bindings.c.instance_id == instances.c.id, bindings.c.id == bindparam("binding_id")),
        )
        found, current = bindings.c.id, bindings.c.operation_id
    wanted = bindparam("operation") if by_token else current
    return (
        select(found.label("found"), *OPERATION_SUMMARY_COLUMNS)
        .select_from(source.outerjoin(operations, operations.c.id == wanted))
        .where(instances.c.id == bindparam("instance_id"))
    )


#: (of a binding, by token) -> statement.
OPERATION_LOOKUPS = {
    (of_binding, by_token): _operation_lookup(of_binding=of_binding, by_token=by_token)
    for of_binding in (False, True)
    for by_token in (False, True)
}

#: GET instance: the visible columns and the current operation's kind and state.
INSTANCE_SNAPSHOT = (
    select(
        instances.c.id,
        instances.c.status,
        instances.c.service_id,
        instances.c.plan_id,
        instances.c.dashboard_url,
        instances.c.parameters,
        instances.c.maintenance_info_version,
        instances.c.metadata,
        operations.c.kind.label("op_kind"),
        operations.c.state.label("op_state"),
    )
    .select_from(instances.outerjoin(operations, operations.c.id == instances.c.operation_id))
    .where(instances.c.id == bindparam("instance_id"))
)

#: GET binding: status, parameters and the stored result of the bind step.
BINDING_SNAPSHOT = select(
    bindings.c.instance_id,
    bindings.c.id,
    bindings.c.status,
    bindings.c.parameters,
    bindings.c.result,
).where(bindings.c.instance_id == bindparam("instance_id"), bindings.c.id == bindparam("binding_id"))
