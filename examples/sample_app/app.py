"""Notes: a Cloud Foundry app that keeps notes in a bound database and counts writes in a bound Redis.

It reads its bindings from ``VCAP_SERVICES`` the way Python apps on Cloud Foundry do
(py-cfenv style, with nothing but ``json``): the database is the binding tagged ``mysql``
or ``postgresql``, reached through its credentials' ``sqlalchemy-uri`` (the URL with the
driver SQLAlchemy must use, PyMySQL or psycopg 3), and the cache the binding tagged
``redis``, reached through its ``uri``. With the ``file-based-vcap-services`` app feature
the platform puts the JSON in a file named by ``VCAP_SERVICES_FILE_PATH`` instead; both
work.

Routes: ``POST /notes`` with ``{"text": "..."}`` stores a note and increments the Redis
counter; ``GET /notes`` lists the notes and the counter; ``GET /health`` checks both
services. Run it with ``gunicorn --preload 'app:create_app()'`` (see manifest.yml).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
import sqlalchemy as sa
from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

DATABASE_TAGS = ("mysql", "postgresql")
REDIS_TAGS = ("redis",)
# The credential key each service is reached through: the database's names the driver
# (``mysql+pymysql://``, ``postgresql+psycopg://``), which requirements.txt installs.
DATABASE_KEY, REDIS_KEY = "sqlalchemy-uri", "uri"
DATABASE_BACKENDS = ("mysql", "postgresql")  # SQLAlchemy's names, before the "+driver"
COUNTER_KEY = "notes:written"
MAX_TEXT = 1000
MAX_LIMIT = 1000
TIMEOUT_SECONDS = 5

log = logging.getLogger("notes")

metadata = sa.MetaData()
notes = sa.Table(
    "notes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("text", sa.String(MAX_TEXT), nullable=False),
)


class StartupError(RuntimeError):
    """The app cannot start: bindings missing or unusable. The message never holds a secret.

    A ``RuntimeError``, so that gunicorn prints the message alone and exits.
    """


@dataclass(frozen=True)
class Binding:
    """The parts of one ``VCAP_SERVICES`` entry the app uses: ``uri`` is the URL read from
    the credential key the app asked for (``key``)."""

    name: str
    label: str
    key: str
    uri: str


def read_vcap_services(environ: Mapping[str, str]) -> dict[str, Any]:
    """The ``VCAP_SERVICES`` object, from ``VCAP_SERVICES_FILE_PATH`` or ``VCAP_SERVICES``."""
    path = environ.get("VCAP_SERVICES_FILE_PATH")
    if path:
        try:
            raw = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise StartupError(f"cannot read VCAP_SERVICES_FILE_PATH {path}: {exc.strerror}") from None
        source = "the file at VCAP_SERVICES_FILE_PATH"
    else:
        if not environ.get("VCAP_SERVICES"):
            raise StartupError("VCAP_SERVICES is not set: bind a database and a Redis, then restage")
        raw, source = environ["VCAP_SERVICES"], "VCAP_SERVICES"
    try:
        services = json.loads(raw)
    except json.JSONDecodeError as exc:  # the message gives a position, never the text
        raise StartupError(f"{source} is not JSON: {exc}") from None
    if not isinstance(services, dict):
        raise StartupError(f"{source} is not a JSON object")
    return services


def find_binding(services: Mapping[str, Any], tags: Iterable[str], key: str) -> Binding:
    """The one binding carrying one of ``tags``, as cfenv's ``get_service(tags=...)`` finds it,
    with the URL in its credentials' ``key``."""
    wanted = set(tags)
    found = [
        entry
        for entries in services.values()
        if isinstance(entries, list)
        for entry in entries
        if isinstance(entry, dict) and wanted & set(entry.get("tags") or ())
    ]
    what = " or ".join(sorted(wanted))
    if not found:
        raise StartupError(f"no bound service is tagged {what}: bind one and restage")
    if len(found) > 1:
        names = ", ".join(sorted(str(entry.get("name")) for entry in found))
        raise StartupError(f"more than one bound service is tagged {what} ({names}): keep one")
    [entry] = found
    name = str(entry.get("name"))
    credentials = entry.get("credentials")
    uri = credentials.get(key) if isinstance(credentials, dict) else None
    if not isinstance(uri, str) or not uri:
        hint = ""
        if isinstance(credentials, dict) and credentials.get("uri"):
            hint = ": bindings made before the broker offered it lack it; bind the service again"
        raise StartupError(f"the credentials of {name} have no {key}{hint}")
    return Binding(name=name, label=str(entry.get("label")), key=key, uri=uri)


def database_engine(binding: Binding) -> sa.Engine:
    """A SQLAlchemy engine for the binding's ``sqlalchemy-uri``, used as it is (no connection yet)."""
    what = f"the {binding.key} of {binding.name}"
    try:
        url = sa.make_url(binding.uri)
    except (sa.exc.ArgumentError, ValueError):  # messages may repeat the uri, password and all
        raise StartupError(f"{what} is not a database URL") from None
    if url.get_backend_name() not in DATABASE_BACKENDS:
        raise StartupError(f"{what} is for {url.get_backend_name()!r}, not mysql or postgresql")
    connect_args = {"connect_timeout": TIMEOUT_SECONDS}
    try:
        # pre_ping: a connection the server closed (restart, failover) is replaced, not used.
        return sa.create_engine(url, pool_pre_ping=True, connect_args=connect_args)
    except (ImportError, sa.exc.NoSuchModuleError):
        raise StartupError(
            f"{what} needs the driver {url.drivername!r}, which the app does not install"
        ) from None


