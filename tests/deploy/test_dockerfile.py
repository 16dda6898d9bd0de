"""The Dockerfile and its build context, checked without a Docker engine.

No engine runs here, so the image is not built. Instead the Dockerfile is parsed and
checked (pinned base image, pinned dependencies, non-root user, command, port, no
secrets); its HEALTHCHECK command is run as Docker would run it, against a real broker
served on loopback; the build context that .dockerignore lets through is assembled
exactly; and setuptools reads the project from that context alone, as the image's
``pip install`` does: every package, every data file and the console script the image
runs must be there.
"""

from __future__ import annotations

import configparser
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable
from urllib.parse import urlsplit

import yaml
from aliyun_brokers.common.cli import emulator_settings
from aliyun_brokers.rds.broker import RdsBroker
from aliyun_brokers.rds.settings import RdsSettings
from deploy_facts import HEALTH_LIVE, ROOT, console_scripts, constraint_pins, looks_secret, setup_cfg
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from openbroker_aliyun.aliyun.sdk_client import SdkAliyunClient
from openbroker_aliyun.testing.servers import broker_server, serve_wsgi

DOCKERFILE = ROOT / "Dockerfile"
DEPLOYMENT = ROOT / "deploy" / "kubernetes" / "base" / "deployment.yaml"

# A base image that cannot move under the build: an exact Python patch release on a named
# Debian release (python:3.11.17-slim-bookworm), optionally with its digest, or a digest
# alone. python:3.11-slim, python:3.11.17-slim (Debian may change) or latest all move.
_EXACT_TAG = re.compile(r"python:(?P<python>3\.\d+\.\d+)-slim-(?P<debian>[a-z]+)(@sha256:[0-9a-f]{64})?")
_DIGEST_ONLY = re.compile(r"python@sha256:[0-9a-f]{64}")


@dataclass(frozen=True)
class Instruction:
    keyword: str
    argument: str


def instructions() -> list[Instruction]:
    """Dockerfile instructions with line continuations joined and comments dropped."""
    out: list[Instruction] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        whole = pending + line
        pending = ""
        keyword, _, argument = whole.partition(" ")
        out.append(Instruction(keyword.upper(), argument.strip()))
    assert not pending, "the Dockerfile ends inside a continued line"
    return out


def stages() -> list[list[Instruction]]:
    found: list[list[Instruction]] = []
    for ins in instructions():
        if ins.keyword == "FROM":
            found.append([])
        assert found, "the Dockerfile must start with FROM"
        found[-1].append(ins)
    return found


def final_stage() -> list[Instruction]:
    return stages()[-1]


def only(stage: list[Instruction], keyword: str) -> Instruction:
    matches = [ins for ins in stage if ins.keyword == keyword]
    assert len(matches) == 1, f"expected one {keyword} in the final stage, found {len(matches)}"
    return matches[0]


def env_pairs(stage: list[Instruction]) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for ins in stage:
        if ins.keyword == "ENV":
            for token in re.findall(r"(\w+)=(\S+)", ins.argument):
                pairs[token[0]] = token[1]
    return pairs


def pod_spec() -> dict[str, object]:
    (deployment,) = yaml.safe_load_all(DEPLOYMENT.read_text(encoding="utf-8"))
    return deployment["spec"]["template"]["spec"]


# ------------------------------------------------------------------------- Dockerfile


def test_both_stages_use_the_same_pinned_slim_python() -> None:
    images = [stage[0].argument.split()[0] for stage in stages()]
    # The virtualenv copied from the first stage only runs on the same Python.
    assert len(images) == 2 and len(set(images)) == 1, images
    image = images[0]
    exact = _EXACT_TAG.fullmatch(image)
    assert exact or _DIGEST_ONLY.fullmatch(image), (
        f"{image} is a floating tag: pin python:X.Y.Z-slim-<debian> (and/or @sha256:...)"
    )
    if exact:
        requires_python = SpecifierSet(setup_cfg()["options"]["python_requires"])
        assert requires_python.contains(exact["python"]), f"{image} runs a Python setup.cfg does not allow"
        # The page that describes the image names the base it really has.
        tag = image.split("@")[0]
        assert f"`{tag}`" in (ROOT / "docs" / "kubernetes.md").read_text(encoding="utf-8"), tag


