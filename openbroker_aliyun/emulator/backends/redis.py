"""R-kvstore instances backed by real ``redis-server`` child processes, one per instance.

A shared Redis server cannot isolate instances (ACL key patterns would force applications
to prefix their keys), so every emulated instance gets its own process on a free loopback
port, without persistence. The emulator manages it through a hidden ACL user with a random
password; the instance password becomes the ``default`` user's password (and that of the
user named after the instance id, as on Alibaba), accounts become ACL users. Clients reach
it through a ``RespAuthProxy`` (the reported port), which accepts Alibaba's one-argument
``AUTH user:password`` as well.

Children are killed at DeleteInstance, at ``close()`` and at interpreter exit; on Linux they
also die with the emulator process (``PR_SET_PDEATHSIG``), so a killed emulator leaves none.
"""

from __future__ import annotations

import atexit
import ctypes
import hashlib
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from .base import BackendError
from .resp_proxy import RespAuthProxy

log = logging.getLogger(__name__)

_ADMIN_USER = "aliyun-emulator-admin"
# RoleReadWrite: everything but administration. RoleReadOnly: reads and connection handling.
ACL_RULES = {
    "RoleReadWrite": ["~*", "&*", "+@all", "-@admin"],
    "RoleReadOnly": ["~*", "&*", "-@all", "+@read", "+@connection", "+@transaction", "+info", "-@admin"],
}
_START_ATTEMPTS = 3
_READY_POLLS = 200  # x 25 ms


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _password_rule(password: str) -> str:
    """An ACL password rule; config files hold the SHA-256, never the password."""
    if not password:
        return "nopass"
    return "#" + hashlib.sha256(password.encode()).hexdigest()


