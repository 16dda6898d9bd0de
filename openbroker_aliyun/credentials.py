"""Binding credentials shared by every broker: passwords, account names, URIs, key sets.

The key set follows the project's platform research (``uri``, ``host``/``hostname``,
``port``, ``username``, ``password``, ``database``/``name``, ``type``, ``provider``), one
flat object that Cloud Foundry apps (java-cfenv, py-cfenv), servicebinding.io projections
(Korifi, Kubernetes operators) and Spring Cloud Bindings all read. Every key is a
servicebinding.io entry name (``[a-z0-9.-]``) except ``tls_port`` (read by java-cfenv,
accepted by Cloud Foundry) and the opt-in ``jdbcUrl`` (camelCase: it breaks CF's
``service-binding-k8s`` mode, hence off by default). Beside the generic ``uri``,
databases get ``sqlalchemy-uri``, the same URL with SQLAlchemy's dialect and driver
(named like Spring Cloud Bindings' ``jdbc-url`` and ``r2dbc-url``): SQLAlchemy reads
``mysql://`` as mysqlclient and, up to 2.0, ``postgresql://`` as psycopg2, drivers that
need a compiler or system libraries and that apps often do not install.

Nothing here knows a cloud: a broker passes its own rules (a password's length and
special characters, an account name's longest length and forbidden prefixes, the
``provider`` of its credentials); the Alibaba brokers' are in
``aliyun_brokers.common.credentials``. Nothing here ever logs or echoes a password.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string
from typing import Any, Literal, Mapping, Sequence
from urllib.parse import quote, urlencode

from openbroker_aliyun.domain import Endpoint

#: The special characters ``generate_password`` uses unless told otherwise: punctuation
#: that shells and most services accept in passwords (URIs get it percent-encoded).
DEFAULT_PASSWORD_SPECIALS = "!@#$%^&*()_+-="  # noqa: S105 (an alphabet, not a password)
#: The lengths ``generate_password`` makes: long enough to hold every character class and
#: be unguessable, short enough for any column. A service's own limits may be narrower.
PASSWORD_MIN_LENGTH, PASSWORD_MAX_LENGTH = 8, 128

#: SQLAlchemy's ``dialect+driver`` in ``sqlalchemy-uri``, per engine: the drivers that
#: install from wheels everywhere (PyMySQL is pure Python; psycopg 3, psycopg2's
#: successor, is SQLAlchemy 2.1's default for PostgreSQL).
SQLALCHEMY_DRIVERS = {"mysql": "mysql+pymysql", "postgresql": "postgresql+psycopg"}
#: What ``sqlalchemy-uri`` adds for TLS, per engine: libpq's ``sslmode=require``; for
#: PyMySQL an ``ssl`` option (SQLAlchemy turns ``ssl_check_hostname`` into
#: ``ssl={"check_hostname": False}``), which makes it insist on TLS. Neither checks the
#: server certificate: the credentials carry no CA.
_SQLALCHEMY_TLS = {"mysql": {"ssl_check_hostname": "false"}, "postgresql": {"sslmode": "require"}}

_ACCOUNT_PREFIX = re.compile(r"^[a-z][a-z0-9_]*$")
# 8 hex digits keep names unique enough within one instance; more when room allows.
_MIN_HASH_CHARS, _MAX_HASH_CHARS = 8, 24
_UNSAFE_HOST = re.compile(r"[\s/@?#\\]")


def generate_password(length: int = 24, *, specials: str = DEFAULT_PASSWORD_SPECIALS) -> str:
    """A random password (``secrets``) with a lower-case letter, an upper-case letter, a
    digit and, when ``specials`` is not empty, a special character.

    ``length`` must be within ``PASSWORD_MIN_LENGTH`` to ``PASSWORD_MAX_LENGTH`` (8 to
    128); ``specials`` a subset of printable ASCII punctuation (the default is
    ``DEFAULT_PASSWORD_SPECIALS``). Passwords may hold URI delimiters: ``build_uri``
    percent-encodes them.
    """
    if not PASSWORD_MIN_LENGTH <= length <= PASSWORD_MAX_LENGTH:
        raise ValueError(f"password length must be {PASSWORD_MIN_LENGTH}-{PASSWORD_MAX_LENGTH}, not {length}")
    if not set(specials) <= set(string.punctuation):
        raise ValueError("specials must be ASCII punctuation characters")
    classes = [string.ascii_lowercase, string.ascii_uppercase, string.digits]
    if specials:
        classes.append(specials)
    # One character of each class, the rest from all of them, then shuffled.
    chars = [secrets.choice(group) for group in classes]
    alphabet = "".join(classes)
    chars += [secrets.choice(alphabet) for _ in range(length - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


def generate_account_name(
    prefix: str, unique: str, *, max_length: int, forbidden_prefixes: Sequence[str] = ()
) -> str:
    """A database or Redis account name derived from ``unique`` (e.g. the binding id).

    ``prefix`` followed by the first hex digits of SHA-256(``unique``): lower-case
    letters, digits and ``_``, starting with a letter (the prefix's first character) and
    ending with a hex digit, at most ``max_length`` long, the same for the same input
    (so a retried bind finds its account again). Raises ``ValueError`` if ``prefix`` is
    not ``[a-z][a-z0-9_]*``, leaves fewer than 8 characters for the hash, or could start
    a name with one of ``forbidden_prefixes`` (e.g. ``POSTGRESQL_FORBIDDEN_PREFIXES``).
    """
    if not _ACCOUNT_PREFIX.match(prefix):
        raise ValueError(f"account name prefix {prefix!r} must match [a-z][a-z0-9_]*")
    room = max_length - len(prefix)
    if room < _MIN_HASH_CHARS:
        raise ValueError(f"prefix {prefix!r} leaves fewer than {_MIN_HASH_CHARS} characters of {max_length}")
    for forbidden in forbidden_prefixes:
        low = forbidden.lower()
        # Either way round, some hash could produce a forbidden name: refuse up front.
        if prefix.startswith(low) or low.startswith(prefix):
            raise ValueError(f"prefix {prefix!r} would make names starting with the forbidden {forbidden!r}")
    digest = hashlib.sha256(unique.encode()).hexdigest()
    return prefix + digest[: min(room, _MAX_HASH_CHARS)]


def build_uri(
    scheme: str,
    *,
    host: str,
    port: int,
    username: str | None,
    password: str | None,
    path: str = "",
    query: Mapping[str, str] | None = None,
) -> str:
    """``scheme://user:password@host:port/path?query`` with RFC 3986 percent-encoding.

    ``username`` and ``password`` are percent-encoded whole (every character but the
    unreserved ones), so any password survives ``urllib.parse``, SQLAlchemy, psycopg,
    redis-py and PyMySQL parsing. ``username=None`` with a password gives
    ``:password@`` (Redis without ACL user); both ``None`` give no userinfo. ``path`` is
    one segment (a database name or Redis index), percent-encoded; an IPv6 ``host`` is
    bracketed.
    """
    if not re.match(r"^[a-z][a-z0-9+.-]*$", scheme):
        raise ValueError(f"invalid URI scheme {scheme!r}")
    netloc = f"{_host(host)}:{_port(port)}"
    if username is not None or password is not None:
        userinfo = quote(username or "", safe="")
        if password is not None:
            userinfo += ":" + quote(password, safe="")
        netloc = f"{userinfo}@{netloc}"
    uri = f"{scheme}://{netloc}"
    if path:
        uri += "/" + quote(path, safe="")
    if query:
        uri += "?" + urlencode(query, quote_via=quote)
    return uri


def database_credentials(
    *,
    engine: Literal["mysql", "postgresql"],
    host: str,
    port: int,
    username: str,
    password: str,
    database: str,
    tls: bool,
    jdbc: bool = False,
    provider: str | None = None,
) -> dict[str, Any]:
    """The credentials of a MySQL or PostgreSQL binding.

    Keys: ``uri`` (``mysql://`` or ``postgresql://``), ``sqlalchemy-uri`` (the same with
    ``SQLALCHEMY_DRIVERS``' driver, and with ``tls`` that driver's TLS option), ``host``,
    ``hostname``, ``port`` (a number), ``username``, ``password``, ``database``, ``name``
    (both the database name), ``type`` (the engine), ``provider`` (when given: who runs
    the service, e.g. ``alibabacloud``, an entry servicebinding.io recommends); for
    PostgreSQL with ``tls`` also ``sslmode: require`` and ``?sslmode=require`` in ``uri``;
    with ``jdbc`` also ``jdbcUrl`` (user and password as encoded query parameters; with
    ``tls``, ``sslmode=require`` or
    ``useSSL=true&requireSSL=true&verifyServerCertificate=false``).

    A MySQL ``uri`` carries no TLS parameter even with ``tls``: clients spell it each
    their own way (``ssl-mode``, ``sslMode``, ``ssl_mode``) and SQLAlchemy with PyMySQL
    fails on any of them, so MySQL apps turn TLS on in their own settings (or the
    instance enforces it); ``sqlalchemy-uri`` names its driver, so it carries that
    driver's spelling. As with ``sslmode=require``, none of these verify the server
    certificate.
    """
    if engine not in ("mysql", "postgresql"):
        raise ValueError(f"engine must be 'mysql' or 'postgresql', not {engine!r}")
    query = {"sslmode": "require"} if engine == "postgresql" and tls else None

    def uri(scheme: str, options: Mapping[str, str] | None) -> str:
        return build_uri(
            scheme, host=host, port=port, username=username, password=password, path=database, query=options
        )

    out: dict[str, Any] = {
        "uri": uri(engine, query),
        "sqlalchemy-uri": uri(SQLALCHEMY_DRIVERS[engine], _SQLALCHEMY_TLS[engine] if tls else None),
        "host": host,
        "hostname": host,
        "port": port,
        "username": username,
        "password": password,
        "database": database,
        "name": database,
        "type": engine,
    }
    if provider is not None:
        out["provider"] = provider
    if engine == "postgresql" and tls:
        out["sslmode"] = "require"
    if jdbc:
        out["jdbcUrl"] = _jdbc_url(engine, host, port, username, password, database, tls)
    return out


def redis_credentials(
    *,
    host: str,
    port: int,
    username: str | None,
    password: str | None,
    tls: bool,
    database: int = 0,
    provider: str | None = None,
) -> dict[str, Any]:
    """The credentials of a Redis binding.

    Keys: ``uri`` (``redis://`` or, with ``tls``, ``rediss://``; ``:password@`` when there
    is no ACL user), ``host``, ``hostname``, ``port`` (a number), ``username`` and
    ``password`` (left out when ``None``: Kubernetes Secrets hold no nulls), ``database``
    (the index as a string, as Spring Cloud Bindings reads it), ``type`` ``redis``,
    ``provider`` (when given); with ``tls`` also ``tls_port`` (java-cfenv switches to TLS on it) and
    ``ssl: "true"`` (Spring Cloud Bindings).
    """
    if isinstance(database, bool) or not isinstance(database, int) or database < 0:
        raise ValueError("database must be a non-negative integer")
    out: dict[str, Any] = {
        "uri": build_uri(
            "rediss" if tls else "redis",
            host=host,
            port=port,
            username=username,
            password=password,
            path=str(database),
        ),
        "host": host,
        "hostname": host,
        "port": port,
    }
    if username is not None:
        out["username"] = username
    if password is not None:
        out["password"] = password
    out.update({"database": str(database), "type": "redis"})
    if provider is not None:
        out["provider"] = provider
    if tls:
        out["tls_port"] = port
        out["ssl"] = "true"
    return out


def endpoints_for(host: str, port: int) -> tuple[Endpoint, ...]:
    """The binding ``endpoints`` of a single ``host:port`` TCP service."""
    _host(host)  # validation only: endpoints carry the bare host
    return (Endpoint(host=host, ports=(str(_port(port)),), protocol="tcp"),)


def _jdbc_url(
    engine: Literal["mysql", "postgresql"],
    host: str,
    port: int,
    username: str,
    password: str,
    database: str,
    tls: bool,
) -> str:
    # Connector/J and pgjdbc read user/password from the query (URL-decoded); both
    # choke on userinfo in a JDBC URL.
    query = {"user": username, "password": password}
    if tls:
        if engine == "postgresql":
            query["sslmode"] = "require"
        else:
            # Connector/J 5.1 and 8.x both read these as sslMode=REQUIRED: encrypted, the
            # certificate unchecked, like libpq's sslmode=require.
            query.update({"useSSL": "true", "requireSSL": "true", "verifyServerCertificate": "false"})
    return "jdbc:" + build_uri(
        engine, host=host, port=port, username=None, password=None, path=database, query=query
    )


def _host(host: str) -> str:
    if not host or _UNSAFE_HOST.search(host):
        raise ValueError(f"invalid host {host!r}")
    if ":" in host and not host.startswith("["):
        return f"[{host}]"  # IPv6 literal
    return host


def _port(port: int) -> int:
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ValueError(f"invalid port {port!r}")
    return port
