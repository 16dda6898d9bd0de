"""Settings every broker shares, read from a YAML file and the environment.

Each setting is a field of ``BrokerSettings``: the file key is the field name, the
environment variable is in the field's metadata, and the environment overrides the file.
A broker extends the settings by subclassing (``@dataclass(frozen=True, kw_only=True)``)
and declaring its own fields with ``setting(...)``; ``Subclass.from_sources(environ,
file)`` then reads them the same way.

| env var | file key | type | default |
| --- | --- | --- | --- |
| ``BROKER_USERNAME`` + ``BROKER_PASSWORD`` | ``credentials`` | list of ``{username, password}`` | required |
| ``BROKER_CREDENTIALS`` (JSON list, for rotation) | ``credentials`` | list | none |
| ``BROKER_STATE_URL`` | ``state_url`` | SQLAlchemy URL | ``sqlite:///openbroker.db`` |
| ``BROKER_ENCRYPTION_KEYS`` | ``encryption_keys`` | comma list / list | none |
| ``BROKER_ALLOW_PLAINTEXT_STATE`` | ``allow_plaintext`` | bool | false |
| ``BROKER_HOST`` | ``host`` | str | ``0.0.0.0`` |
| ``PORT`` | ``port`` | int | 8080 |
| ``BROKER_MAX_BODY_BYTES`` | ``max_body_bytes`` | int | 1048576 |
| ``BROKER_LOG_LEVEL`` | ``log_level`` | str | ``INFO`` |
| ``BROKER_GRACEFUL_TIMEOUT`` | ``graceful_timeout`` | float seconds | 8 |
| ``BROKER_WORKERS`` | ``workers`` | int | 2 |
| ``BROKER_THREADS`` | ``threads`` | int | 4 |
| ``BROKER_METRICS_AUTH`` | ``metrics_auth`` | bool (``/metrics`` needs the broker's Basic auth) | false |
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import yaml


class ConfigError(ValueError):
    """A setting is missing or invalid; the message names the env var and file key."""


@dataclass(frozen=True)
class Credential:
    """One accepted Basic-auth user/password pair."""

    username: str
    password: str = field(repr=False)


# ------------------------------------------------------------------ value parsers
# Each takes what the environment (always a string) or the YAML file (any type) holds.


def parse_str(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise ValueError("expected a string")


def parse_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("expected an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            raise ValueError("expected an integer") from None
    raise ValueError("expected an integer")


def parse_float(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("expected a number")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            raise ValueError("expected a number") from None
    raise ValueError("expected a number")


_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError("expected true or false")


def parse_str_tuple(value: Any) -> tuple[str, ...]:
    """A comma-separated string (environment) or a list of strings (file)."""
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise ValueError("expected a list of strings")


def parse_credentials(value: Any) -> tuple[Credential, ...]:
    """A list of ``{username, password}`` objects (or a JSON string of one)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            # The JSON error text could quote the secret; say only what was expected.
            raise ValueError("expected a JSON list of {username, password} objects") from None
    if not isinstance(value, list | tuple):
        raise ValueError("expected a list of {username, password} objects")
    out = []
    for item in value:
        if isinstance(item, Credential):
            out.append(item)
            continue
        if not isinstance(item, Mapping) or not all(
            isinstance(item.get(key), str) for key in ("username", "password")
        ):
            raise ValueError("every entry needs a string username and password")
        out.append(Credential(username=item["username"], password=item["password"]))
    return tuple(out)


def _credentials_from_env(environ: Mapping[str, str]) -> tuple[Credential, ...] | None:
    """``BROKER_USERNAME``/``BROKER_PASSWORD`` first, then the ``BROKER_CREDENTIALS`` list."""
    username = environ.get("BROKER_USERNAME") or None
    password = environ.get("BROKER_PASSWORD") or None
    if (username is None) != (password is None):
        raise ConfigError("BROKER_USERNAME and BROKER_PASSWORD must be set together")
    found: list[Credential] = []
    if username is not None and password is not None:
        found.append(Credential(username=username, password=password))
    listed = environ.get("BROKER_CREDENTIALS")
    if listed:
        try:
            found.extend(parse_credentials(listed))
        except ValueError as exc:
            raise ConfigError(f"Invalid BROKER_CREDENTIALS: {exc}") from None
    return tuple(found) or None


def setting(
    *,
    env: str | None,
    parse: Callable[[Any], Any],
    default: Any = dataclasses.MISSING,
    default_factory: Any = dataclasses.MISSING,
    secret: bool = False,
    read_env: Callable[[Mapping[str, str]], Any] | None = None,
    env_help: str | None = None,
) -> Any:
    """Declare a settings field: its env var, its parser and whether it is secret.

    ``read_env`` replaces the plain ``environ[env]`` lookup for a setting made of several
    variables; ``env_help`` is how error messages name those variables.
    """
    metadata = {"env": env, "parse": parse, "read_env": read_env, "env_help": env_help or env}
    return field(default=default, default_factory=default_factory, repr=not secret, metadata=metadata)


_LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")


