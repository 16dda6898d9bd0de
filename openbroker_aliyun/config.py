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

Every problem is reported at once: ``from_sources`` reads every field, collects each one's
parse error, each missing required setting and the checks of ``__post_init__`` (the
framework's and a subclass's), and raises one ``ConfigError`` listing them all
(``"Invalid settings: a; b; c"``, each also in ``ConfigError.problems``).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Self, TypeVar

import yaml


class ConfigError(ValueError):
    """A setting is missing or invalid; the message names the env var and file key.

    ``problems`` holds each problem found (one, or all of them when the settings loader
    collected them); the message is ``"Invalid settings: a; b; c"`` for a list.
    """

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.problems: tuple[str, ...] = tuple(problems) or (message,)

    @classmethod
    def listing(cls, problems: Sequence[str]) -> ConfigError:
        """One error listing every problem."""
        return cls(_PREFIX + "; ".join(problems), problems)


_PREFIX = "Invalid settings: "
# Set while ``read_sources`` builds the settings: ``BrokerSettings.__post_init__`` adds its
# problems here instead of raising, so that a subclass's checks run and are listed too.
_COLLECTING: ContextVar[list[str] | None] = ContextVar("openbroker_aliyun_settings_problems", default=None)


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
        problems = self._shared_problems()
        if not problems:
            return
        collecting = _COLLECTING.get()
        if collecting is not None:
            collecting.extend(problems)  # listed by read_sources with the subclass's own
            return
        raise ConfigError.listing(problems)

    def _shared_problems(self) -> list[str]:
        """Normalise the shared fields and say what is wrong with them (never a value)."""
        problems: list[str] = []
        # Accept any sequence from code; store tuples so the settings stay hashable and frozen.
        try:
            object.__setattr__(self, "credentials", parse_credentials(list(self.credentials)))
        except (TypeError, ValueError) as exc:
            problems.append(f"credentials: {exc}")
            object.__setattr__(self, "credentials", ())
        else:
            if not self.credentials:
                problems.append(
                    "No broker credentials: set BROKER_USERNAME and BROKER_PASSWORD "
                    "(or BROKER_CREDENTIALS) or the `credentials` key of the settings file"
                )
        try:
            object.__setattr__(self, "encryption_keys", parse_str_tuple(tuple(self.encryption_keys)))
        except (TypeError, ValueError) as exc:
            problems.append(f"encryption_keys (BROKER_ENCRYPTION_KEYS): {exc}")
        if any(not cred.username or not cred.password for cred in self.credentials):
            problems.append("Broker credentials need a non-empty username and password")
        if any(":" in cred.username for cred in self.credentials):
            # Basic auth splits user and password at the first colon.
            problems.append("A broker username must not contain ':'")
        if not 0 <= self.port <= 65535:
            problems.append("port (PORT) must be between 0 and 65535")
        if self.max_body_bytes < 1:
            problems.append("max_body_bytes (BROKER_MAX_BODY_BYTES) must be positive")
        if self.graceful_timeout <= 0:
            problems.append("graceful_timeout (BROKER_GRACEFUL_TIMEOUT) must be positive")
        if self.workers < 1 or self.threads < 1:
            problems.append("workers (BROKER_WORKERS) and threads (BROKER_THREADS) must be at least 1")
        level = self.log_level.upper()
        if level in _LOG_LEVELS:
            object.__setattr__(self, "log_level", level)
        else:
            problems.append(f"log_level (BROKER_LOG_LEVEL) must be one of {', '.join(_LOG_LEVELS)}")
        return problems

    @property
    def log_level_number(self) -> int:
        return logging.getLevelNamesMapping()[self.log_level]

    @classmethod
    def from_sources(
        cls,
        environ: Mapping[str, str],
        file: str | Path | None = None,
        *,
        overrides: Mapping[str, Any] | None = None,
    ) -> Self:
        """Read the settings from a YAML file (optional) and the environment, which wins.

        ``overrides`` (e.g. command-line flags, already typed) win over both. Raises one
        ``ConfigError`` listing every problem found.
        """
        reading = cls.read_sources(environ, file, overrides=overrides)
        if reading.settings is None:
            raise ConfigError.listing(reading.problems)
        return reading.settings

    @classmethod
    def read_sources(
        cls,
        environ: Mapping[str, str],
        file: str | Path | None = None,
        *,
        overrides: Mapping[str, Any] | None = None,
    ) -> SettingsReading[Self]:
        """Read every setting and collect every problem instead of stopping at the first.

        What ``from_sources`` raises from, and what ``check-config`` reports: the
        settings (None when there is a problem), the value of every field that parsed
        (or its default), and the problems, each naming the variable and file key.
        """
        problems: list[str] = []
        values: dict[str, Any] = {}
        file_unreadable = False
        if file:
            try:
                values, file_problems = _read_file(cls, file)
            except ConfigError as error:
                problems.extend(error.problems)
                file_unreadable = True  # its settings are unknown: "missing" would mislead
            else:
                problems.extend(file_problems)
        env_problems: dict[str, str] = {}
        specs = [spec for spec in dataclasses.fields(cls) if spec.init]
        for spec in specs:
            env, read_env = spec.metadata.get("env"), spec.metadata.get("read_env")
            try:
                if read_env is not None:
                    found = read_env(environ)
                    if found is not None:
                        values[spec.name] = found
                elif env and environ.get(env):
                    values[spec.name] = spec.metadata["parse"](environ[env])
            except ValueError as exc:
                named = isinstance(exc, ConfigError)  # a reader of several variables names them
                env_problems[spec.name] = str(exc) if named else f"Invalid {env}: {exc}"
                values.pop(spec.name, None)
        for name, value in (overrides or {}).items():
            values[name] = value
            env_problems.pop(name, None)  # the override wins over what the environment said
        problems.extend(env_problems.values())
        failed = set(env_problems)
        missing = [spec for spec in specs if _required(spec) and spec.name not in values]
        for spec in missing:
            if spec.name not in failed and not file_unreadable:
                problems.append(
                    f"Missing setting {spec.name}: set {spec.metadata.get('env_help') or spec.name.upper()} "
                    f"or the `{spec.name}` key of the settings file"
                )
        settings: Self | None = None
        if not file_unreadable:
            settings, checked = _build(cls, values, {spec.name for spec in missing} | failed)
            problems.extend(problem for problem in checked if problem not in problems)
        # A default stands for a setting that was not given, never for one that was given
        # wrongly, or that the unreadable file may give.
        defaults = {
            spec.name: _default(spec)
            for spec in specs
            if not _required(spec)
            and spec.name not in values
            and spec.name not in failed
            and not file_unreadable
        }
        return SettingsReading(
            settings=settings if not problems else None,
            values={**defaults, **values},
            problems=tuple(problems),
            given=frozenset(values) | failed,
        )


