"""The Kubernetes and Cloud Foundry deployment files: parsed and checked against the code.

Kustomize is run for real (``kubectl kustomize``) where kubectl is installed; every other
check parses the files with PyYAML and compares them with what the broker really reads
(its settings classes), really serves (its health routes) and really installs (the
console scripts of setup.cfg).
"""

from __future__ import annotations

import configparser
import ipaddress
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml
from deploy_facts import (
    BASE,
    CF,
    HEALTH_LIVE,
    HEALTH_READY,
    K8S,
    OVERLAY,
    REQUIRED_SECRET_ENV,
    ROOT,
    base_resources,
    cf_app,
    cf_set_env_names,
    cloudfoundry_environment,
    console_scripts,
    container,
    known_env_vars,
    kubernetes_environment,
    kustomization,
    load_docs,
    looks_secret,
    parse_env_file,
    secret_env_vars,
)

SUPPORTED_OSB_VERSIONS = {"2.13", "2.14", "2.15", "2.16", "2.17"}


# ----------------------------------------------------------------------------- helpers


def walk(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every (dotted path, value) pair of a parsed YAML document."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, f"{path}[{index}]")
    else:
        yield path, node


def all_deploy_yaml() -> list[Path]:
    return sorted(p for p in (ROOT / "deploy").rglob("*") if p.suffix in (".yaml", ".yml"))


# ------------------------------------------------------------------- kustomize structure


@pytest.mark.parametrize("folder", [BASE, OVERLAY], ids=["base", "overlay"])
def test_every_file_a_kustomization_names_exists_and_parses(folder: Path) -> None:
    kust = kustomization(folder)
    assert kust["apiVersion"] == "kustomize.config.k8s.io/v1beta1"
    assert kust["kind"] == "Kustomization"
    for name in kust.get("resources", []):
        target = (folder / name).resolve()
        if target.is_dir():
            assert (target / "kustomization.yaml").is_file(), f"{name} is not a kustomization"
            continue
        docs = load_docs(target)
        assert docs, f"{name} holds no resource"
        for doc in docs:
            assert doc.get("apiVersion") and doc.get("kind"), f"{name}: apiVersion and kind are required"
            assert doc.get("metadata", {}).get("name"), f"{name}: metadata.name is required"
    for generator in kust.get("configMapGenerator", []) + kust.get("secretGenerator", []):
        for env_file in generator.get("envs", []):
            if env_file == "secrets.env":
                # Written by the operator, never committed; its template is checked below.
                assert (folder / "secrets.env.example").is_file()
                continue
            parse_env_file(folder / env_file)


def test_the_base_needs_no_secret_file_and_the_overlay_generates_the_secret() -> None:
    assert "secretGenerator" not in kustomization(BASE)
    names = [g["name"] for g in kustomization(OVERLAY)["secretGenerator"]]
    assert names == ["rds-broker-secrets"]
    # Any overlay's secrets.env, the example's or a copy's, is ignored by git.
    for overlay in ("example", "production"):
        path = f"deploy/kubernetes/overlays/{overlay}/secrets.env"
        ignored = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT, timeout=30, check=False)
        assert ignored.returncode == 0, f"{path} is not ignored by git"


def test_deployment_runs_at_least_two_replicas_on_a_shared_state_store() -> None:
    deployment = base_resources()["Deployment"]
    assert deployment["spec"]["replicas"] >= 2
    # Several replicas need one store: its URL is a secret (it holds a password) and the
    # overlay's template asks for it.
    secrets = parse_env_file(OVERLAY / "secrets.env.example")
    assert "BROKER_STATE_URL" in secrets
    assert "postgresql+psycopg://" in (OVERLAY / "secrets.env.example").read_text(encoding="utf-8")


def test_selectors_of_service_and_disruption_budget_match_the_pods() -> None:
    resources = base_resources()
    deployment = resources["Deployment"]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert resources["Service"]["spec"]["selector"].items() <= pod_labels.items()
    pdb = resources["PodDisruptionBudget"]
    assert pdb["apiVersion"] == "policy/v1"
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    # A budget that allows no eviction at all would block every node drain.
    assert 1 <= pdb["spec"]["minAvailable"] < deployment["spec"]["replicas"]


def test_service_targets_the_named_container_port_the_broker_listens_on() -> None:
    main = container()
    ports = {p["name"]: p["containerPort"] for p in main["ports"]}
    (service_port,) = base_resources()["Service"]["spec"]["ports"]
    assert service_port["targetPort"] in ports
    env = {e["name"]: e.get("value") for e in main.get("env", [])}
    assert int(env["PORT"]) == ports[service_port["targetPort"]]


