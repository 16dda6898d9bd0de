"""Helpers of the HTTP tests: raw OSB requests with ``requests``, request bodies, checks."""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from cryptography.fernet import Fernet
from flask import Flask
from http_brokers import SERVICE_ID, SMALL_PLAN, RecordingBroker

from openbroker_aliyun.config import BrokerSettings, Credential

USER, PASSWORD = "broker", "Br0ker-Pa55word-1"
NEXT_USER, NEXT_PASSWORD = "broker-next", "Br0ker-Pa55word-2"

_DEFAULT: Any = object()

# Driver settings for tests: poll often and retry soon, so async operations finish in
# milliseconds.
FAST_DRIVER: dict[str, Any] = {
    "poll_interval": 0.02,
    "lease_seconds": 5.0,
    "backoff_base": 0.02,
    "backoff_cap": 0.1,
}


def uid(prefix: str) -> str:
    """A fresh resource id: the servers are shared by the tests of a module."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def identity_header(platform: str, value: dict[str, Any]) -> str:
    return f"{platform} {base64.b64encode(json.dumps(value).encode()).decode()}"


class Api:
    """Raw HTTP to the broker: credentials and version header by default, all overridable."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.session = requests.Session()

    def request(
        self,
        method: str,
        path: str,
        *,
        auth: Any = _DEFAULT,
        version: str | None = "2.17",
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        sent = dict(headers or {})
        if version is not None:
            sent.setdefault("X-Broker-API-Version", version)
        return self.session.request(
            method,
            self.url + path,
            auth=(USER, PASSWORD) if auth is _DEFAULT else auth,
            headers=sent,
            timeout=30,
            **kwargs,
        )

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    # -- OSB shortcuts -------------------------------------------------------------------

    def provision(self, iid: str, body: dict[str, Any] | None = None, **kwargs: Any) -> requests.Response:
        return self.put(
            f"/v2/service_instances/{iid}", json=provision_body() if body is None else body, **kwargs
        )

    def bind(
        self, iid: str, bid: str, body: dict[str, Any] | None = None, **kwargs: Any
    ) -> requests.Response:
        return self.put(
            f"/v2/service_instances/{iid}/service_bindings/{bid}",
            json=bind_body() if body is None else body,
            **kwargs,
        )

    def deprovision(self, iid: str, **kwargs: Any) -> requests.Response:
        params = {"service_id": SERVICE_ID, "plan_id": SMALL_PLAN, **kwargs.pop("params", {})}
        return self.delete(f"/v2/service_instances/{iid}", params=params, **kwargs)

    def unbind(self, iid: str, bid: str, **kwargs: Any) -> requests.Response:
        params = {"service_id": SERVICE_ID, "plan_id": SMALL_PLAN, **kwargs.pop("params", {})}
        return self.delete(f"/v2/service_instances/{iid}/service_bindings/{bid}", params=params, **kwargs)

    def last_operation(self, iid: str, bid: str | None = None, **kwargs: Any) -> requests.Response:
        path = f"/v2/service_instances/{iid}"
        if bid is not None:
            path += f"/service_bindings/{bid}"
        return self.get(path + "/last_operation", **kwargs)

    def wait(self, iid: str, bid: str | None = None, operation: str | None = None) -> requests.Response:
        """Poll last_operation until it leaves 'in progress' (bounded: 20 s)."""
        params = {"operation": operation} if operation else {}
        deadline = time.monotonic() + 20
        while True:
            response = self.last_operation(iid, bid, params=params)
            if response.status_code != 200 or response.json()["state"] != "in progress":
                return response
            if time.monotonic() > deadline:
                raise AssertionError(f"operation still in progress: {response.json()}")
            time.sleep(0.02)


def provision_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "service_id": SERVICE_ID,
        "plan_id": SMALL_PLAN,
        "organization_guid": "org-guid",
        "space_guid": "space-guid",
        "context": {"platform": "cloudfoundry", "organization_guid": "org-guid", "space_guid": "space-guid"},
        "parameters": {"size": 5},
    }
    body.update(overrides)
    return body


def bind_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "service_id": SERVICE_ID,
        "plan_id": SMALL_PLAN,
        "bind_resource": {"app_guid": "app-guid"},
        "parameters": {"role": "reader"},
    }
    body.update(overrides)
    return body


@dataclass
class Running:
    api: Api
    app: Flask
    broker: RecordingBroker
    settings: BrokerSettings


def make_settings(tmp_path: Path, **overrides: Any) -> BrokerSettings:
    values: dict[str, Any] = {
        "credentials": [Credential(USER, PASSWORD), Credential(NEXT_USER, NEXT_PASSWORD)],
        "state_url": f"sqlite:///{tmp_path / 'state.db'}",
        "encryption_keys": [Fernet.generate_key().decode()],
    }
    values.update(overrides)
    return BrokerSettings(**values)


def assert_error_shape(response: requests.Response, status: int) -> dict[str, Any]:
    """The response is ``status`` with an OSB error body ``{error?, description}``."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert isinstance(body, dict)
    assert set(body) <= {"error", "description", "instance_usable", "update_repeatable"}
    assert isinstance(body["description"], str) and body["description"]
    if "error" in body:
        assert isinstance(body["error"], str) and body["error"].isalpha()
    return body
