"""The OSB route table and its handlers.

Each handler only translates: the request (already authenticated, version-checked and
parsed by the pipeline's checks) to a domain request, one engine call, the domain
response to a JSON ``Reply``. Handlers know nothing of Flask: Flask serves them through
``install``, and the fast path (``openbroker_aliyun.api.fast_path``) calls the routes
marked ``fast`` itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, request
from werkzeug.http import http_date

from openbroker_aliyun.api import request_state, responses, schemas
from openbroker_aliyun.api.extension import ApiState, api_state
from openbroker_aliyun.api.reply import Reply, json_reply, to_response
from openbroker_aliyun.api.request_state import RequestState
from openbroker_aliyun.domain import RequestInfo

INSTANCE = "/v2/service_instances/<instance_id>"
BINDING = INSTANCE + "/service_bindings/<binding_id>"


def _info(state: RequestState, *, with_flag: bool) -> RequestInfo:
    flag = schemas.accepts_incomplete(state.args) if with_flag else False
    return state.info(accepts_incomplete=flag)


def _track(
    state: RequestState, instance_id: str, binding_id: str | None = None, operation: str | None = None
) -> None:
    """Note the ids for the request log line."""
    state.instance_id, state.binding_id = instance_id, binding_id
    if operation is not None:
        state.operation = operation


# ------------------------------------------------------------------------ catalog


def catalog(api: ApiState, state: RequestState) -> Reply:
    # With the Date header that werkzeug's make_conditional would add.
    return Reply(200, api.catalog_body, [*api.catalog_headers, ("Date", http_date())])


# ---------------------------------------------------------------------- instances


def provision(api: ApiState, state: RequestState, instance_id: str) -> Reply:
    _track(state, instance_id)
    body = state.body
    result = api.engine.provision(schemas.provision_request(instance_id, body, _info(state, with_flag=True)))
    _track(state, instance_id, operation=result.operation)
    return json_reply(responses.instance_body(result), result.status)


def fetch_instance(api: ApiState, state: RequestState, instance_id: str) -> Reply:
    _track(state, instance_id)
    asked = schemas.fetch_instance_request(instance_id, state.args, _info(state, with_flag=False))
    return json_reply(responses.instance_view_body(api.engine.fetch_instance(asked)), 200)


def update(api: ApiState, state: RequestState, instance_id: str) -> Reply:
    _track(state, instance_id)
    result = api.engine.update(schemas.update_request(instance_id, state.body, _info(state, with_flag=True)))
    _track(state, instance_id, operation=result.operation)
    return json_reply(responses.instance_body(result), result.status)


def deprovision(api: ApiState, state: RequestState, instance_id: str) -> Reply:
    _track(state, instance_id)
    asked = schemas.deprovision_request(instance_id, state.args, _info(state, with_flag=True))
    result = api.engine.deprovision(asked)
    _track(state, instance_id, operation=result.operation)
    return json_reply(responses.delete_body(result), result.status)


def _last_operation(api: ApiState, state: RequestState, instance_id: str, binding_id: str | None) -> Reply:
    _track(state, instance_id, binding_id)
    asked = schemas.last_operation_request(instance_id, binding_id, state.args, _info(state, with_flag=False))
    _track(state, instance_id, binding_id, operation=asked.operation)
    found = api.engine.last_operation(asked)
    return Reply(200, responses.last_operation_json(found), list(responses.retry_after_header(found).items()))


def instance_last_operation(api: ApiState, state: RequestState, instance_id: str) -> Reply:
    return _last_operation(api, state, instance_id, None)


# ----------------------------------------------------------------------- bindings


def bind(api: ApiState, state: RequestState, instance_id: str, binding_id: str) -> Reply:
    _track(state, instance_id, binding_id)
    result = api.engine.bind(
        schemas.bind_request(instance_id, binding_id, state.body, _info(state, with_flag=True))
    )
    _track(state, instance_id, binding_id, operation=result.operation)
    return json_reply(responses.binding_body(result), result.status)


def fetch_binding(api: ApiState, state: RequestState, instance_id: str, binding_id: str) -> Reply:
    _track(state, instance_id, binding_id)
    asked = schemas.fetch_binding_request(instance_id, binding_id, state.args, _info(state, with_flag=False))
    return json_reply(responses.binding_view_body(api.engine.fetch_binding(asked)), 200)


def unbind(api: ApiState, state: RequestState, instance_id: str, binding_id: str) -> Reply:
    _track(state, instance_id, binding_id)
    asked = schemas.unbind_request(instance_id, binding_id, state.args, _info(state, with_flag=True))
    result = api.engine.unbind(asked)
    _track(state, instance_id, binding_id, operation=result.operation)
    return json_reply(responses.delete_body(result), result.status)


def binding_last_operation(api: ApiState, state: RequestState, instance_id: str, binding_id: str) -> Reply:
    return _last_operation(api, state, instance_id, binding_id)


# ---------------------------------------------------------------------- the table

Handler = Callable[..., Reply]


@dataclass(frozen=True)
class Route:
    """One OSB endpoint.

    ``fast``: served by the fast path too (the requests platforms repeat most: the
    catalog and the polls). ``conditional``: Flask answers conditional requests for it
    (``If-None-Match`` and the like: 304, 412, 206), so the fast path leaves those to Flask.
    """

    method: str
    rule: str
    handler: Handler
    fast: bool = False
    conditional: bool = False
    #: The rule as a regular expression of its path, as werkzeug's router matches it.
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pattern", _path_pattern(self.rule))


def _path_pattern(rule: str) -> re.Pattern[str]:
    """``<name>`` placeholders (werkzeug's default converter, ``[^/]+``) as named groups."""
    parts = re.split(r"<([^>]*)>", rule)
    pattern = ""
    for index, part in enumerate(parts):
        if index % 2 == 0:
            pattern += re.escape(part)
        elif part.isidentifier():
            pattern += f"(?P<{part}>[^/]+)"
        else:
            raise ValueError(f"route {rule!r}: only plain <name> placeholders are supported")
    return re.compile(pattern)


ROUTES: tuple[Route, ...] = (
    Route("GET", "/v2/catalog", catalog, fast=True, conditional=True),
    Route("PUT", INSTANCE, provision),
    Route("GET", INSTANCE, fetch_instance),
    Route("PATCH", INSTANCE, update),
    Route("DELETE", INSTANCE, deprovision),
    Route("GET", INSTANCE + "/last_operation", instance_last_operation, fast=True),
    Route("PUT", BINDING, bind),
    Route("GET", BINDING, fetch_binding),
    Route("DELETE", BINDING, unbind),
    Route("GET", BINDING + "/last_operation", binding_last_operation, fast=True),
)


def _view(route: Route) -> Callable[..., Response]:
    """The Flask view of ``route``: the handler's reply as a Flask response."""

    def view(**ids: Any) -> Response:
        response = to_response(route.handler(api_state(), request_state.current(), **ids))
        if route.conditional:
            # 304 (no body) to a matching If-None-Match or a fresh If-Modified-Since.
            response.make_conditional(request)
        return response

    return view


def install(app: Flask) -> None:
    """Add the ten OSB endpoints to ``app``."""
    for route in ROUTES:
        endpoint = f"osb.{route.handler.__name__}"
        app.add_url_rule(route.rule, endpoint=endpoint, view_func=_view(route), methods=[route.method])