SettingsT = TypeVar("SettingsT", bound=BrokerSettings)


@dataclass(frozen=True)
class SettingsReading(Generic[SettingsT]):
    """What ``BrokerSettings.read_sources`` found.

    ``settings`` is None when there is any problem; ``values`` holds each field whose
    value is known: given and parsed (file, environment, overrides), or not given and
    defaulted. So the checks and commands of one setting (the state store, the keys)
    can run while others are wrong.
    """

    settings: SettingsT | None
    values: Mapping[str, Any] = field(repr=False)
    problems: tuple[str, ...]
    #: The fields the file, the environment or the overrides gave, well or not (the
    #: others defaulted).
    given: frozenset[str] = frozenset()


def _required(spec: dataclasses.Field[Any]) -> bool:
    return spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING


def _default(spec: dataclasses.Field[Any]) -> Any:
    if spec.default is not dataclasses.MISSING:
        return spec.default
    factory: Callable[[], Any] = spec.default_factory  # type: ignore[assignment]
    return factory()


def _build(
    cls: type[SettingsT], values: dict[str, Any], unknown: set[str]
) -> tuple[SettingsT | None, list[str]]:
    """Build the settings to run every ``__post_init__`` check; returns the problems found.

    A required field that is missing or did not parse stands in as an empty string (an
    optional one keeps its default), so that the checks of the other fields still run;
    the problems they find that name such a field (already reported as missing or
    invalid) are left out.
    """
    collected: list[str] = []
    token = _COLLECTING.set(collected)
    try:
        required = {spec.name for spec in dataclasses.fields(cls) if spec.init and _required(spec)}
        stand_ins: dict[str, Any] = {name: "" for name in unknown & required if name not in values}
        built = cls(**values, **stand_ins)
    except ConfigError as error:
        built, found = None, [*collected, *_problems_of(error, cls)]
    except (TypeError, ValueError, AttributeError):
        # A check the stand-in broke: the problems listed already explain the settings.
        built, found = None, list(collected)
    else:
        found = list(collected)
    finally:
        _COLLECTING.reset(token)
    if unknown:
        names = "|".join(re.escape(name) for name in sorted(unknown) + _env_names(cls, unknown))
        mentions = re.compile(rf"\b(?:{names})\b")
        found = [problem for problem in found if not mentions.search(problem)]
    return (built if not found and not unknown else None), found


def _env_names(cls: type[BrokerSettings], names: set[str]) -> list[str]:
    return [
        env for spec in dataclasses.fields(cls) if spec.name in names and (env := spec.metadata.get("env"))
    ]


def _problems_of(error: ConfigError, cls: type[BrokerSettings]) -> list[str]:
    """The problems of an error a subclass's ``__post_init__`` raised.

    Its message may list several as ``"Invalid settings: a; b"``; a problem's own text may
    hold "; " too, so the list is split only where the next problem starts with a
    field's name, which is how every problem starts.
    """
    if len(error.problems) > 1:
        return list(error.problems)
    message = str(error)
    if not message.startswith(_PREFIX):
        return [message]
    names = "|".join(re.escape(spec.name) for spec in dataclasses.fields(cls))
    return re.split(rf"; (?=(?:{names})\b)", message[len(_PREFIX) :])


def _read_file(cls: type[BrokerSettings], file: str | Path) -> tuple[dict[str, Any], list[str]]:
    """The values of the settings file and the problems of its keys.

    Raises ``ConfigError`` when the file itself cannot be used (unreadable, not YAML,
    not a mapping).
    """
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
        return {}, []
    if not isinstance(raw, dict):
        raise ConfigError(f"The settings file {path} must hold a mapping of setting names to values")
    specs = {spec.name: spec for spec in dataclasses.fields(cls) if spec.init}
    values: dict[str, Any] = {}
    problems: list[str] = []
    for key, value in raw.items():
        spec = specs.get(key)
        if spec is None:
            known = ", ".join(sorted(specs))
            problems.append(f"Unknown key `{key}` in the settings file {path} (known: {known})")
            continue
        try:
            values[key] = spec.metadata["parse"](value)
        except ValueError as exc:
            problems.append(f"Invalid `{key}` in the settings file {path}: {exc}")
    return values, problems


def load_settings(environ: Mapping[str, str], file: str | Path | None = None) -> BrokerSettings:
    """The shared broker settings from an optional YAML file and the environment.

    Raises ``ConfigError`` (naming the env var and file key, never a value) when a
    setting is missing or invalid.
    """
    return BrokerSettings.from_sources(environ, file)
