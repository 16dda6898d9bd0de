"""What the deployment files are checked against: facts read from the code itself.

The environment variables the broker reads and which of them are secret come from its
settings classes (``setting(env=..., secret=True)`` fields, ``repr=False``); the console
scripts from setup.cfg; the image's pinned versions from constraints.txt. Nothing here is
a second, hand-kept list of the same facts, except ``REQUIRED_SECRET_ENV``: the secrets a
production deployment must supply.
"""

from __future__ import annotations

import configparser
import dataclasses
import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "kubernetes"
BASE = K8S / "base"
OVERLAY = K8S / "overlays" / "example"
CF = ROOT / "deploy" / "cloudfoundry"
CONSTRAINTS = ROOT / "constraints.txt"

HEALTH_LIVE = "/health/live"
HEALTH_READY = "/health/ready"

# What a replicated production deployment must be given as secrets.
REQUIRED_SECRET_ENV = frozenset(
    {
        "BROKER_USERNAME",
        "BROKER_PASSWORD",
        "BROKER_STATE_URL",
        "BROKER_ENCRYPTION_KEYS",
        "ALIBABA_CLOUD_ACCESS_KEY_ID",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
    }
)

_SECRET_WORDS = re.compile(
    r"password|secret|token|credential|encryption_keys|state_url|access_key|private.?key", re.IGNORECASE
)
_ENV_NAME = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b")


def looks_secret(name: str) -> bool:
    """A setting or key name that by its words carries a secret."""
    return bool(_SECRET_WORDS.search(name))


def parse_env_file(path: Path) -> dict[str, str]:
    """A kustomize/docker env file: ``KEY=VALUE`` lines, ``#`` comments, no quoting."""
    values: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        # KEY alone would make kustomize copy the value from the environment it runs in.
        assert sep, f"{path.name}:{number}: expected KEY=VALUE"
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*", key), f"{path.name}:{number}: bad key {key!r}"
        assert key not in values, f"{path.name}:{number}: {key} twice"
        values[key] = value
    return values


def _settings_class() -> type:
    """The settings of the shipped ``rds-broker`` (a ``BrokerSettings`` subclass)."""
    from aliyun_brokers.rds.settings import RdsSettings

    return RdsSettings


def _field_env_names(spec: dataclasses.Field[object]) -> set[str]:
    names = set()
    if spec.metadata.get("env"):
        names.add(spec.metadata["env"])
    # Settings made of several variables name them in their help text.
    names |= set(_ENV_NAME.findall(spec.metadata.get("env_help") or ""))
    return names


@cache
def known_env_vars() -> frozenset[str]:
    """Every environment variable the broker reads."""
    names: set[str] = set()
    for spec in dataclasses.fields(_settings_class()):
        names |= _field_env_names(spec)
    return frozenset(names)


@cache
def secret_env_vars() -> frozenset[str]:
    """The variables whose settings are kept out of ``repr`` because they are secret."""
    names: set[str] = set()
    for spec in dataclasses.fields(_settings_class()):
        if not spec.repr:
            names |= _field_env_names(spec)
    return frozenset(names)


def setup_cfg() -> configparser.ConfigParser:
    """The project's setup.cfg, parsed."""
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    return cfg


def exact_pins(lines: Iterable[str], source: str) -> dict[str, str]:
    """``name==version`` lines (blanks and ``#`` comments skipped) as {canonical name: version}.

    Any other line fails, naming ``source`` and the line: a range or an unpinned name
    would let the installed version drift.
    """
    pins: dict[str, str] = {}
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        requirement = Requirement(line)
        specs = list(requirement.specifier)
        assert len(specs) == 1 and specs[0].operator == "==" and "*" not in specs[0].version, (
            f"{source}:{number}: {line!r} is not an exact pin"
        )
        name = canonicalize_name(requirement.name)
        assert name not in pins, f"{source}:{number}: {requirement.name} twice"
        pins[name] = specs[0].version
    return pins


def constraint_pins() -> dict[str, str]:
    """constraints.txt, the versions the image installs, as {canonical name: version}."""
    return exact_pins(CONSTRAINTS.read_text(encoding="utf-8").splitlines(), CONSTRAINTS.name)


@cache
def console_scripts() -> frozenset[str]:
    """The commands ``pip install .`` puts on the PATH (setup.cfg entry points)."""
    lines = setup_cfg().get("options.entry_points", "console_scripts", fallback="").splitlines()
    return frozenset(
        line.split("=", 1)[0].strip() for line in lines if "=" in line and not line.strip().startswith("#")
    )


# ------------------------------------------------------------- the deployment files


def load_docs(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as stream:
        return [doc for doc in yaml.safe_load_all(stream) if doc is not None]


def kustomization(folder: Path) -> dict[str, Any]:
    (doc,) = load_docs(folder / "kustomization.yaml")
    return doc


def base_resources() -> dict[str, dict[str, Any]]:
    """The base's resources by kind (each kind appears once)."""
    found: dict[str, dict[str, Any]] = {}
    for name in kustomization(BASE)["resources"]:
        for doc in load_docs(BASE / name):
            assert doc["kind"] not in found, f"two {doc['kind']} resources in the base"
            found[doc["kind"]] = doc
    return found


def container() -> dict[str, Any]:
    (only,) = base_resources()["Deployment"]["spec"]["template"]["spec"]["containers"]
    return only


def cf_app() -> dict[str, Any]:
    (manifest,) = load_docs(CF / "manifest.yml")
    (app,) = manifest["applications"]
    return app


def cf_set_env_names() -> set[str]:
    """The variables docs/cloudfoundry.md tells the operator to `cf set-env`."""
    text = (ROOT / "docs" / "cloudfoundry.md").read_text(encoding="utf-8")
    return set(re.findall(r"^cf set-env rds-broker ([A-Z_]+) ", text, re.MULTILINE))


def fake_secret_values(keys: set[str]) -> dict[str, str]:
    """Stand-ins of the right shape for the secrets an operator supplies."""
    from cryptography.fernet import Fernet

    shapes = {
        "BROKER_STATE_URL": "postgresql+psycopg://broker:pw@db.example.internal:5432/broker",
        "BROKER_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    }
    return {key: shapes.get(key, f"test-{key.lower()}") for key in keys}


def kubernetes_environment() -> tuple[list[str], dict[str, str], list[str]]:
    """(command, env, probe paths) as the Deployment runs the container."""
    main = container()
    env = {e["name"]: e["value"] for e in main.get("env", [])}
    env |= parse_env_file(BASE / "settings.env") | parse_env_file(OVERLAY / "settings.env")
    env |= fake_secret_values(set(parse_env_file(OVERLAY / "secrets.env.example")))
    probes = [main[kind]["httpGet"]["path"] for kind in ("startupProbe", "livenessProbe", "readinessProbe")]
    return list(main["command"]), env, probes


def cloudfoundry_environment() -> tuple[list[str], dict[str, str], list[str]]:
    """(command, env, health-check paths) as Diego runs the app."""
    app = cf_app()
    (variables,) = load_docs(CF / "vars.yml.example")
    env = {
        key: re.sub(r"\(\(([a-z_]+)\)\)", lambda m: str(variables[m.group(1)]), value)
        for key, value in app["env"].items()
    }
    env |= fake_secret_values(cf_set_env_names())
    probes = [app["health-check-http-endpoint"], app["readiness-health-check-http-endpoint"]]
    return app["command"].split(), env, probes
