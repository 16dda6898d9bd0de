"""An OSB client that behaves like a platform: Cloud Foundry's Cloud Controller by default.

Two layers. The request methods (``catalog``, ``provision``, ``bind``, ...) send one OSB
call with the headers and body a platform sends and return an ``OSBResponse``, whatever
the status: use them to test status codes. The flows (``provision_and_wait``, ...) run
an operation the way the Cloud Controller does (platforms.md §1.3-1.5): poll
``last_operation`` after a 202 (at once, then honouring ``Retry-After``), fetch the
binding after an async bind, give up after the maximum polling duration, and
orphan-mitigate (DELETE) after a failed create. A flow returns a ``FlowResult`` on
success and raises an ``OSBFlowError`` otherwise.

Example::

    client = OSBClient(url, "user", "password")
    client.provision_and_wait(instance_id, service_id, plan_id, parameters={"size": 1})
    creds = client.bind_and_wait(instance_id, binding_id, service_id, plan_id).credentials
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Mapping

import requests

from openbroker_aliyun.testing.profiles import (
    CloudFoundryProfile,
    KubernetesProfile,
    PlatformProfile,
    encode_identity,
)

API_VERSION_HEADER = "X-Broker-API-Version"
ORIGINATING_IDENTITY_HEADER = "X-Broker-API-Originating-Identity"
REQUEST_IDENTITY_HEADER = "X-Broker-API-Request-Identity"
VCAP_REQUEST_ID_HEADER = "X-VCAP-Request-ID"

SUCCEEDED = "succeeded"
FAILED = "failed"
IN_PROGRESS = "in progress"


@dataclass(frozen=True)
class OSBResponse:
    """One broker answer. ``json`` is the decoded body, or None when it is not JSON."""

    method: str
    url: str
    status: int
    json: Any
    headers: Mapping[str, str]
    text: str
    request_identity: str

    @property
    def description(self) -> str | None:
        """The error ``description``, when the body has one."""
        if isinstance(self.json, dict) and isinstance(self.json.get("description"), str):
            return str(self.json["description"])
        return None

    @property
    def error(self) -> str | None:
        """The OSB ``error`` code, when the body has one."""
        if isinstance(self.json, dict) and isinstance(self.json.get("error"), str):
            return str(self.json["error"])
        return None

    @property
    def retry_after(self) -> int | None:
        """``Retry-After`` as integer seconds, as CC reads it; an HTTP date counts as absent."""
        value = self.headers.get("Retry-After")
        if value is None:
            return None
        try:
            return int(value.strip())
        except ValueError:
            return None

    def summary(self) -> str:
        """A one-line account safe to log: status, error code and description, never the body."""
        parts = [f"{self.method} {self.url.split('?', 1)[0]} -> {self.status}"]
        if self.error:
            parts.append(self.error)
        if self.description:
            parts.append(repr(self.description))
        return " ".join(parts)


@dataclass
class FlowResult:
    """What a finished flow saw: the first answer, the last poll, the fetched binding."""

    response: OSBResponse
    state: str = SUCCEEDED
    last_operation: OSBResponse | None = None
    fetched: OSBResponse | None = None
    polls: int = 0

    @property
    def body(self) -> dict[str, Any]:
        """The resource body: the fetched binding after an async bind, else the first answer."""
        source = self.fetched or self.response
        return source.json if isinstance(source.json, dict) else {}

    @property
    def credentials(self) -> dict[str, Any] | None:
        """Binding credentials, however the broker delivered them."""
        found = self.body.get("credentials")
        return found if isinstance(found, dict) else None

    @property
    def operation(self) -> str | None:
        """The ``operation`` the broker returned with its 202, if any."""
        if isinstance(self.response.json, dict) and isinstance(self.response.json.get("operation"), str):
            return str(self.response.json["operation"])
        return None


class OSBFlowError(Exception):
    """A flow did not succeed. The message never contains a response body (credentials)."""

    def __init__(self, message: str, response: OSBResponse | None = None) -> None:
        super().__init__(message)
        self.response = response


class BrokerRejected(OSBFlowError):
    """The broker answered a 4xx that the platform shows to the user (no orphan mitigation)."""


class BadBrokerResponse(OSBFlowError):
    """A 5xx, an unexpected status, a malformed body or a timeout.

    ``orphan_mitigation`` holds the DELETE answers sent afterwards (empty when the
    platform does not mitigate for this operation).
    """

    def __init__(self, message: str, response: OSBResponse | None = None) -> None:
        super().__init__(message, response)
        self.orphan_mitigation: list[OSBResponse] = []


class AsyncOperationFailed(OSBFlowError):
    """last_operation ended ``failed``; ``result`` holds the final poll."""

    def __init__(self, message: str, result: FlowResult) -> None:
        super().__init__(message, result.last_operation)
        self.result = result


class PollingTimedOut(OSBFlowError):
    """The maximum polling duration passed; creates are orphan-mitigated first."""

    def __init__(self, message: str, response: OSBResponse | None = None) -> None:
        super().__init__(message, response)
        self.orphan_mitigation: list[OSBResponse] = []


@dataclass
class PollingPolicy:
    """How a flow polls. CC uses 60 s intervals and a week; tests want much less.

    The wait after a poll is the broker's ``Retry-After`` (integer seconds) clamped to
    ``[interval, interval_cap]``, as CC clamps it to its default and maximum intervals.
    ``max_duration`` is shortened by a plan's ``maximum_polling_duration``.
    """

    interval: float = 0.05
    interval_cap: float = 0.5
    max_duration: float = 60.0
    orphan_mitigation_attempts: int = 3
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)

    def wait_after(self, response: OSBResponse) -> float:
        wanted = response.retry_after
        wait = self.interval if wanted is None else float(wanted)
        return min(max(wait, self.interval), self.interval_cap)


class OSBClient:
    """Speaks OSB to one broker as a platform does.

    ``platform`` picks the default profile (``CloudFoundryProfile`` or
    ``KubernetesProfile`` with fresh guids); pass ``profile`` to control its fields.
    ``accepts_incomplete`` is sent on every mutating call unless a call overrides it
    (CC's v3 API always sends ``true``). ``timeout`` is the HTTP timeout of each call
    (CC's ``broker_client_timeout_seconds``).
    """

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        *,
        api_version: str = "2.17",
        platform: Literal["cloudfoundry", "kubernetes"] = "cloudfoundry",
        profile: PlatformProfile | None = None,
        session: requests.Session | None = None,
        accepts_incomplete: bool = True,
        timeout: float = 60.0,
        polling: PollingPolicy | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.username = username
        self.password = password
        self.api_version = api_version
        if profile is None:
            profile = CloudFoundryProfile() if platform == "cloudfoundry" else KubernetesProfile()
        self.profile: PlatformProfile = profile
        if session is None:
            session = requests.Session()
            # A broker under test is on loopback: an HTTP_PROXY from the environment must not
            # intercept. A session passed in is used as configured.
            session.trust_env = False
        self.session = session
        self.accepts_incomplete = accepts_incomplete
        self.timeout = timeout
        self.polling = polling or PollingPolicy()
        self._catalog: dict[str, Any] | None = None

    # ------------------------------------------------------------------------ transport

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        identity: bool = True,
        headers: Mapping[str, str | None] | None = None,
    ) -> OSBResponse:
        """Send one call with the platform's headers; ``headers`` adds or (None) removes some."""
        request_identity = str(uuid.uuid4())
        sent: dict[str, str] = {
            "Accept": "application/json",
            API_VERSION_HEADER: self.api_version,
            REQUEST_IDENTITY_HEADER: request_identity,
            VCAP_REQUEST_ID_HEADER: f"{uuid.uuid4()}::{uuid.uuid4()}",
        }
        if identity:
            sent[ORIGINATING_IDENTITY_HEADER] = encode_identity(
                self.profile.platform, self.profile.identity()
            )
        for name, value in (headers or {}).items():
            if value is None:
                sent.pop(name, None)
            else:
                sent[name] = value
        params = {k: _query_value(v) for k, v in (query or {}).items() if v is not None}
        raw = self.session.request(
            method,
            self.base_url + path,
            params=params,
            json=dict(body) if body is not None else None,
            headers=sent,
            auth=(self.username, self.password),
            timeout=self.timeout,
            allow_redirects=True,
        )
        try:
            decoded: Any = raw.json()
        except ValueError:
            decoded = None
        return OSBResponse(
            method=method,
            url=raw.url,
            status=raw.status_code,
            json=decoded,
            headers=raw.headers,
            text=raw.text,
            request_identity=request_identity,
        )

    def _accepts(self, accepts_incomplete: bool | None) -> bool:
        return self.accepts_incomplete if accepts_incomplete is None else accepts_incomplete

    def _instance_context(
        self, instance_id: str, context: Mapping[str, Any] | None, instance_name: str | None
    ) -> dict[str, Any]:
        """The given context, else the profile's with an ``instance_name`` (CC sends one)."""
        if context is not None:
            return dict(context)
        return self.profile.context(instance_name=instance_name or f"instance-{instance_id[:8]}")

    def _delete(
        self,
        path: str,
        service_id: str,
        plan_id: str,
        accepts_incomplete: bool | None,
        identity: bool,
        headers: Mapping[str, str | None] | None,
    ) -> OSBResponse:
        """A deprovision or unbind: everything in the query string, never a body."""
        return self.request(
            "DELETE",
            path,
            query={
                "service_id": service_id,
                "plan_id": plan_id,
                "accepts_incomplete": self._accepts(accepts_incomplete),
            },
            identity=identity,
            headers=headers,
        )

    # --------------------------------------------------------------------- single calls

    def catalog(self, *, if_none_match: str | None = None, identity: bool = False) -> OSBResponse:
        """GET /v2/catalog (CC fetches it as the system, without a user identity)."""
        headers = {"If-None-Match": if_none_match} if if_none_match else None
        return self.request("GET", "/v2/catalog", identity=identity, headers=headers)

    def provision(
        self,
        instance_id: str,
        service_id: str,
        plan_id: str,
        *,
        parameters: Mapping[str, Any] | None = None,
        instance_name: str | None = None,
        maintenance_info_version: str | None = None,
        context: Mapping[str, Any] | None = None,
        extra: Mapping[str, Any] | None = None,
        accepts_incomplete: bool | None = None,
        identity: bool = True,
        headers: Mapping[str, str | None] | None = None,
    ) -> OSBResponse:
        """PUT the instance, with context, ``instance_name`` and the deprecated org/space guids.

        ``context`` replaces the profile's context; ``extra`` adds (or overrides) body fields.
        """
        body: dict[str, Any] = {"service_id": service_id, "plan_id": plan_id}
        body["context"] = self._instance_context(instance_id, context, instance_name)
        body.update(self.profile.provision_fields())
        if parameters is not None:
            body["parameters"] = dict(parameters)
        if maintenance_info_version is not None:
            body["maintenance_info"] = {"version": maintenance_info_version}
        body.update(extra or {})
        return self.request(
            "PUT",
            f"/v2/service_instances/{instance_id}",
            query={"accepts_incomplete": self._accepts(accepts_incomplete)},
            body=body,
            identity=identity,
            headers=headers,
        )

    def update(
        self,
        instance_id: str,
        service_id: str,
        *,
        plan_id: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        previous_values: Mapping[str, Any] | None = None,
        instance_name: str | None = None,
        maintenance_info_version: str | None = None,
        context: Mapping[str, Any] | None = None,
        send_context: bool = True,
        extra: Mapping[str, Any] | None = None,
        accepts_incomplete: bool | None = None,
        identity: bool = True,
        headers: Mapping[str, str | None] | None = None,
    ) -> OSBResponse:
        """PATCH the instance; ``plan_id``/``parameters`` omitted mean 'unchanged'."""
        body: dict[str, Any] = {"service_id": service_id}
        if plan_id is not None:
            body["plan_id"] = plan_id
        if send_context:
            body["context"] = self._instance_context(instance_id, context, instance_name)
        if parameters is not None:
            body["parameters"] = dict(parameters)
        if previous_values is not None:
            body["previous_values"] = dict(previous_values)
        if maintenance_info_version is not None:
            body["maintenance_info"] = {"version": maintenance_info_version}
        body.update(extra or {})
        return self.request(
            "PATCH",
            f"/v2/service_instances/{instance_id}",
            query={"accepts_incomplete": self._accepts(accepts_incomplete)},
            body=body,
            identity=identity,
            headers=headers,
        )

    def deprovision(
        self,
        instance_id: str,
        service_id: str,
        plan_id: str,
        *,
        accepts_incomplete: bool | None = None,
        identity: bool = True,
        headers: Mapping[str, str | None] | None = None,
    ) -> OSBResponse:
        """DELETE the instance; parameters go in the query string, never a body."""
        return self._delete(
            f"/v2/service_instances/{instance_id}", service_id, plan_id, accepts_incomplete, identity, headers
        )

    def bind(
        self,
        instance_id: str,
        binding_id: str,
        service_id: str,
        plan_id: str,
        *,
        parameters: Mapping[str, Any] | None = None,
        app_guid: str | Literal["profile"] | None = "profile",
        predecessor_binding_id: str | None = None,
        context: Mapping[str, Any] | None = None,
        extra: Mapping[str, Any] | None = None,
        accepts_incomplete: bool | None = None,
        identity: bool = True,
        headers: Mapping[str, str | None] | None = None,
    ) -> OSBResponse:
        """PUT a binding: an app binding with the profile's app by default.

        ``app_guid=None`` makes a service key (``bind_resource: {}``, no ``app_guid``).
        CC sends no ``instance_name`` in a bind context.
        """
        chosen = self.profile.app_guid if app_guid == "profile" else app_guid
        body: dict[str, Any] = {"service_id": service_id, "plan_id": plan_id}
        body["context"] = dict(context) if context is not None else self.profile.context()
        body.update(self.profile.bind_fields(chosen))
        if parameters is not None:
            body["parameters"] = dict(parameters)
        if predecessor_binding_id is not None:
            body["predecessor_binding_id"] = predecessor_binding_id
        body.update(extra or {})
        return self.request(
            "PUT",
            f"/v2/service_instances/{instance_id}/service_bindings/{binding_id}",
            query={"accepts_incomplete": self._accepts(accepts_incomplete)},
            body=body,
            identity=identity,
            headers=headers,
        )

    def unbind(
        self,
        instance_id: str,
        binding_id: str,
        service_id: str,
        plan_id: str,
        *,
        accepts_incomplete: bool | None = None,
        identity: bool = True,
        headers: Mapping[str, str | None] | None = None,
    ) -> OSBResponse:
        """DELETE a binding; parameters in the query string."""
        return self._delete(
            f"/v2/service_instances/{instance_id}/service_bindings/{binding_id}",
            service_id,
            plan_id,
            accepts_incomplete,
            identity,
            headers,
        )

    def fetch_instance(
        self, instance_id: str, *, service_id: str | None = None, plan_id: str | None = None
    ) -> OSBResponse:
        """GET the instance, with the optional ``service_id``/``plan_id`` hints."""
        return self.request(
            "GET",
            f"/v2/service_instances/{instance_id}",
            query={"service_id": service_id, "plan_id": plan_id},
        )

    def fetch_binding(
        self, instance_id: str, binding_id: str, *, service_id: str | None = None, plan_id: str | None = None
    ) -> OSBResponse:
        """GET a binding, with the optional hints."""
        return self.request(
            "GET",
            f"/v2/service_instances/{instance_id}/service_bindings/{binding_id}",
            query={"service_id": service_id, "plan_id": plan_id},
        )

    def last_operation(
        self,
        instance_id: str,
        binding_id: str | None = None,
        operation: str | None = None,
        *,
        service_id: str | None = None,
        plan_id: str | None = None,
    ) -> OSBResponse:
        """GET the instance's (or, with ``binding_id``, the binding's) last_operation.

        ``operation`` is echoed percent-encoded in the query string, as the spec asks.
        """
        path = f"/v2/service_instances/{instance_id}"
        if binding_id is not None:
            path += f"/service_bindings/{binding_id}"
        return self.request(
            "GET",
            path + "/last_operation",
            query={"service_id": service_id, "plan_id": plan_id, "operation": operation},
        )

    # ---------------------------------------------------------------------------- flows

    def provision_and_wait(
        self, instance_id: str, service_id: str, plan_id: str, **kwargs: Any
    ) -> FlowResult:
        """Provision as CC does; orphan-mitigates after a 5xx, malformed answer or timeout.

        Keyword arguments are those of ``provision``.
        """
        return self._create_flow(
            "provision",
            lambda: self.provision(instance_id, service_id, plan_id, **kwargs),
            instance_id,
            None,
            service_id,
            plan_id,
            may_poll=True,
        )

    def update_and_wait(self, instance_id: str, service_id: str, **kwargs: Any) -> FlowResult:
        """Update as CC does: 200 done, 202 polled (with the *previous* plan id, per spec).

        Pass ``previous_plan_id`` to poll with it; keyword arguments are those of ``update``.
        """
        previous_plan_id = kwargs.pop("previous_plan_id", None)
        first = self.update(instance_id, service_id, **kwargs)
        if first.status == 200 and isinstance(first.json, dict):
            return FlowResult(first)
        if first.status == 202 and _valid_accepted(first):
            return self._poll(first, instance_id, None, service_id, previous_plan_id, kind="update")
        if 400 <= first.status < 500:
            # Every 4xx, a bare 422 included, is 'request rejected' on update.
            raise BrokerRejected(f"update rejected: {first.summary()}", first)
        # CC fails the update and does not orphan-mitigate.
        raise BadBrokerResponse(f"update failed: {first.summary()}", first)

    def deprovision_and_wait(
        self, instance_id: str, service_id: str, plan_id: str, **kwargs: Any
    ) -> FlowResult:
        """Deprovision as CC does: 200 and 410 both mean gone; 202 polled until gone."""
        first = self.deprovision(instance_id, service_id, plan_id, **kwargs)
        return self._delete_flow("deprovision", first, instance_id, None, service_id, plan_id)

    def bind_and_wait(
        self, instance_id: str, binding_id: str, service_id: str, plan_id: str, **kwargs: Any
    ) -> FlowResult:
        """Bind as CC v3 does: after an async bind, poll, then GET the binding for credentials.

        A 202 is accepted only when the catalog says ``bindings_retrievable``; a 5xx,
        malformed answer or timeout is orphan-mitigated with an unbind.
        """
        result = self._create_flow(
            "bind",
            lambda: self.bind(instance_id, binding_id, service_id, plan_id, **kwargs),
            instance_id,
            binding_id,
            service_id,
            plan_id,
            may_poll=self._bindings_retrievable(service_id),
        )
        if result.response.status != 202:
            return result
        result.fetched = self.fetch_binding(instance_id, binding_id, service_id=service_id, plan_id=plan_id)
        if result.fetched.status != 200 or not isinstance(result.fetched.json, dict):
            raise BadBrokerResponse(
                f"fetching binding after async bind: {result.fetched.summary()}", result.fetched
            )
        return result

    def unbind_and_wait(
        self, instance_id: str, binding_id: str, service_id: str, plan_id: str, **kwargs: Any
    ) -> FlowResult:
        """Unbind as CC does: 200 and 410 mean gone; 202 polled on the binding."""
        first = self.unbind(instance_id, binding_id, service_id, plan_id, **kwargs)
        return self._delete_flow("unbind", first, instance_id, binding_id, service_id, plan_id)

    # ------------------------------------------------------------------ flow internals

    def _create_flow(
        self,
        kind: Literal["provision", "bind"],
        send: Callable[[], OSBResponse],
        instance_id: str,
        binding_id: str | None,
        service_id: str,
        plan_id: str,
        *,
        may_poll: bool,
    ) -> FlowResult:
        """Send a create; poll a 202 (if ``may_poll``); orphan-mitigate what CC mitigates."""
        try:
            first = send()
        except requests.RequestException as exc:
            target = binding_id if binding_id is not None else instance_id
            raise self._mitigated(
                BadBrokerResponse(f"{kind} {target}: no answer ({type(exc).__name__})"),
                instance_id,
                binding_id,
                service_id,
                plan_id,
            ) from exc
        if first.status in (200, 201) and isinstance(first.json, dict):
            return FlowResult(first)
        if first.status == 202 and _valid_accepted(first) and may_poll:
            try:
                return self._poll(first, instance_id, binding_id, service_id, plan_id, kind=kind)
            except PollingTimedOut as exc:
                raise self._mitigated(exc, instance_id, binding_id, service_id, plan_id) from None
        if _is_rejection(first):
            raise BrokerRejected(f"{kind} rejected: {first.summary()}", first)
        raise self._mitigated(
            BadBrokerResponse(f"{kind} failed: {first.summary()}", first),
            instance_id,
            binding_id,
            service_id,
            plan_id,
        )

    def _delete_flow(
        self,
        kind: Literal["deprovision", "unbind"],
        first: OSBResponse,
        instance_id: str,
        binding_id: str | None,
        service_id: str,
        plan_id: str,
    ) -> FlowResult:
        """Finish a delete from its first answer: 200 and 410 mean gone, a 202 is polled."""
        if first.status in (200, 410):
            return FlowResult(first)
        if first.status == 202 and _valid_accepted(first):
            return self._poll(first, instance_id, binding_id, service_id, plan_id, kind=kind)
        if _is_rejection(first):
            raise BrokerRejected(f"{kind} rejected: {first.summary()}", first)
        raise BadBrokerResponse(f"{kind} failed: {first.summary()}", first)

    def _poll(
        self,
        accepted: OSBResponse,
        instance_id: str,
        binding_id: str | None,
        service_id: str,
        plan_id: str | None,
        *,
        kind: Literal["provision", "update", "deprovision", "bind", "unbind"],
    ) -> FlowResult:
        """Poll last_operation until succeeded/failed or the maximum duration passes."""
        result = FlowResult(accepted, state=IN_PROGRESS)
        operation = result.operation
        deleting = kind in ("deprovision", "unbind")
        deadline = self.polling.clock() + self._max_duration(service_id, plan_id)
        # Bounded: the deadline ends it; the count guards against a clock that stands still.
        for _ in range(1_000_000):
            poll = self.last_operation(
                instance_id, binding_id, operation, service_id=service_id, plan_id=plan_id
            )
            result.polls += 1
            result.last_operation = poll
            if poll.status == 410 and deleting:
                result.state = SUCCEEDED
                return result
            state = poll.json.get("state") if poll.status == 200 and isinstance(poll.json, dict) else None
            if state == SUCCEEDED:
                result.state = SUCCEEDED
                return result
            if state == FAILED:
                result.state = FAILED
                raise AsyncOperationFailed(f"{kind} {instance_id} failed: {poll.summary()}", result)
            if poll.status == 400 and binding_id is None:
                # CC stops on a 400 for instances; binding poll errors count as in progress.
                raise BrokerRejected(f"{kind} last_operation rejected: {poll.summary()}", poll)
            if self.polling.clock() >= deadline:
                break
            self.polling.sleep(self.polling.wait_after(poll))
        raise PollingTimedOut(
            f"{kind} {instance_id}: the broker did not finish in time", result.last_operation
        )

    def _max_duration(self, service_id: str, plan_id: str | None) -> float:
        """The client's maximum, shortened (never lengthened) by the plan's."""
        plan = self._plan_facts(service_id, plan_id)
        limit = plan.get("maximum_polling_duration") if plan else None
        if isinstance(limit, int) and limit > 0:
            return min(self.polling.max_duration, float(limit))
        return self.polling.max_duration

    def _cached_catalog(self) -> dict[str, Any]:
        if self._catalog is None:
            answer = self.catalog()
            self._catalog = answer.json if answer.status == 200 and isinstance(answer.json, dict) else {}
        return self._catalog

    def _service_facts(self, service_id: str) -> dict[str, Any]:
        for service in self._cached_catalog().get("services") or []:
            if isinstance(service, dict) and service.get("id") == service_id:
                return service
        return {}

    def _plan_facts(self, service_id: str, plan_id: str | None) -> dict[str, Any]:
        for plan in self._service_facts(service_id).get("plans") or []:
            if isinstance(plan, dict) and plan.get("id") == plan_id:
                return plan
        return {}

    def _bindings_retrievable(self, service_id: str) -> bool:
        return self._service_facts(service_id).get("bindings_retrievable") is True

    def _mitigated(
        self,
        error: BadBrokerResponse | PollingTimedOut,
        instance_id: str,
        binding_id: str | None,
        service_id: str,
        plan_id: str,
    ) -> BadBrokerResponse | PollingTimedOut:
        """Orphan-mitigate the instance (or, with ``binding_id``, the binding); returns ``error``."""

        def delete() -> OSBResponse:
            if binding_id is None:
                return self.deprovision(
                    instance_id, service_id, plan_id, accepts_incomplete=True, identity=False
                )
            return self.unbind(
                instance_id, binding_id, service_id, plan_id, accepts_incomplete=True, identity=False
            )

        error.orphan_mitigation = self._orphan_mitigate(
            delete,
            lambda op: self.last_operation(
                instance_id, binding_id, op, service_id=service_id, plan_id=plan_id
            ),
        )
        return error

    def _orphan_mitigate(
        self,
        delete: Callable[[], OSBResponse],
        poll: Callable[[str | None], OSBResponse],
    ) -> list[OSBResponse]:
        """DELETE without a user identity until the broker says gone, a few times at most.

        CC retries 11 times over days; a test kit retries ``orphan_mitigation_attempts``
        times with the polling interval in between. A 202 is polled until gone.
        """
        answers: list[OSBResponse] = []
        for _ in range(self.polling.orphan_mitigation_attempts):
            try:
                answer = delete()
            except requests.RequestException:
                self.polling.sleep(self.polling.interval)
                continue
            answers.append(answer)
            if answer.status in (200, 410):
                return answers
            if answer.status == 202 and _valid_accepted(answer) and self._wait_gone(answer, poll):
                return answers
            self.polling.sleep(self.polling.interval)
        return answers

    def _wait_gone(self, accepted: OSBResponse, poll: Callable[[str | None], OSBResponse]) -> bool:
        operation = accepted.json.get("operation") if isinstance(accepted.json, dict) else None
        deadline = self.polling.clock() + self.polling.max_duration
        for _ in range(1_000_000):
            answer = poll(operation if isinstance(operation, str) else None)
            if answer.status == 410:
                return True
            state = answer.json.get("state") if isinstance(answer.json, dict) else None
            if state in (SUCCEEDED, FAILED):
                return state == SUCCEEDED
            if self.polling.clock() >= deadline:
                return False
            self.polling.sleep(self.polling.wait_after(answer))
        return False


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _valid_accepted(response: OSBResponse) -> bool:
    """A 202 body must be an object whose ``operation``, if any, is a string."""
    if not isinstance(response.json, dict):
        return False
    operation = response.json.get("operation")
    return operation is None or isinstance(operation, str)


def _is_rejection(response: OSBResponse) -> bool:
    """4xx that CC reports to the user without orphan mitigation (platforms.md §1.4).

    A 422 with no spec error code is a bad response on provision and bind: mitigated.
    """
    if response.status == 422:
        return response.error in (
            "AsyncRequired",
            "ConcurrencyError",
            "MaintenanceInfoConflict",
            "RequiresApp",
        )
    return 400 <= response.status < 500