def test_final_stage_runs_as_a_numeric_non_root_user_matching_the_pod() -> None:
    user = only(final_stage(), "USER").argument
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) != 0, "a numeric uid lets runAsNonRoot verify it"
    security = pod_spec()["securityContext"]
    assert isinstance(security, dict)
    assert security["runAsUser"] == int(uid)
    if gid:
        assert security["runAsGroup"] == int(gid)


def test_command_is_the_broker_console_script_in_exec_form() -> None:
    command = json.loads(only(final_stage(), "CMD").argument)
    assert isinstance(command, list), "exec form, so the broker is PID 1 and receives SIGTERM"
    assert command[0] in console_scripts()


def test_exposed_port_is_the_port_the_broker_binds() -> None:
    exposed = only(final_stage(), "EXPOSE").argument
    assert exposed == env_pairs(final_stage())["PORT"] == "8080"
    containers = pod_spec()["containers"]
    assert isinstance(containers, list)
    assert containers[0]["ports"][0]["containerPort"] == int(exposed)


def test_no_secret_is_baked_into_the_image() -> None:
    for stage in stages():
        for name in env_pairs(stage):
            assert not looks_secret(name), f"ENV {name}: secrets come from the runtime environment"
        for ins in stage:
            if ins.keyword == "ARG":
                assert not looks_secret(ins.argument), f"ARG {ins.argument} would land in the image history"
            if ins.keyword in ("COPY", "ADD"):
                assert not re.search(r"\.env\b|secret", ins.argument, re.IGNORECASE), ins.argument


def test_the_image_carries_the_installed_virtualenv_not_the_source() -> None:
    final = final_stage()
    copies = [ins.argument for ins in final if ins.keyword == "COPY"]
    assert copies == ["--from=build /opt/broker /opt/broker"]
    assert env_pairs(final)["PATH"].startswith("/opt/broker/bin:")


# ----------------------------------------------------------------- pinned dependencies


def test_the_build_installs_the_project_at_the_pinned_versions() -> None:
    build = stages()[0]
    installs = [
        (i, ins) for i, ins in enumerate(build) if ins.keyword == "RUN" and "pip install" in ins.argument
    ]
    assert [ins.argument for _, ins in installs] == [
        "/opt/broker/bin/pip install -c constraints.txt '.[aliyun]'"
    ]
    # The constraints file is in the stage before the install reads it.
    copied_before = [ins.argument.split()[:-1] for ins in build[: installs[0][0]] if ins.keyword == "COPY"]
    assert any("constraints.txt" in sources for sources in copied_before)


def image_requirements() -> list[Requirement]:
    """What the image installs: install_requires and the aliyun extra, the project's own
    extras it names (``openbroker-aliyun[postgres,mysql]``) expanded."""
    cfg = setup_cfg()
    found: list[Requirement] = []
    pending, seen = [("options", "install_requires"), ("options.extras_require", "aliyun")], set()
    while pending:
        section, key = pending.pop()
        seen.add(key)
        for line in cfg[section][key].splitlines():
            if not line.strip() or line.strip().startswith("#"):
                continue
            requirement = Requirement(line.strip())
            if canonicalize_name(requirement.name) == "openbroker-aliyun":
                pending += [("options.extras_require", extra) for extra in requirement.extras - seen]
            else:
                found.append(requirement)
    return found


def test_constraints_pin_every_runtime_requirement_within_its_range() -> None:
    pins = constraint_pins()
    requirements = image_requirements()
    assert requirements
    for requirement in requirements:
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement.name} is not pinned in constraints.txt (see its header)"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"constraints.txt pins {requirement.name}=={pins[name]}, outside setup.cfg's {requirement}"
        )
    # The project itself is never pinned: the image installs it from the source.
    assert "openbroker-aliyun" not in pins


# ------------------------------------------------------------------------- HEALTHCHECK


@dataclass(frozen=True)
class Healthcheck:
    options: dict[str, str]
    command: list[str]


