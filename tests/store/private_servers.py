"""Throw-away PostgreSQL and MariaDB servers that a test may stop and start again.

The machine's own servers on 5432 and 3306 serve every other test (and other people's),
so a test that needs a database to go away starts a private one: a fresh data directory
in a temporary folder, loopback only, a free port, the installed server binaries
(``initdb`` and ``pg_ctl`` of the newest PostgreSQL under /usr/lib/postgresql,
``mariadb-install-db`` and ``mariadbd``). Starting one takes about a second. As root,
PostgreSQL runs as the ``postgres`` user (it refuses root) and MariaDB with
``--user=root``.

Without the binaries the test is skipped on a laptop and fails in CI, like the tests of
the shared servers (``backing_services``).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg
import pymysql
from backing_services import missing

START_LIMIT = 60.0  # seconds a server may take to start or stop


def _require(what: str, found: object) -> None:
    if not found:
        missing(f"{what} is not installed", "install it")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PrivatePostgres:
    """A PostgreSQL server of its own (``start``, ``stop``, ``url``, ``create_database``)."""

    def __init__(self) -> None:
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        _require("PostgreSQL's server (pg_ctl, initdb)", bins)
        self._bin = Path(bins[-1]).parent
        self._as: dict[str, Any] = {}
        # mkdtemp: mode 0700 under /tmp, which the postgres user can reach once it owns it
        # (pytest's tmp_path lies under a folder only root may enter).
        self.folder = Path(tempfile.mkdtemp(prefix="openbroker-pg-"))
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
            self._as = {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": []}
        self.port = _free_port()
        self._run("initdb", "-D", str(self.folder / "data"), "-A", "trust", "-U", "postgres", "--no-sync")

    def _run(self, program: str, *args: str) -> None:
        subprocess.run(
            [str(self._bin / program), *args],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=START_LIMIT,
            cwd=self.folder,
            **self._as,
        )

    def start(self) -> None:
        options = f"-k {self.folder} -p {self.port} -h 127.0.0.1 -F"
        data, log = str(self.folder / "data"), str(self.folder / "server.log")
        self._run("pg_ctl", "-D", data, "-o", options, "-l", log, "-w", "-t", str(int(START_LIMIT)), "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server; ``fast`` ends every session at once, as a restart does."""
        data = str(self.folder / "data")
        self._run("pg_ctl", "-D", data, "-m", mode, "-w", "-t", str(int(START_LIMIT)), "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        admin = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def close(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # not running
            self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)


class PrivateMariaDB:
    """A MariaDB server of its own; ``options`` go to ``mariadbd`` (``--sql-mode=``, say)."""

    def __init__(self, *options: str) -> None:
        _require("MariaDB's server (mariadb-install-db, mariadbd)", shutil.which("mariadbd"))
        _require("MariaDB's server (mariadb-install-db, mariadbd)", shutil.which("mariadb-install-db"))
        self.folder = Path(tempfile.mkdtemp(prefix="openbroker-my-"))
        self.port = _free_port()
        self._options = options
        self._root = ["--user=root"] if os.geteuid() == 0 else []
        self._process: subprocess.Popen[bytes] | None = None
        subprocess.run(
            [
                "mariadb-install-db",
                "--no-defaults",
                f"--datadir={self.folder / 'data'}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                *self._root,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=START_LIMIT,
        )

    def start(self) -> None:
        self._process = subprocess.Popen(
            [
                "mariadbd",
                "--no-defaults",
                f"--datadir={self.folder / 'data'}",
                f"--socket={self.folder / 'mysqld.sock'}",
                f"--port={self.port}",
                "--bind-address=127.0.0.1",
                f"--pid-file={self.folder / 'mysqld.pid'}",
                f"--log-error={self.folder / 'server.log'}",
                "--innodb-buffer-pool-size=16M",
                *self._root,
                *self._options,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_LIMIT
        while True:
            try:
                self._admin().close()
                return
            except pymysql.err.OperationalError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"mariadbd did not start; see {self.folder / 'server.log'}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        """Stop the server (a normal shutdown: every session ends)."""
        process, self._process = self._process, None
        if process is None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(START_LIMIT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(START_LIMIT)

    def _admin(self) -> pymysql.connections.Connection[Any]:
        return pymysql.connect(host="127.0.0.1", port=self.port, user="root", password="", autocommit=True)

    def url(self, database: str) -> str:
        return f"mysql+pymysql://root@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        connection = self._admin()
        try:
            with connection.cursor() as cursor:
                cursor.execute(f"CREATE DATABASE `{name}`")
        finally:
            connection.close()
        return self.url(name)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)
