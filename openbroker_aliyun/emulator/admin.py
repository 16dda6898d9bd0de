"""The emulator's own admin API under ``/_emulator/`` (JSON; not part of Alibaba's protocol).

* ``GET /_emulator/health`` → ``{"status": "ok"}``
* ``GET /_emulator/calls`` → per-product, per-action call counts with outcomes;
  ``DELETE /_emulator/calls`` resets them.
* ``GET /_emulator/faults`` → the rules and what is left of their scripts;
  ``POST`` adds rules, ``PUT`` replaces them, ``DELETE`` removes them all. Body:
  ``{"rules": [<rule>...], "seed": 42}`` where a rule is the ``--fault`` text or an object
  (see faults.py and docs/emulator.md).
* ``GET /_emulator/instances`` → what exists (never passwords).
"""

from __future__ import annotations

import json
from typing import Any, Callable

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from .calls import CallCounter
from .faults import FaultInjector, FaultRule, FaultSpecError, parse_fault_json

PREFIX = "/_emulator"


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


def _bad_request(message: str) -> Response:
    return _json({"error": message}, 400)


class AdminApi:
    def __init__(
        self,
        calls: CallCounter,
        faults: FaultInjector,
        instances: Callable[[], dict[str, Any]],
    ) -> None:
        self._calls = calls
        self._faults = faults
        self._instances = instances
        self._map = Map(
            [
                Rule(f"{PREFIX}/health", endpoint="health", methods=["GET"]),
                Rule(f"{PREFIX}/calls", endpoint="calls", methods=["GET", "DELETE"]),
                Rule(f"{PREFIX}/faults", endpoint="faults", methods=["GET", "POST", "PUT", "DELETE"]),
                Rule(f"{PREFIX}/instances", endpoint="instances", methods=["GET"]),
            ]
        )

    def __call__(self, request: Request) -> Response:
        adapter = self._map.bind_to_environ(request.environ)
        try:
            endpoint, _ = adapter.match()
        except NotFound:
            return _json({"error": f"no such admin endpoint: {request.path}"}, 404)
        except MethodNotAllowed as exc:
            return _json({"error": f"method {request.method} not allowed here"}, exc.code or 405)
        except HTTPException as exc:  # e.g. a redirect for a trailing slash
            return _json({"error": exc.description or "bad request"}, exc.code or 400)
        handler: Callable[[Request], Response] = getattr(self, f"_route_{endpoint}")
        return handler(request)

    def _route_health(self, request: Request) -> Response:
        return _json({"status": "ok"})

    def _route_calls(self, request: Request) -> Response:
        if request.method == "DELETE":
            self._calls.reset()
        return _json(self._calls.snapshot())

    def _route_instances(self, request: Request) -> Response:
        return _json(self._instances())

    def _route_faults(self, request: Request) -> Response:
        if request.method == "DELETE":
            self._faults.clear()
        elif request.method in ("POST", "PUT"):
            try:
                rules, seed = _read_rules(request)
            except FaultSpecError as exc:
                return _bad_request(str(exc))
            if request.method == "PUT":
                self._faults.replace(rules, seed)
            else:
                self._faults.add(rules)
                if seed is not None:
                    self._faults.reseed(seed)
        return _json({"rules": self._faults.snapshot()})


def _read_rules(request: Request) -> tuple[list[FaultRule], int | None]:
    try:
        body = json.loads(request.get_data(as_text=True) or "{}")
    except json.JSONDecodeError as exc:
        raise FaultSpecError(f"the body is not JSON: {exc.msg}") from None
    if not isinstance(body, dict):
        raise FaultSpecError('the body must be an object: {"rules": [...], "seed": 42}')
    unknown = set(body) - {"rules", "seed"}
    if unknown:
        raise FaultSpecError(f"unknown fields: {', '.join(sorted(unknown))}")
    raw_rules = body.get("rules", [])
    if not isinstance(raw_rules, list):
        raise FaultSpecError("rules must be a list")
    seed = body.get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise FaultSpecError("seed must be an integer")
    return [parse_fault_json(rule) for rule in raw_rules], seed