class RedisProcesses:
    """Starts, configures and stops one ``redis-server`` per emulated R-kvstore instance."""

    def __init__(self, binary: str = "redis-server", host: str = "127.0.0.1") -> None:
        resolved = shutil.which(binary)
        if resolved is None:
            raise ValueError(f"redis-server binary not found: {binary}")
        self.binary = resolved
        self.host = host
        self._workdir = Path(tempfile.mkdtemp(prefix="aliyun-emulator-redis-"))
        self._admin_password = secrets.token_urlsafe(24)
        self._processes: dict[str, subprocess.Popen[bytes]] = {}
        self._ports: dict[str, int] = {}  # the redis-server's own port (the emulator's access)
        self._proxies: dict[str, RespAuthProxy] = {}  # the port clients are given
        self._lock = threading.Lock()
        # PR_SET_PDEATHSIG fires when the *thread* that forked exits, so children are forked
        # from one long-lived thread rather than from short-lived request threads.
        self._spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="redis-spawner")
        atexit.register(self.close)

    def __repr__(self) -> str:
        return f"RedisProcesses({self.binary}, {len(self._processes)} running)"

    # -- lifecycle --------------------------------------------------------------------------

    def start(self, instance_id: str, password: str, *, port: int | None = None) -> int:
        """Start the instance's server and return the port clients use (``port`` if free)."""
        last_error = ""
        for _ in range(_START_ATTEMPTS):
            internal = _free_port(self.host)
            try:
                process = self._spawner.submit(self._spawn, instance_id, password, internal).result()
            except OSError as exc:
                raise BackendError.from_exception("start redis-server", exc) from None
            if self._wait_ready(process, internal):
                break
            last_error = self._log_tail(instance_id)
            self._kill(process)
        else:
            raise BackendError(f"start redis-server failed: {last_error or 'it did not become ready'}")
        try:
            proxy = RespAuthProxy(self.host, internal, port or 0)
        except OSError:
            proxy = RespAuthProxy(self.host, internal, 0)  # the old port is taken: a new one
        with self._lock:
            self._processes[instance_id] = process
            self._ports[instance_id] = internal
            self._proxies[instance_id] = proxy
        log.info("redis-server for %s listening on %s:%d", instance_id, self.host, proxy.port)
        return proxy.port

    def _spawn(self, instance_id: str, password: str, port: int) -> subprocess.Popen[bytes]:
        config = self._workdir / f"{instance_id}.conf"
        rule = _password_rule(password)
        lines = [
            f"port {port}",
            f"bind {self.host}",
            'save ""',
            "appendonly no",
            "protected-mode no",
            "daemonize no",
            f"dir {self._workdir}",
            f"logfile {self._workdir / (instance_id + '.log')}",
            f"user {_ADMIN_USER} on {_password_rule(self._admin_password)} ~* &* +@all",
            f"user default on {rule} ~* &* +@all",
            f"user {instance_id} on {rule} ~* &* +@all",
        ]
        fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write("\n".join(lines) + "\n")
        return subprocess.Popen(  # noqa: S603 - fixed argv, our own config file
            [self.binary, str(config)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )

    def _wait_ready(self, process: subprocess.Popen[bytes], port: int) -> bool:
        for _ in range(_READY_POLLS):
            if process.poll() is not None:
                return False
            try:
                client = self._client_for_port(port)
                client.ping()
                client.close()
                return True
            except redis.RedisError:
                time.sleep(0.025)
        return False

    def _log_tail(self, instance_id: str) -> str:
        path = self._workdir / f"{instance_id}.log"
        try:
            lines = path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return lines[-1] if lines else ""

    def stop(self, instance_id: str) -> None:
        with self._lock:
            process = self._processes.pop(instance_id, None)
            self._ports.pop(instance_id, None)
            proxy = self._proxies.pop(instance_id, None)
        if proxy is not None:
            proxy.close()
        if process is not None:
            self._kill(process)
            log.info("redis-server for %s stopped", instance_id)
        for suffix in (".conf", ".log"):
            (self._workdir / f"{instance_id}{suffix}").unlink(missing_ok=True)

    @staticmethod
    def _kill(process: subprocess.Popen[bytes]) -> None:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)

    def close(self) -> None:
        """Stop every child (idempotent)."""
        with self._lock:
            ids = list(self._processes)
        for instance_id in ids:
            self.stop(instance_id)
        self._spawner.shutdown(wait=True)
        shutil.rmtree(self._workdir, ignore_errors=True)
        atexit.unregister(self.close)

    def running(self) -> dict[str, int]:
        """Instance id → the client port of each live child."""
        with self._lock:
            return {i: self._proxies[i].port for i, p in self._processes.items() if p.poll() is None}

    def pid(self, instance_id: str) -> int | None:
        with self._lock:
            process = self._processes.get(instance_id)
        return process.pid if process else None

    # -- accounts ---------------------------------------------------------------------------

    def _client_for_port(self, port: int) -> redis.Redis:
        return redis.Redis(
            host=self.host,
            port=port,
            username=_ADMIN_USER,
            password=self._admin_password,
            socket_timeout=5,
            socket_connect_timeout=5,
            retry=Retry(NoBackoff(), 0),  # the callers decide about retrying (readiness polling)
        )

    def _command(self, instance_id: str, operation: str, args: tuple[str, ...], secret: str = "") -> None:
        with self._lock:
            port = self._ports.get(instance_id)
        if port is None:
            raise BackendError(f"no redis-server is running for {instance_id}")
        client = self._client_for_port(port)
        try:
            client.execute_command(*args)
        except redis.RedisError as exc:
            raise BackendError.from_exception(operation, exc, (secret,)) from None
        finally:
            client.close()

    def set_account(self, instance_id: str, name: str, password: str, privilege: str) -> None:
        """Create or replace the ACL user of an account (``reset`` first: no stale rights)."""
        rules = ("reset", "on", ">" + password, *ACL_RULES[privilege])
        self._command(instance_id, "ACL SETUSER", ("ACL", "SETUSER", name, *rules), password)

    def set_password(self, instance_id: str, name: str, password: str) -> None:
        secret_rule = ">" + password if password else "nopass"
        self._command(
            instance_id, "ACL SETUSER", ("ACL", "SETUSER", name, "resetpass", secret_rule), password
        )

    def delete_account(self, instance_id: str, name: str) -> None:
        """``ACL DELUSER`` also disconnects the user's sessions."""
        self._command(instance_id, "ACL DELUSER", ("ACL", "DELUSER", name))
