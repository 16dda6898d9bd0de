"""The sample app finds its bindings the way CF Python apps do, and refuses bad ones clearly.

``create_app`` is called in-process with hand-made ``VCAP_SERVICES`` (no server needed):
the database is found by tag ``mysql``/``postgresql``, Redis by tag ``redis``, from the
environment variable or the file of ``VCAP_SERVICES_FILE_PATH``. What cannot work
(nothing bound, two databases, not JSON, a broken or unreachable URL, a binding without
``sqlalchemy-uri``) stops it with a
one-line ``StartupError`` that never holds a password; under gunicorn, as the manifest
runs it, that line is all the platform's log shows.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from sample_app_support import APP_DIR, failed_start
from sqlalchemy import make_url

PASSWORD = "Pa55-w0rd!SECRET"
# Nothing listens on port 1 of loopback: connections are refused at once.
DB_URI = f"mysql://notes:{PASSWORD}@127.0.0.1:1/notes"
DB_SQLALCHEMY_URI = f"mysql+pymysql://notes:{PASSWORD}@127.0.0.1:1/notes"
REDIS_URI = f"redis://notes:{PASSWORD}@127.0.0.1:1/0"


def load_app() -> ModuleType:
    spec = importlib.util.spec_from_file_location("notes_sample_app", APP_DIR / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


notes_app = load_app()


def entry(
    name: str, label: str, tags: list[str], uri: str | None, sqlalchemy_uri: str | None = None
) -> dict[str, Any]:
    """One ``VCAP_SERVICES`` entry, as the Cloud Controller writes it (a database's has
    ``sqlalchemy-uri`` too, as the RDS broker gives it)."""
    credentials: dict[str, Any] = {} if uri is None else {"uri": uri, "password": PASSWORD}
    if sqlalchemy_uri is not None:
        credentials["sqlalchemy-uri"] = sqlalchemy_uri
    return {
        "label": label,
        "provider": None,
        "plan": "basic-small",
        "name": name,
        "tags": tags,
        "instance_guid": "8d2f8c6e-3f0b-4f57-9d1c-0c9f3c1f6a11",
        "instance_name": name,
        "binding_guid": "5b0e7f0e-5a4c-4b8e-a5de-2a9b7c4d3e21",
        "binding_name": None,
        "credentials": credentials,
        "syslog_drain_url": None,
        "volume_mounts": [],
    }


MYSQL_TAGS = ["mysql", "rds", "relational", "alibabacloud"]
MYSQL = entry("orders-db", "aliyun-rds-mysql", MYSQL_TAGS, DB_URI, DB_SQLALCHEMY_URI)
POSTGRES = entry(
    "audit-db",
    "aliyun-rds-postgresql",
    ["postgresql", "postgres", "rds", "relational", "alibabacloud"],
    f"postgresql://notes:{PASSWORD}@127.0.0.1:1/notes?sslmode=disable",
    f"postgresql+psycopg://notes:{PASSWORD}@127.0.0.1:1/notes?sslmode=disable",
)
REDIS = entry("cache", "aliyun-redis", ["redis", "keyvalue", "alibabacloud"], REDIS_URI)


def vcap(*entries: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for item in entries:
        out.setdefault(item["label"], []).append(item)
    return out


def startup_error(environ: dict[str, str]) -> str:
    with pytest.raises(notes_app.StartupError) as raised:
        notes_app.create_app(environ)
    message = str(raised.value)
    assert PASSWORD not in message and "\n" not in message
    return message


def test_bindings_are_found_by_tag() -> None:
    services = vcap(MYSQL, REDIS)
    database = notes_app.find_binding(services, notes_app.DATABASE_TAGS, "sqlalchemy-uri")
    cache = notes_app.find_binding(services, notes_app.REDIS_TAGS, "uri")
    assert (database.name, database.label) == ("orders-db", "aliyun-rds-mysql")
    assert database.uri == DB_SQLALCHEMY_URI
    assert (cache.name, cache.uri) == ("cache", REDIS_URI)
    postgres = notes_app.find_binding(vcap(POSTGRES, REDIS), notes_app.DATABASE_TAGS, "sqlalchemy-uri")
    assert postgres.name == "audit-db"


def test_the_sqlalchemy_uri_is_used_as_it_is() -> None:
    for item, driver in ((MYSQL, "mysql+pymysql"), (POSTGRES, "postgresql+psycopg")):
        binding = notes_app.find_binding(vcap(item), notes_app.DATABASE_TAGS, notes_app.DATABASE_KEY)
        engine = notes_app.database_engine(binding)
        assert engine.url.drivername == driver
        assert engine.url.password == PASSWORD  # percent-decoded from the uri as it should be
        assert engine.url == make_url(item["credentials"]["sqlalchemy-uri"])  # nothing rewritten
        engine.dispose()


def test_vcap_services_file_path_is_read(tmp_path: Path) -> None:
    path = tmp_path / "vcap.json"
    path.write_text(json.dumps(vcap(MYSQL, REDIS)), encoding="utf-8")
    # The file wins, as on a platform with the file-based-vcap-services feature.
    services = notes_app.read_vcap_services({"VCAP_SERVICES_FILE_PATH": str(path), "VCAP_SERVICES": "{}"})
    assert services == vcap(MYSQL, REDIS)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "VCAP_SERVICES is not set"),
        ({"VCAP_SERVICES": f'{{"x": "{PASSWORD}"'}, "VCAP_SERVICES is not JSON"),
        ({"VCAP_SERVICES": "[]"}, "VCAP_SERVICES is not a JSON object"),
        ({"VCAP_SERVICES_FILE_PATH": "/nonexistent/vcap.json"}, "cannot read VCAP_SERVICES_FILE_PATH"),
        ({"VCAP_SERVICES": json.dumps(vcap(REDIS))}, "no bound service is tagged mysql or postgresql"),
        ({"VCAP_SERVICES": json.dumps(vcap(MYSQL))}, "no bound service is tagged redis"),
        (
            {"VCAP_SERVICES": json.dumps(vcap(MYSQL, POSTGRES, REDIS))},
            "more than one bound service is tagged mysql or postgresql (audit-db, orders-db)",
        ),
        (
            {"VCAP_SERVICES": json.dumps(vcap(entry("db", "x", ["mysql"], None), REDIS))},
            "db have no sqlalchemy-uri",
        ),
        (
            {"VCAP_SERVICES": json.dumps(vcap(entry("db", "x", ["mysql"], DB_URI), REDIS))},
            "db have no sqlalchemy-uri: bindings made before the broker offered it lack it; bind the",
        ),
        (
            {"VCAP_SERVICES": json.dumps(vcap(MYSQL, entry("cache", "aliyun-redis", ["redis"], None)))},
            "cache have no uri",
        ),
    ],
    ids=[
        "unset",
        "not-json",
        "not-object",
        "no-file",
        "no-db",
        "no-redis",
        "two-dbs",
        "no-uri",
        "old-binding",
        "no-redis-uri",
    ],
)
def test_unusable_bindings_are_named(environ: dict[str, str], expected: str) -> None:
    assert expected in startup_error(environ)


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        (
            f"mysql+pymysql://notes:{PASSWORD}@127.0.0.1:port/notes",
            "the sqlalchemy-uri of db is not a database URL",
        ),
        (f"mongodb://notes:{PASSWORD}@127.0.0.1/notes", "is for 'mongodb', not mysql or postgresql"),
        (
            f"mysql+mysqldb://notes:{PASSWORD}@127.0.0.1:1/notes",
            "needs the driver 'mysql+mysqldb', which the app does not install",
        ),
        (DB_SQLALCHEMY_URI, "cannot use the database of db: OperationalError"),
    ],
    ids=["malformed", "other-scheme", "missing-driver", "unreachable"],
)
def test_a_bad_database_uri_is_refused_without_its_password(uri: str, expected: str) -> None:
    environ = {"VCAP_SERVICES": json.dumps(vcap(entry("db", "x", ["mysql"], DB_URI, uri), REDIS))}
    assert expected in startup_error(environ)


def test_an_unreachable_redis_is_refused_without_its_password(mysql_database: str) -> None:
    # A real (empty) database, so that start-up gets as far as Redis.
    database = entry(
        "db", "x", ["mysql"], mysql_database.replace("mysql+pymysql://", "mysql://"), mysql_database
    )
    environ = {"VCAP_SERVICES": json.dumps(vcap(database, REDIS))}
    assert "cannot use the Redis of cache: ConnectionError" in startup_error(environ)
    bad_scheme = entry("cache", "aliyun-redis", ["redis"], f"http://:{PASSWORD}@127.0.0.1:1")
    environ = {"VCAP_SERVICES": json.dumps(vcap(database, bad_scheme))}
    assert "the uri of cache is not a redis:// or rediss:// URL" in startup_error(environ)


@pytest.mark.slow
def test_gunicorn_prints_one_clear_line_and_exits(tmp_path: Path) -> None:
    code, output = failed_start({"VCAP_SERVICES": json.dumps(vcap(MYSQL, REDIS))}, tmp_path / "out.log")
    assert code != 0
    assert "Error: cannot use the database of orders-db: OperationalError" in output
    assert "Traceback" not in output and PASSWORD not in output
    # gunicorn gave up at once: it never listened, so no worker was forked to retry.
    assert "Listening at" not in output