def healthcheck() -> Healthcheck:
    """The final stage's HEALTHCHECK: its --options and its exec-form command."""
    rest = only(final_stage(), "HEALTHCHECK").argument
    options: dict[str, str] = {}
    while rest.startswith("--"):
        option, _, rest = rest.partition(" ")
        key, _, value = option[2:].partition("=")
        options[key] = value
        rest = rest.lstrip()
    keyword, _, command = rest.partition(" ")
    assert keyword == "CMD", "HEALTHCHECK CMD [...]: NONE would switch the base image's check off"
    parsed = json.loads(command)
    # Exec form: no shell between Docker and the probe, so its exit status is the probe's.
    assert isinstance(parsed, list) and all(isinstance(part, str) for part in parsed), command
    return Healthcheck(options, parsed)


def _seconds(duration: str) -> float:
    """A Docker duration such as ``30s``, ``1m30s`` or ``500ms``, in seconds."""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", duration)
    assert parts and "".join(n + u for n, u in parts) == duration, f"not a duration: {duration!r}"
    return sum(float(number) * units[unit] for number, unit in parts)


def test_healthcheck_timing_is_explicit_and_sane() -> None:
    options = healthcheck().options
    assert set(options) >= {"interval", "timeout", "start-period", "retries"}, options
    interval, timeout = _seconds(options["interval"]), _seconds(options["timeout"])
    assert 0 < timeout < interval, "a probe must end before the next one starts"
    assert _seconds(options["start-period"]) > 0, "gunicorn and the state store need a moment at start"
    assert int(options["retries"]) >= 2, "one slow answer must not mark the broker unhealthy"