@dataclass(frozen=True, kw_only=True)
class BrokerSettings:
    """The settings every broker shares; see the module docstring for the table."""

    credentials: Sequence[Credential] = setting(
        env=None,
        parse=parse_credentials,
        secret=True,
        read_env=_credentials_from_env,
        env_help="BROKER_USERNAME and BROKER_PASSWORD (or BROKER_CREDENTIALS)",
    )
    # A database URL may hold a password: kept out of repr like the keys.
    state_url: str = setting(
        env="BROKER_STATE_URL", parse=parse_str, default="sqlite:///openbroker.db", secret=True
    )
    encryption_keys: Sequence[str] = setting(
        env="BROKER_ENCRYPTION_KEYS", parse=parse_str_tuple, default=(), secret=True
    )
    allow_plaintext: bool = setting(env="BROKER_ALLOW_PLAINTEXT_STATE", parse=parse_bool, default=False)
    # All interfaces: the platform's router reaches the broker from outside the container.
    host: str = setting(env="BROKER_HOST", parse=parse_str, default="0.0.0.0")  # noqa: S104
    port: int = setting(env="PORT", parse=parse_int, default=8080)
    max_body_bytes: int = setting(env="BROKER_MAX_BODY_BYTES", parse=parse_int, default=1024 * 1024)
    log_level: str = setting(env="BROKER_LOG_LEVEL", parse=parse_str, default="INFO")
    # Below Diego's ~10 s terminate timeout, so in-flight requests finish before SIGKILL.
    graceful_timeout: float = setting(env="BROKER_GRACEFUL_TIMEOUT", parse=parse_float, default=8.0)
    workers: int = setting(env="BROKER_WORKERS", parse=parse_int, default=2)
    threads: int = setting(env="BROKER_THREADS", parse=parse_int, default=4)
    # /metrics is open like the health routes (scrapers rarely hold the broker's
    # password); an operator whose network exposes it can require the Basic auth.
    metrics_auth: bool = setting(env="BROKER_METRICS_AUTH", parse=parse_bool, default=False)

    def __post_init__(self) -> None:
        # Accept any sequence from code; store tuples so the settings stay hashable and frozen.
        try:
            object.__setattr__(self, "credentials", parse_credentials(list(self.credentials)))
            object.__setattr__(self, "encryption_keys", parse_str_tuple(tuple(self.encryption_keys)))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"Invalid settings: {exc}") from None
        if not self.credentials:
            raise ConfigError(
                "No broker credentials: set BROKER_USERNAME and BROKER_PASSWORD "
                "(or BROKER_CREDENTIALS) or the `credentials` key of the settings file"
            )
        for cred in self.credentials:
            if not cred.username or not cred.password:
                raise ConfigError("Broker credentials need a non-empty username and password")
            if ":" in cred.username:
                # Basic auth splits user and password at the first colon.
                raise ConfigError("A broker username must not contain ':'")
        if not 0 <= self.port <= 65535:
            raise ConfigError("port (PORT) must be between 0 and 65535")
        if self.max_body_bytes < 1:
            raise ConfigError("max_body_bytes (BROKER_MAX_BODY_BYTES) must be positive")
        if self.graceful_timeout <= 0:
            raise ConfigError("graceful_timeout (BROKER_GRACEFUL_TIMEOUT) must be positive")
        if self.workers < 1 or self.threads < 1:
            raise ConfigError("workers (BROKER_WORKERS) and threads (BROKER_THREADS) must be at least 1")
        level = self.log_level.upper()
        if level not in _LOG_LEVELS:
            raise ConfigError(f"log_level (BROKER_LOG_LEVEL) must be one of {', '.join(_LOG_LEVELS)}")
        object.__setattr__(self, "log_level", level)

    @property
    def log_level_number(self) -> int:
        return logging.getLevelNamesMapping()[self.log_level]

    @classmethod
    def from_sources(cls, environ: Mapping[str, str], file: str | Path | None = None) -> Self:
        """Read the settings from a YAML file (optional) and the environment, which wins."""
        values = _read_file(cls, file) if file else {}
        for spec in dataclasses.fields(cls):
            if not spec.init:
                continue
            env, read_env = spec.metadata.get("env"), spec.metadata.get("read_env")
            try:
                if read_env is not None:
                    found = read_env(environ)
                    if found is not None:
                        values[spec.name] = found
                elif env and environ.get(env):
                    values[spec.name] = spec.metadata["parse"](environ[env])
            except ValueError as exc:
                if isinstance(exc, ConfigError):
                    raise
                raise ConfigError(f"Invalid {env}: {exc}") from None
            required = spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING
            if required and spec.name not in values:
                raise ConfigError(
                    f"Missing setting {spec.name}: set {spec.metadata.get('env_help') or spec.name.upper()} "
                    f"or the `{spec.name}` key of the settings file"
                )
        return cls(**values)


def _read_file(cls: type[BrokerSettings], file: str | Path) -> dict[str, Any]:
    path = Path(file)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"Cannot read the settings file {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"The settings file {path} is not valid YAML{where}") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"The settings file {path} must hold a mapping of setting names to values")
    specs = {spec.name: spec for spec in dataclasses.fields(cls) if spec.init}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        spec = specs.get(key)
        if spec is None:
            known = ", ".join(sorted(specs))
            raise ConfigError(f"Unknown key `{key}` in the settings file {path} (known: {known})")
        try:
            values[key] = spec.metadata["parse"](value)
        except ValueError as exc:
            raise ConfigError(f"Invalid `{key}` in the settings file {path}: {exc}") from None
    return values


def load_settings(environ: Mapping[str, str], file: str | Path | None = None) -> BrokerSettings:
    """The shared broker settings from an optional YAML file and the environment.

    Raises ``ConfigError`` (naming the env var and file key, never a value) when a
    setting is missing or invalid.
    """
    return BrokerSettings.from_sources(environ, file)
