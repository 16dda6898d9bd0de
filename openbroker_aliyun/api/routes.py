"""The OSB route table and its handlers.

Each handler only translates: wire (already authenticated, version-checked and parsed
by the middleware) to a domain request, one engine call, domain response to JSON.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, Response, request

from openbroker_aliyun.api import request_state, responses, schemas
from openbroker_aliyun.api.errors import json_response
from openbroker_aliyun.api.extension import api_state
from openbroker_aliyun.domain import RequestInfo
from openbroker_aliyun.engine.protocol import BrokerEngine

INSTANCE = "/v2/service_instances/<instance_id>"
BINDING = INSTANCE + "/service_bindings/<binding_id>"


def _engine() -> BrokerEngine:
    return api_state().engine


def _info(*, with_flag: bool) -> RequestInfo:
    flag = schemas.accepts_incomplete(request.args) if with_flag else False
    return request_state.current().info(accepts_incomplete=flag)


def _track(instance_id: str, binding_id: str | None = None, operation: str | None = None) -> None:
    """Note the ids for the request log line."""
    state = request_state.current()
    state.instance_id, state.binding_id = instance_id, binding_id
    if operation is not None:
        state.operation = operation


# ------------------------------------------------------------------------ catalog


def catalog() -> Response:
    state = api_state()
    response = Response(state.catalog_body, status=200, mimetype="application/json")
    response.set_etag(state.catalog_etag)
    response.last_modified = state.catalog_since
    # Answers 304 (no body) to a matching If-None-Match or a fresh If-Modified-Since.
    response.make_conditional(request)
    return response


# ---------------------------------------------------------------------- instances


def provision(instance_id: str) -> Response:
    _track(instance_id)
    body = request_state.current().body
    result = _engine().provision(schemas.provision_request(instance_id, body, _info(with_flag=True)))
    _track(instance_id, operation=result.operation)
    return json_response(responses.instance_body(result), result.status)


def fetch_instance(instance_id: str) -> Response:
    _track(instance_id)
    view = _engine().fetch_instance(
        schemas.fetch_instance_request(instance_id, request.args, _info(with_flag=False))
    )
    return json_response(responses.instance_view_body(view), 200)


def update(instance_id: str) -> Response:
    _track(instance_id)
    body = request_state.current().body
    result = _engine().update(schemas.update_request(instance_id, body, _info(with_flag=True)))
    _track(instance_id, operation=result.operation)
    return json_response(responses.instance_body(result), result.status)


def deprovision(instance_id: str) -> Response:
    _track(instance_id)
    result = _engine().deprovision(
        schemas.deprovision_request(instance_id, request.args, _info(with_flag=True))
    )
    _track(instance_id, operation=result.operation)
    return json_response(responses.delete_body(result), result.status)


def instance_last_operation(instance_id: str) -> Response:
    _track(instance_id)
    asked = schemas.last_operation_request(instance_id, None, request.args, _info(with_flag=False))
    _track(instance_id, operation=asked.operation)
    lo = _engine().last_operation(asked)
    return json_response(responses.last_operation_body(lo), 200, responses.retry_after_header(lo))


# ----------------------------------------------------------------------- bindings


def bind(instance_id: str, binding_id: str) -> Response:
    _track(instance_id, binding_id)
    body = request_state.current().body
    result = _engine().bind(schemas.bind_request(instance_id, binding_id, body, _info(with_flag=True)))
    _track(instance_id, binding_id, operation=result.operation)
    return json_response(responses.binding_body(result), result.status)


def fetch_binding(instance_id: str, binding_id: str) -> Response:
    _track(instance_id, binding_id)
    view = _engine().fetch_binding(
        schemas.fetch_binding_request(instance_id, binding_id, request.args, _info(with_flag=False))
    )
    return json_response(responses.binding_view_body(view), 200)


def unbind(instance_id: str, binding_id: str) -> Response:
    _track(instance_id, binding_id)
    result = _engine().unbind(
        schemas.unbind_request(instance_id, binding_id, request.args, _info(with_flag=True))
    )
    _track(instance_id, binding_id, operation=result.operation)
    return json_response(responses.delete_body(result), result.status)


def binding_last_operation(instance_id: str, binding_id: str) -> Response:
    _track(instance_id, binding_id)
    asked = schemas.last_operation_request(instance_id, binding_id, request.args, _info(with_flag=False))
    _track(instance_id, binding_id, operation=asked.operation)
    lo = _engine().last_operation(asked)
    return json_response(responses.last_operation_body(lo), 200, responses.retry_after_header(lo))


# ---------------------------------------------------------------------- the table

Handler = Callable[..., Response]

ROUTES: tuple[tuple[str, str, Handler], ...] = (
    ("GET", "/v2/catalog", catalog),
    ("PUT", INSTANCE, provision),
    ("GET", INSTANCE, fetch_instance),
    ("PATCH", INSTANCE, update),
    ("DELETE", INSTANCE, deprovision),
    ("GET", INSTANCE + "/last_operation", instance_last_operation),
    ("PUT", BINDING, bind),
    ("GET", BINDING, fetch_binding),
    ("DELETE", BINDING, unbind),
    ("GET", BINDING + "/last_operation", binding_last_operation),
)


def install(app: Flask) -> None:
    """Add the ten OSB endpoints to ``app``."""
    for method, rule, handler in ROUTES:
        app.add_url_rule(rule, endpoint=f"osb.{handler.__name__}", view_func=handler, methods=[method])
