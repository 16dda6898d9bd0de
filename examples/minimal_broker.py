"""A minimal broker: in-memory key-value namespaces. Run it: ``python examples/minimal_broker.py``."""

import os
import secrets
import tempfile

from marshmallow import Schema, fields, validate

from openbroker_aliyun import Bound, BrokerSettings, Catalog, Done, Plan, PlanSchemas, Service, ServiceBroker
from openbroker_aliyun.app import create_app
from openbroker_aliyun.serving import serve
from openbroker_aliyun.store.encryption import generate_key


class Parameters(Schema):  # published in the catalog as JSON Schema, enforced on provision
    max_keys = fields.Integer(load_default=100, validate=validate.Range(1, 10_000))


PLAN = Plan("a3c5e7f9-1b2d-4e6f-8a0c-2e4f6a8c0e12", "small", "One namespace", schemas=PlanSchemas(Parameters))
SERVICE = Service("0e7d4a3c-5b1f-4c8e-9a2d-6f3b1c0e8d41", "kv-namespace", "KV namespaces", True, (PLAN,))


class KeyValueBroker(ServiceBroker):
    catalog = Catalog((SERVICE,))

    def __init__(self) -> None:
        self.namespaces: dict[str, dict] = {}  # id -> {"max_keys": n, "tokens": {binding id: token}}

    def provision(self, op):  # synchronous steps: each returns Done (or Bound) at once
        self.namespaces[op.instance.id] = {"max_keys": op.parameters["max_keys"], "tokens": {}}
        return Done()

    def deprovision(self, op):
        self.namespaces.pop(op.instance.id, None)
        return Done()

    def bind(self, op):
        namespace = self.namespaces[op.instance.id]
        token = namespace["tokens"].setdefault(op.binding.id, secrets.token_urlsafe(24))
        return Bound(
            credentials={"namespace": op.instance.id, "token": token, "max-keys": namespace["max_keys"]}
        )

    def unbind(self, op):
        self.namespaces.get(op.instance.id, {"tokens": {}})["tokens"].pop(op.binding.id, None)
        return Done()


if __name__ == "__main__":
    settings = BrokerSettings(
        credentials=[{"username": "admin", "password": secrets.token_urlsafe()}],
        host="127.0.0.1",
        port=int(os.environ.get("PORT", "8080")),
        workers=1,  # the namespaces live in this process's memory
        encryption_keys=[generate_key()],
        state_url=os.environ.get("BROKER_STATE_URL", f"sqlite:///{tempfile.mkdtemp()}/state.db"),
    )
    print(f"http://127.0.0.1:{settings.port} admin:{settings.credentials[0].password}", flush=True)
    serve(lambda: create_app(KeyValueBroker(), settings), settings)