def test_health_paths_are_routes_of_the_rds_broker_app(tmp_path: Path) -> None:
    """The app ``rds-broker`` serves (built as its CLI builds it) has both health routes."""
    from aliyun_brokers.rds.broker import RdsBroker
    from aliyun_brokers.rds.settings import RdsSettings

    from openbroker_aliyun.aliyun.sdk_client import SdkAliyunClient
    from openbroker_aliyun.app import create_app

    env = kubernetes_environment()[1] | {"BROKER_STATE_URL": f"sqlite:///{tmp_path / 'state.db'}"}
    settings = RdsSettings.from_sources(env)
    app = create_app(RdsBroker(settings, SdkAliyunClient(settings.aliyun())), settings)
    routes = {rule.rule: rule.methods or set() for rule in app.url_map.iter_rules()}
    annotations = base_resources()["Deployment"]["spec"]["template"]["metadata"]["annotations"]
    for path in (HEALTH_LIVE, HEALTH_READY, annotations["prometheus.io/path"]):
        assert path in routes and "GET" in routes[path], f"{path} is not a GET route of the broker"


def test_metrics_annotations_name_the_container_port() -> None:
    annotations = base_resources()["Deployment"]["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert int(annotations["prometheus.io/port"]) in {p["containerPort"] for p in container()["ports"]}


def test_probes_point_at_the_real_health_routes() -> None:
    main = container()
    ports = {p["name"] for p in main["ports"]}
    assert main["livenessProbe"]["httpGet"]["path"] == HEALTH_LIVE
    assert main["readinessProbe"]["httpGet"]["path"] == HEALTH_READY
    assert main["startupProbe"]["httpGet"]["path"] == HEALTH_LIVE
    for kind in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert main[kind]["httpGet"]["port"] in ports


def test_container_command_is_a_console_script_of_the_project() -> None:
    assert container()["command"][0] in console_scripts()


def test_resources_have_requests_and_limits() -> None:
    resources = container()["resources"]
    for section in ("requests", "limits"):
        assert {"cpu", "memory"} <= resources[section].keys()


def test_pod_meets_the_restricted_pod_security_standard() -> None:
    pod = base_resources()["Deployment"]["spec"]["template"]["spec"]
    main = container()
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    sc = main["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert "add" not in sc["capabilities"]
    assert pod["automountServiceAccountToken"] is False
    # With a read-only root, gunicorn's heartbeat files need a writable /tmp.
    mounts = {m["mountPath"]: m["name"] for m in main["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]  # noqa: S108 (the pod's path, not ours)


def test_termination_grace_outlasts_prestop_and_graceful_shutdown() -> None:
    from aliyun_brokers.rds.settings import RdsSettings

    pod = base_resources()["Deployment"]["spec"]["template"]["spec"]
    graceful = RdsSettings.from_sources(kubernetes_environment()[1]).graceful_timeout
    pre_stop = container()["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    assert pod["terminationGracePeriodSeconds"] > float(pre_stop[1]) + graceful


def test_env_sources_are_the_generated_configmap_and_secret() -> None:
    env_from = container()["envFrom"]
    config_names = [g["name"] for g in kustomization(BASE)["configMapGenerator"]]
    secret_names = [g["name"] for g in kustomization(OVERLAY)["secretGenerator"]]
    assert [e["configMapRef"]["name"] for e in env_from if "configMapRef" in e] == config_names
    assert [e["secretRef"]["name"] for e in env_from if "secretRef" in e] == secret_names
    merged = [g for g in kustomization(OVERLAY)["configMapGenerator"]]
    assert [(g["name"], g["behavior"]) for g in merged] == [(config_names[0], "merge")]


def test_settings_files_hold_only_known_non_secret_settings() -> None:
    known, secret = known_env_vars(), secret_env_vars()
    for path in (BASE / "settings.env", OVERLAY / "settings.env"):
        for key, value in parse_env_file(path).items():
            assert key in known, f"{path.name}: {key} is not a setting the broker reads"
            assert key not in secret and not looks_secret(key), f"{path.name}: {key} is a secret"
            assert value, f"{path.name}: {key} has no value"


def test_secret_template_lists_every_secret_setting_with_no_value() -> None:
    template = parse_env_file(OVERLAY / "secrets.env.example")
    known = known_env_vars()
    assert template.keys() >= REQUIRED_SECRET_ENV
    for key, value in template.items():
        assert key in known, f"{key} is not a setting the broker reads"
        assert value == "", f"secrets.env.example must not hold a value for {key}"
    # Nothing the settings classes mark secret may arrive through the ConfigMap.
    config_keys = (
        parse_env_file(BASE / "settings.env").keys() | parse_env_file(OVERLAY / "settings.env").keys()
    )
    assert not (config_keys & secret_env_vars())


@pytest.mark.parametrize("path", all_deploy_yaml(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_secret_value_inline(path: Path) -> None:
    for doc in load_docs(path):
        if doc.get("kind") == "Secret":
            for section in ("data", "stringData"):
                for key, value in (doc.get(section) or {}).items():
                    assert not value, f"Secret {doc['metadata']['name']} holds a value for {key}"
        # Plain keys (ConfigMap data, a CF manifest's env) ...
        for dotted, value in walk(doc):
            key = re.split(r"[.\[]", dotted)[-1]
            if looks_secret(key) and value not in (None, "", False):
                pytest.fail(f"{path.name}: {dotted} holds a value")
        # ... and container env entries, {name: X, value: Y}.
        for env in _env_entries(doc):
            if looks_secret(env["name"]):
                assert "value" not in env or not env["value"], f"{path.name}: {env['name']} is inline"


def _env_entries(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    spec = doc.get("spec", {}).get("template", {}).get("spec", {})
    for box in spec.get("containers", []) + spec.get("initContainers", []):
        yield from box.get("env", [])


# -------------------------------------------------------------------- kustomize for real


def _render(folder: Path) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed (its built-in kustomize renders the manifests)")
    result = subprocess.run(
        [kubectl, "kustomize", str(folder)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def test_kustomize_renders_the_base() -> None:
    kinds = sorted(doc["kind"] for doc in _render(BASE))
    assert kinds == ["ConfigMap", "Deployment", "PodDisruptionBudget", "Service", "ServiceAccount"]


def test_kustomize_renders_the_overlay_with_generated_names(tmp_path: Path) -> None:
    copy = tmp_path / "kubernetes"
    shutil.copytree(K8S, copy)
    template = parse_env_file(copy / "overlays" / "example" / "secrets.env.example")
    lines = [f"{key}=test-{key.lower()}" for key in template]
    (copy / "overlays" / "example" / "secrets.env").write_text("\n".join(lines) + "\n", encoding="utf-8")

    docs = {doc["kind"]: doc for doc in _render(copy / "overlays" / "example")}
    namespace = docs["Namespace"]["metadata"]["name"]
    for kind, doc in docs.items():
        if kind != "Namespace":
            assert doc["metadata"]["namespace"] == namespace, kind
    secret, config = docs["Secret"], docs["ConfigMap"]
    assert secret["metadata"]["name"].startswith("rds-broker-secrets-")
    assert set(secret["data"]) == set(template)
    assert {"BROKER_LOG_LEVEL", "ALIBABA_CLOUD_REGION_ID"} <= set(config["data"])
    (main,) = docs["Deployment"]["spec"]["template"]["spec"]["containers"]
    refs = {next(iter(e)): next(iter(e.values()))["name"] for e in main["envFrom"]}
    assert refs == {"configMapRef": config["metadata"]["name"], "secretRef": secret["metadata"]["name"]}
    assert main["image"] == "registry.example.com/openbroker-aliyun:0.1.0"


# ----------------------------------------------------------------------- registration


def test_provider_osb_registration_points_at_the_service() -> None:
    (config,) = load_docs(K8S / "registration" / "provider-osb.yaml")
    assert config["apiVersion"] == "osb.crossplane.io/v1alpha1"
    assert config["kind"] == "ProviderConfig"
    assert isinstance(config["disable_async"], bool)  # required by provider-osb's CRD
    spec = config["spec"]
    assert spec["osb_version"] in SUPPORTED_OSB_VERSIONS
    service = base_resources()["Service"]
    namespace = kustomization(OVERLAY)["namespace"]
    (port,) = service["spec"]["ports"]
    host = f"{service['metadata']['name']}.{namespace}.svc.cluster.local"
    assert spec["broker_url"] in (f"http://{host}", f"http://{host}:{port['port']}")
    creds = spec["credentials"]
    assert creds["source"] == "Secret"
    assert {"name", "namespace", "key"} <= creds["secretRef"].keys()


# ---------------------------------------------------------------------- Cloud Foundry

# Attributes of an app in a CF manifest (docs.cloudfoundry.org, "App manifest attribute
# reference"; cloudfoundry/cli util/manifestparser): a typo would be ignored silently.
CF_APP_KEYS = {
    "name", "path", "buildpacks", "stack", "instances", "memory", "disk_quota", "disk-quota",
    "command", "timeout", "health-check-type", "health-check-http-endpoint",
    "health-check-invocation-timeout", "health-check-interval", "readiness-health-check-type",
    "readiness-health-check-http-endpoint", "readiness-health-check-invocation-timeout",
    "readiness-health-check-interval", "routes", "no-route", "random-route", "default-route",
    "env", "services", "metadata", "processes", "sidecars", "log-rate-limit-per-second", "docker",
}  # fmt: skip


def _megabytes(size: str) -> int:
    match = re.fullmatch(r"(\d+)\s*(M|MB|G|GB)", size.strip(), re.IGNORECASE)
    assert match, f"bad size {size!r}"
    number, unit = int(match.group(1)), match.group(2).upper()
    return number * (1024 if unit.startswith("G") else 1)


def test_cf_manifest_uses_only_known_attributes() -> None:
    unknown = set(cf_app()) - CF_APP_KEYS
    assert not unknown, f"not CF manifest attributes: {sorted(unknown)}"


def test_cf_manifest_pushes_the_project_root_as_a_python_app() -> None:
    app = cf_app()
    # cf resolves `path` against the manifest's folder (cli util/manifestparser).
    root = (CF / app["path"]).resolve()
    assert root == ROOT
    assert app["buildpacks"] == ["python_buildpack"]
    # The buildpack's bin/detect needs requirements.txt; runtime.txt picks the Python.
    requirements = [
        line.strip()
        for line in (root / "requirements.txt").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert requirements == [".[aliyun]"]
    runtime = (root / "runtime.txt").read_text(encoding="utf-8").strip()
    match = re.fullmatch(r"python-3\.(\d+)\.x", runtime)
    assert match, runtime
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    minimum = re.fullmatch(r">=\s*3\.(\d+)", cfg["options"]["python_requires"].strip())
    assert minimum and int(match.group(1)) >= int(minimum.group(1))


def test_cf_manifest_runs_two_instances_with_http_health_checks() -> None:
    app = cf_app()
    assert app["instances"] >= 2
    assert _megabytes(app["memory"]) >= 256
    assert app["command"].split()[0] in console_scripts()
    assert app["health-check-type"] == "http"
    assert app["health-check-http-endpoint"] == HEALTH_LIVE
    assert app["readiness-health-check-type"] == "http"
    assert app["readiness-health-check-http-endpoint"] == HEALTH_READY


def test_cf_graceful_timeout_is_below_diegos_kill_delay() -> None:
    assert float(cf_app()["env"]["BROKER_GRACEFUL_TIMEOUT"]) < 10


def test_cf_manifest_env_holds_known_non_secret_settings_only() -> None:
    known, secret = known_env_vars(), secret_env_vars()
    for key, value in cf_app()["env"].items():
        assert key in known, f"{key} is not a setting the broker reads"
        assert key not in secret and not looks_secret(key), f"{key} is a secret: use cf set-env"
        assert isinstance(value, str), f"{key}: quote the value, CF env values are strings"


def test_cf_manifest_variables_are_all_defined_in_the_example_vars_file() -> None:
    text = (CF / "manifest.yml").read_text(encoding="utf-8")
    used = set(re.findall(r"\(\(([a-z_]+)\)\)", text))
    (example,) = load_docs(CF / "vars.yml.example")
    assert used == set(example), "cf push fails on an undefined ((variable))"
    for key, value in example.items():
        assert not looks_secret(key), f"{key}: secrets go in with cf set-env, not a vars file"
        assert value


def test_cfignore_keeps_the_upload_small_but_complete() -> None:
    patterns = {
        line.strip().rstrip("/")
        for line in (ROOT / ".cfignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".venv", ".git", "tests"} <= patterns
    needed = {"setup.cfg", "pyproject.toml", "README.md", "requirements.txt", "runtime.txt"}
    needed |= {"openbroker_aliyun", "brokers"}
    assert not (patterns & needed)


def test_application_security_group_rules_are_valid() -> None:
    rules = json.loads((CF / "asg-rds.json").read_text(encoding="utf-8"))
    assert rules
    for rule in rules:
        assert rule["protocol"] in ("tcp", "udp", "icmp", "all")
        ipaddress.ip_network(rule["destination"])
        for port in rule["ports"].split(","):
            low, _, high = port.partition("-")
            assert 0 < int(low) <= int(high or low) <= 65535


# ------------------------------------------- the broker accepts the example configuration


def test_kubernetes_configuration_is_complete_for_the_broker() -> None:
    from aliyun_brokers.rds.settings import RdsSettings

    settings = RdsSettings.from_sources(kubernetes_environment()[1])
    assert settings.port == 8080
    assert len(settings.security_ips) >= 1
    assert settings.state_url.startswith("postgresql+psycopg://")


def test_cloudfoundry_configuration_is_complete_for_the_broker() -> None:
    from aliyun_brokers.rds.settings import RdsSettings

    documented = cf_set_env_names()
    assert documented >= REQUIRED_SECRET_ENV, "docs/cloudfoundry.md must set every secret"
    assert documented <= known_env_vars()
    env = cloudfoundry_environment()[1] | {"PORT": "8080"}  # Diego sets PORT
    settings = RdsSettings.from_sources(env)
    assert settings.workers >= 1