def redis_client(binding: Binding) -> redis.Redis:
    """A Redis client for a ``redis://`` or ``rediss://`` uri (no connection yet)."""
    if not binding.uri.startswith(("redis://", "rediss://")):
        raise StartupError(f"the {binding.key} of {binding.name} is not a redis:// or rediss:// URL")
    try:
        return redis.Redis.from_url(
            binding.uri, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS
        )
    except ValueError:  # a malformed port or database number; the message may hold the uri
        raise StartupError(f"the {binding.key} of {binding.name} is not a valid Redis URL") from None


def prepare(engine: sa.Engine, cache: redis.Redis, database: Binding, kv: Binding) -> None:
    """Reach both services and create the table: fail at start, where the platform shows it."""
    try:
        metadata.create_all(engine)
    except sa.exc.SQLAlchemyError as exc:
        raise StartupError(f"cannot use the database of {database.name}: {_reason(exc)}") from None
    finally:
        # gunicorn --preload forks workers after this: none may inherit a pooled connection.
        engine.dispose()
    try:
        cache.ping()
    except redis.RedisError as exc:
        raise StartupError(f"cannot use the Redis of {kv.name}: {_reason(exc)}") from None
    finally:
        cache.connection_pool.disconnect()


def create_app(environ: Mapping[str, str] | None = None) -> Flask:
    """The WSGI app, from ``environ`` (default ``os.environ``); raises ``StartupError``."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    services = read_vcap_services(os.environ if environ is None else environ)
    database = find_binding(services, DATABASE_TAGS, DATABASE_KEY)
    kv = find_binding(services, REDIS_TAGS, REDIS_KEY)
    engine, cache = database_engine(database), redis_client(kv)
    prepare(engine, cache, database, kv)
    log.info("using database %s (%s) and redis %s (%s)", database.name, database.label, kv.name, kv.label)

    app = Flask("notes")

    @app.post("/notes")
    def add_note() -> tuple[Response, int]:
        body = request.get_json(silent=True)
        text = body.get("text") if isinstance(body, dict) else None
        if not isinstance(text, str) or not text.strip():
            return _error(400, 'send a JSON object {"text": "..."} with a non-empty text')
        if len(text) > MAX_TEXT:
            return _error(400, f"text is longer than {MAX_TEXT} characters")
        with engine.begin() as conn:
            [note_id] = conn.execute(notes.insert().values(text=text)).inserted_primary_key or (None,)
        written = cache.incr(COUNTER_KEY)
        return jsonify(id=note_id, text=text, written=written), 201

    @app.get("/notes")
    def list_notes() -> tuple[Response, int]:
        limit = request.args.get("limit", "100")
        if not limit.isdecimal() or not 1 <= int(limit) <= MAX_LIMIT:
            return _error(400, f"limit must be a whole number from 1 to {MAX_LIMIT}")
        query = sa.select(notes.c.id, notes.c.text).order_by(notes.c.id).limit(int(limit))
        with engine.connect() as conn:
            rows = [{"id": row.id, "text": row.text} for row in conn.execute(query)]
        written = int(cache.get(COUNTER_KEY) or 0)
        return jsonify(notes=rows, written=written), 200

    @app.get("/health")
    def health() -> tuple[Response, int]:
        checks = {"database": "UP", "redis": "UP"}
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError as exc:
            log.warning("health: database %s: %s", database.name, _reason(exc))
            checks["database"] = "DOWN"
        try:
            cache.ping()
        except redis.RedisError as exc:
            log.warning("health: redis %s: %s", kv.name, _reason(exc))
            checks["redis"] = "DOWN"
        up = all(state == "UP" for state in checks.values())
        return jsonify(status="UP" if up else "DOWN", **checks), 200 if up else 503

    @app.errorhandler(sa.exc.SQLAlchemyError)
    def database_down(exc: sa.exc.SQLAlchemyError) -> tuple[Response, int]:
        log.warning("database %s: %s", database.name, _reason(exc))
        return _error(503, "the database is not available")

    @app.errorhandler(redis.RedisError)
    def redis_down(exc: redis.RedisError) -> tuple[Response, int]:
        log.warning("redis %s: %s", kv.name, _reason(exc))
        return _error(503, "redis is not available")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Response, int]:
        return _error(exc.code or 500, exc.description or exc.name)

    return app


def _error(status: int, message: str) -> tuple[Response, int]:
    return jsonify(error=message), status


def _reason(exc: BaseException) -> str:
    """What went wrong, for logs: the driver's own message (SQLAlchemy's adds the SQL).

    Drivers name the user and host, never the password.
    """
    original = getattr(exc, "orig", None)
    cause = original if isinstance(original, BaseException) else exc
    return f"{type(cause).__name__}: {cause}"
