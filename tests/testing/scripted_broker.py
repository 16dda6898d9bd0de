"""A scripted broker for testing the platform-like client: it answers what the test says.

The client's orphan mitigation, polling and timeout handling react to brokers that
misbehave (5xx, malformed bodies, slow answers), which a correct broker never does; so
these tests talk over real HTTP to a tiny WSGI app whose answers the test scripts, and
which records every request it gets.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Request, Response

SERVICE_ID = "8f4a0d5e-0c6d-4f0e-9d5a-0b1c2d3e4f50"
PLAN_ID = "5a1e2b3c-4d5e-4f60-8a7b-9c0d1e2f3a41"
SLOW_PLAN_ID = "6b2f3c4d-5e6f-4071-9b8c-0d1e2f3a4b52"

CATALOG = {
    "services": [
        {
            "id": SERVICE_ID,
            "name": "scripted",
            "description": "scripted",
            "bindable": True,
            "bindings_retrievable": True,
            "tags": ["scripted", "test"],
            "plans": [
                {"id": PLAN_ID, "name": "small", "description": "small"},
                {"id": SLOW_PLAN_ID, "name": "slow", "description": "slow", "maximum_polling_duration": 5},
            ],
        }
    ]
}


@dataclass
class Seen:
    """One request as the broker received it."""

    method: str
    path: str
    args: dict[str, str]
    headers: dict[str, str]
    body: Any
    raw_body: bytes


Answer = tuple[int, Any] | tuple[int, Any, dict[str, str]] | Callable[[Seen], Response]


@dataclass
class ScriptedBroker:
    """Routes: ``instance``, ``instance_lo``, ``binding``, ``binding_lo``, ``catalog``.

    ``on(method, route, *answers)`` queues answers; the last one repeats.
    """

    seen: list[Seen] = field(default_factory=list)
    script: dict[tuple[str, str], list[Answer]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on(self, method: str, route: str, *answers: Answer) -> None:
        self.script[(method, route)] = list(answers)

    def requests(self, method: str | None = None, route: str | None = None) -> list[Seen]:
        return [
            s
            for s in self.seen
            if (method is None or s.method == method) and (route is None or route_of(s.path) == route)
        ]

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        raw = request.get_data()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        seen = Seen(request.method, request.path, dict(request.args), dict(request.headers), body, raw)
        with self.lock:
            self.seen.append(seen)
            queue = self.script.get((request.method, route_of(request.path)))
            answer: Answer | None = None
            if queue:
                answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if answer is None:
            if request.method == "GET" and request.path == "/v2/catalog":
                answer = (200, CATALOG)
            else:
                answer = (404, {"description": "not scripted"})
        if callable(answer):
            response = answer(seen)
        else:
            status, payload, *rest = answer
            text = payload if isinstance(payload, str) else json.dumps(payload)
            response = Response(
                text, status=status, headers=rest[0] if rest else {}, content_type="application/json"
            )
        return response(environ, start_response)


def route_of(path: str) -> str:
    parts = path.strip("/").split("/")
    if parts == ["v2", "catalog"]:
        return "catalog"
    if len(parts) == 3:
        return "instance"
    if len(parts) == 4 and parts[3] == "last_operation":
        return "instance_lo"
    if len(parts) == 5:
        return "binding"
    if len(parts) == 6:
        return "binding_lo"
    return "other"