def run_healthcheck(port: int) -> subprocess.CompletedProcess[str]:
    """The HEALTHCHECK command exactly as Docker runs it in the final stage's environment.

    The image's PATH starts with the virtualenv's bin folder, so its ``python`` is the one
    the broker runs on; here that is the test's virtualenv. An HTTP proxy is set, as an
    operator might for the broker's calls to Alibaba Cloud: the probe must not use it.
    """
    proxy = "http://127.0.0.1:9"  # nothing listens there: a probe sent through it fails
    env = {
        "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
        "PORT": str(port),
        "HTTP_PROXY": proxy,
        "http_proxy": proxy,
    }
    return subprocess.run(
        healthcheck().command, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def _recording_app(
    status: str, paths: list[str]
) -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        paths.append(environ["PATH_INFO"])
        start_response(status, [("Content-Type", "text/plain")])
        return [b"probe\n"]

    return app


def test_healthcheck_command_passes_against_the_broker_the_image_runs(tmp_path: Path) -> None:
    """The image's broker (rds-broker), served over real HTTP on loopback, is healthy."""
    assert json.loads(only(final_stage(), "CMD").argument)[0] == "rds-broker"
    # Its Alibaba endpoint is a closed loopback port: the liveness probe calls nothing there.
    settings = emulator_settings(
        RdsSettings,
        "http://127.0.0.1:9",
        access_key_id="healthcheck-test",
        access_key_secret="healthcheck-test-secret",
        state_dir=tmp_path,
    )
    broker = RdsBroker(settings, SdkAliyunClient(settings.aliyun()))
    with broker_server(broker, settings) as (url, _):
        port = urlsplit(url).port
        assert port is not None
        healthy = run_healthcheck(port)
    assert healthy.returncode == 0, healthy.stderr[-3000:]
    # The same port with the broker gone: unhealthy, not a hang and not a pass.
    assert run_healthcheck(port).returncode != 0


def test_healthcheck_command_asks_health_live_and_fails_on_any_other_answer() -> None:
    paths: list[str] = []
    with serve_wsgi(_recording_app("503 Service Unavailable", paths)) as url:
        port = urlsplit(url).port
        assert port is not None
        unhealthy = run_healthcheck(port)
    assert unhealthy.returncode != 0, "a 503 from the broker must make the container unhealthy"
    assert paths == [HEALTH_LIVE], f"the probe asked {paths}, not {HEALTH_LIVE}"
    paths.clear()
    with serve_wsgi(_recording_app("200 OK", paths)) as url:
        port = urlsplit(url).port
        assert port is not None
        assert run_healthcheck(port).returncode == 0
    assert paths == [HEALTH_LIVE]


# ---------------------------------------------------------------------- build context


def _dockerignore_rules() -> list[tuple[bool, re.Pattern[str]]]:
    """(exclude?, regex) per .dockerignore line, as Docker reads them (last match wins)."""
    rules = []
    for raw in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exclude = not line.startswith("!")
        pattern = line.lstrip("!").strip("/")
        regex = ""
        for part in re.split(r"(\*\*/?|\*|\?)", pattern):
            if part.startswith("**"):
                regex += ".*"
            elif part == "*":
                regex += "[^/]*"
            elif part == "?":
                regex += "[^/]"
            else:
                regex += re.escape(part)
        # A pattern that names a folder also covers everything in it.
        rules.append((exclude, re.compile(f"^{regex}(/.*)?$")))
    return rules


# Folders no build context could want, skipped without walking them.
_NEVER = {
    ".git",
    ".venv",
    "__pycache__",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
    "site",
}


def build_context_files() -> list[str]:
    """The files `docker build .` sends, by path relative to the repository root."""
    rules = _dockerignore_rules()
    kept = []
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = sorted(d for d in subfolders if d not in _NEVER)
        for name in sorted(files):
            rel = (Path(folder) / name).relative_to(ROOT).as_posix()
            excluded = False
            for exclude, regex in rules:
                if regex.match(rel):
                    excluded = exclude
            if not excluded:
                kept.append(rel)
    return kept


def test_build_context_is_what_the_dockerfile_copies_and_nothing_else() -> None:
    files = build_context_files()
    tops = {rel.split("/")[0] for rel in files}
    assert tops == {
        "pyproject.toml",
        "setup.cfg",
        "README.md",
        "LICENSE",
        "constraints.txt",
        "openbroker_aliyun",
        "brokers",
    }
    assert not [rel for rel in files if "__pycache__" in rel or rel.endswith((".pyc", ".db", ".sqlite"))]
    copied = set()
    for ins in stages()[0]:
        if ins.keyword == "COPY" and not ins.argument.startswith("--from"):
            copied |= set(ins.argument.split()[:-1])
    assert copied == tops


def test_the_build_context_holds_everything_the_install_needs(tmp_path: Path) -> None:
    """setuptools reads the project from the context alone, as ``pip install .`` does.

    ``egg_info`` is the metadata step of that build: it lists every file the install will
    carry (SOURCES.txt) and the console scripts it will create, offline and in a second
    or two. The project's own files are the input, so a file that .dockerignore drops or
    that setup.cfg does not ship shows up here.
    """
    context = tmp_path / "context"
    for rel in build_context_files():
        target = context / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, target)
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import setuptools; setuptools.setup()",
            "-q",
            "egg_info",
            "--egg-base",
            str(tmp_path),
        ],
        cwd=context,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (info,) = tmp_path.glob("*.egg-info")
    sources = set((info / "SOURCES.txt").read_text(encoding="utf-8").split())
    scripts = configparser.ConfigParser()
    scripts.read(info / "entry_points.txt")
    # Every package and every data file of the source tree goes into the image ...
    cfg = setup_cfg()
    folders = {"aliyun_brokers": "brokers/aliyun_brokers"}
    for package in cfg["options"]["packages"].split():
        top, _, rest = package.partition(".")
        folder = "/".join(filter(None, [folders.get(top, top), rest.replace(".", "/")]))
        assert f"{folder}/__init__.py" in sources, f"{package} would be missing from the image"
    data_suffixes = (".yaml", ".yml", ".json", ".ini", "py.typed")
    for rel in build_context_files():
        if rel.endswith(data_suffixes) and "/" in rel:
            assert rel in sources, f"{rel} would be missing from the image"
    # ... and so is the command the image runs.
    command = json.loads(only(final_stage(), "CMD").argument)
    installed = dict(scripts.items("console_scripts")) if scripts.has_section("console_scripts") else {}
    assert command[0] in installed, f"the install creates no {command[0]} command"
