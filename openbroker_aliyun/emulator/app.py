"""The emulator as one WSGI application: protocol → faults → product actions → JSON.

Usage in-process (tests, a broker's ``--demo``)::

    app = create_emulator_app(EmulatorConfig.instant())
    # serve it with any WSGI server, or use EmulatorServer (server.py)
    app.calls.count("CreateDBInstance")        # how many calls a broker made
    app.discard()                              # drops what it made on backing servers
    app.close()                                # stops redis-server children
"""

from __future__ import annotations

import contextlib
import errno
import logging
import socket
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Iterable

from werkzeug.wrappers import Request, Response

from .admin import PREFIX, AdminApi
from .backends.base import BackendError, SqlBackend
from .calls import CallCounter
from .config import EmulatorConfig
from .discard import Discarded
from .errors import INTERNAL_ERROR, SERVICE_UNAVAILABLE, THROTTLING, ApiError
from .faults import FaultInjector
from .kvstore import READ_ONLY_ACTIONS as KVSTORE_READS
from .kvstore import KvstoreActions
from .params import Params
from .persistence import StateFile
from .protocol import (
    Authenticator,
    RawCall,
    error_response,
    json_response,
    new_request_id,
    read_call,
    require_product,
)
from .ratelimit import RateLimiter
from .rds import READ_ONLY_ACTIONS as RDS_READS
from .rds import RdsActions
from .state import CloudState

if TYPE_CHECKING:
    from .backends.redis import RedisProcesses

log = logging.getLogger("openbroker_aliyun.emulator")

StartResponse = Callable[..., Any]
_ERRORS_OF_FAULTS = {
    "Throttling": THROTTLING,
    "ServiceUnavailable": SERVICE_UNAVAILABLE,
    "InternalError": INTERNAL_ERROR,
}


class _Dropped(ConnectionAbortedError):
    """Raised to make the WSGI server abandon a connection we closed on purpose."""


