"""What the API keeps per Flask app: the engine and the serialised catalog."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property

from flask import current_app
from werkzeug.http import http_date, quote_etag

from openbroker_aliyun.engine.protocol import BrokerEngine

KEY = "openbroker_aliyun.api"


@dataclass(frozen=True)
class ApiState:
    engine: BrokerEngine
    catalog_body: bytes
    # Strong ETag from the serialised bytes; Last-Modified is when this app was built.
    catalog_etag: str
    catalog_since: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))

    @classmethod
    def for_engine(cls, engine: BrokerEngine) -> ApiState:
        body = engine.catalog_json()
        return cls(engine=engine, catalog_body=body, catalog_etag=hashlib.sha256(body).hexdigest())

    @cached_property
    def catalog_headers(self) -> list[tuple[str, str]]:
        """The catalog's validators, as werkzeug's ``set_etag`` and ``last_modified`` write them."""
        return [("ETag", quote_etag(self.catalog_etag)), ("Last-Modified", http_date(self.catalog_since))]


def api_state() -> ApiState:
    """The state of the current app's API."""
    state: ApiState = current_app.extensions[KEY]
    return state