class EmulatorApp:
    """A WSGI application emulating RDS 2014-08-15 and R-kvstore 2015-01-01.

    Public attributes for in-process users: ``config``, ``calls`` (``CallCounter``),
    ``faults`` (``FaultInjector``); ``instances()`` is the admin view of what exists.
    """

    def __init__(self, config: EmulatorConfig, *, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self._clock = clock
        self._lock = threading.RLock()
        self.calls = CallCounter()
        self.faults = FaultInjector(list(config.faults), config.fault_seed)
        self._auth = Authenticator(
            config.access_keys,
            timestamp_tolerance_seconds=config.timestamp_tolerance_seconds,
            check_nonce=config.check_nonce,
        )
        self._limiter = RateLimiter(config.rate_limit)
        self._state_file = StateFile(config.state_file) if config.state_file else None
        self._state = (self._state_file.load() if self._state_file else None) or CloudState()
        # Drivers are imported only when a backing server is configured (faster start).
        backends: dict[str, SqlBackend] = {}
        if config.mysql_url:
            from .backends.mysql import MySqlBackend

            backends["mysql"] = MySqlBackend(config.mysql_url)
        if config.postgres_url:
            from .backends.postgres import PostgresBackend

            backends["postgres"] = PostgresBackend(config.postgres_url)
        self._backends = backends
        self._redis: RedisProcesses | None = None
        if config.redis:
            from .backends.redis import RedisProcesses

            self._redis = RedisProcesses(config.redis_server_binary)
        self._kvstore = KvstoreActions(self._state, self._redis, config, clock)
        self._products: dict[str, RdsActions | KvstoreActions] = {
            "rds": RdsActions(self._state, backends, config, clock),
            "r-kvstore": self._kvstore,
        }
        self._reads = {"rds": RDS_READS, "r-kvstore": KVSTORE_READS}
        self._admin = AdminApi(self.calls, self.faults, self.instances)
        self._describe_backing(backends)
        if self._state_file and (self._state.rds or self._state.kvstore):
            with self._lock:
                self._kvstore.restore()
                self._state_file.save(self._state)
            log.info("state loaded from %s", self._state_file.path)

    def _describe_backing(self, backends: dict[str, SqlBackend]) -> None:
        for kind, label in (("mysql", "RDS MySQL/MariaDB"), ("postgres", "RDS PostgreSQL")):
            backend = backends.get(kind)
            if backend is None:
                log.info("%s: no backing server; the emulator keeps metadata only", label)
            else:
                log.info("%s: backed by the server at %s:%d", label, backend.host, backend.port)
        if self._redis is None:
            log.info("R-kvstore: no redis-server backing; the emulator keeps metadata only")
        else:
            log.info("R-kvstore: one %s child process per instance", self._redis.binary)

    # -- WSGI -------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        if request.path == PREFIX or request.path.startswith(PREFIX + "/"):
            response = self._admin(request)
        else:
            response = self._api(request)
        return response(environ, start_response)

    def _api(self, request: Request) -> Response:
        request_id = new_request_id()
        call = read_call(request)
        host = request.host or "127.0.0.1"
        try:
            if request.path != "/" or request.method not in ("GET", "POST"):
                raise ApiError(
                    "InvalidAction.NotFound",
                    "Specified api is not found, please check your url and method.",
                    404,
                )
            product = require_product(call)
            access_key_id = self._auth.authenticate(call)
            self._limiter.check(access_key_id)
        except ApiError as error:
            self._record(call, error.code)
            return error_response(error, request_id, call.product, host)
        action = call.action or ""

        fault = self.faults.pick(product, action)
        if fault is not None and fault.kind == "latency":
            time.sleep(fault.seconds)
            fault = None
        if fault is not None and fault.kind in _ERRORS_OF_FAULTS:
            self.calls.record(product, action, fault.kind)
            log.info("%s %s -> injected %s", product, action, fault.kind)
            return error_response(ApiError(*_ERRORS_OF_FAULTS[fault.kind]), request_id, product, host)
        if fault is not None and fault.kind == "drop":
            self.calls.record(product, action, "drop")
            log.info("%s %s -> injected drop", product, action)
            return self._drop(request)

        response, outcome = self._perform(product, action, call, request_id, host)
        if fault is None:
            self.calls.record(product, action, outcome)
            log.info("%s %s -> %s", product, action, outcome)
        else:  # lost_response / lost_response_drop: done, but the caller won't know
            self.calls.record(product, action, fault.kind)
            log.info(
                "%s %s -> performed (%d), response lost (%s)",
                product,
                action,
                response.status_code,
                fault.kind,
            )
            if fault.kind == "lost_response_drop":
                return self._drop(request)
            return error_response(ApiError(*SERVICE_UNAVAILABLE), request_id, product, host)
        return response

    def _perform(
        self, product: str, action: str, call: RawCall, request_id: str, host: str
    ) -> tuple[Response, str]:
        """Run the action under the state lock; returns the response and its outcome."""
        actions = self._products[product]
        params = Params(call.api_params())
        outcome = "ok"
        try:
            with self._lock:
                settled = actions.settle(self._clock())
                try:
                    body = actions.handle(action, params)
                finally:
                    # Writes are saved even when they fail part-way (a backing server error).
                    if self._state_file is not None and (settled or action not in self._reads[product]):
                        self._state_file.save(self._state)
        except ApiError as refused:
            outcome = refused.code
            response = error_response(refused, request_id, product, host)
        except BackendError as exc:
            log.warning("%s %s: backing server error: %s", product, action, exc)
            failed = ApiError("InternalError", f"The emulator's backing server failed: {exc}", 500)
            outcome = failed.code
            response = error_response(failed, request_id, product, host)
        except Exception:  # a bug in the emulator: still answer as Alibaba would, never a traceback
            log.exception("%s %s failed unexpectedly", product, action)
            failed = ApiError(*INTERNAL_ERROR)
            outcome = failed.code
            response = error_response(failed, request_id, product, host)
        else:
            response = json_response({**body, "RequestId": request_id})
        return response, outcome

    def _record(self, call: RawCall, outcome: str) -> None:
        if call.action:
            self.calls.record(call.product or "unknown", call.action, outcome)

    def _drop(self, request: Request) -> Response:
        """Close the client's connection without answering (a transport error for the SDK)."""
        sock = request.environ.get("werkzeug.socket") or request.environ.get("gunicorn.socket")
        if not isinstance(sock, socket.socket):
            log.warning("this WSGI server does not expose its socket; answering 503 instead of dropping")
            return error_response(ApiError(*SERVICE_UNAVAILABLE), new_request_id(), None, request.host)
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        raise _Dropped(errno.ECONNRESET, "connection dropped by fault injection")

    # -- views and shutdown -----------------------------------------------------------------

    def instances(self) -> dict[str, Any]:
        """What exists, as the admin API shows it (statuses settled; never passwords)."""
        with self._lock:
            now = self._clock()
            for actions in self._products.values():
                if actions.settle(now) and self._state_file is not None:
                    self._state_file.save(self._state)
            return {
                "rds": [
                    {
                        "DBInstanceId": i.id,
                        "DBInstanceStatus": i.status,
                        "Engine": i.engine,
                        "EngineVersion": i.engine_version,
                        "DBInstanceClass": i.instance_class,
                        "DBInstanceDescription": i.description,
                        "ConnectionString": i.host,
                        "Port": str(i.port),
                        "Backed": i.backend is not None,
                        "Databases": list(i.databases),
                        "Accounts": [
                            {"AccountName": a.name, "AccountType": a.type, "Privileges": dict(a.privileges)}
                            for a in i.accounts.values()
                        ],
                        "Tags": dict(i.tags),
                    }
                    for i in self._state.rds.values()
                ],
                "r-kvstore": [
                    {
                        "InstanceId": i.id,
                        "InstanceStatus": i.status,
                        "InstanceName": i.name,
                        "EngineVersion": i.engine_version,
                        "InstanceClass": i.instance_class,
                        "ConnectionDomain": i.host,
                        "Port": i.port,
                        "Backed": i.backed,
                        "Accounts": [
                            {"AccountName": a.name, "AccountPrivilege": a.privilege}
                            for a in i.accounts.values()
                        ],
                        "Tags": dict(i.tags),
                    }
                    for i in self._state.kvstore.values()
                ],
            }

    def redis_processes(self) -> RedisProcesses | None:
        """The redis-server manager when R-kvstore is backed (tests inspect its children)."""
        return self._redis

    def discard(self) -> Discarded:
        """Remove every instance, with what it made on the backing servers.

        Drops each RDS instance's databases and accounts (and on PostgreSQL the roles its
        accounts made) and stops each R-kvstore instance's redis-server; then the state is
        empty (saved so, with a state file). Nothing the state does not list is touched.
        For a throw-away emulator (a broker's ``--demo``): call it once nothing calls the
        emulator any more, before ``close()``.
        """
        with self._lock:
            now = self._clock()
            gone = Discarded()
            for actions in self._products.values():
                actions.settle(now)
                gone += actions.discard()
            # A ClientToken of a discarded instance must not answer with it again.
            self._state.tokens.clear()
            if self._state_file is not None:
                self._state_file.save(self._state)
        for problem in gone.problems:
            log.warning("discard: %s", problem)
        log.info("discarded every instance: %s", gone.summary)
        return gone

    def close(self) -> None:
        """Stop the redis-server children; the state file (if any) keeps the metadata."""
        if self._redis is not None:
            self._redis.close()
        for backend in self._backends.values():
            backend.close()


def create_emulator_app(config: EmulatorConfig, *, clock: Callable[[], float] = time.time) -> EmulatorApp:
    """Build the WSGI application; call ``close()`` on it when done."""
    return EmulatorApp(config, clock=clock)
