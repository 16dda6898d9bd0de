"""The Dockerfile and its build context, checked without a Docker engine.

No engine runs here, so the image is not built. Instead the Dockerfile is parsed and
checked (base image, non-root user, command, port, no secrets); the build context that
.dockerignore lets through is assembled exactly; and setuptools reads the project from
that context alone, as the image's ``pip install .`` does: every package, every data file
and the console script the image runs must be there.
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

import yaml
from deploy_facts import ROOT, console_scripts, looks_secret

DOCKERFILE = ROOT / "Dockerfile"
DEPLOYMENT = ROOT / "deploy" / "kubernetes" / "base" / "deployment.yaml"


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


def test_both_stages_use_the_same_slim_python_311() -> None:
    images = [stage[0].argument.split()[0] for stage in stages()]
    assert images and all(image == "python:3.11-slim" for image in images), images
    # The virtualenv copied from the first stage only runs on the same Python.


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
    build = stages()[0]
    assert any(ins.keyword == "RUN" and re.search(r"pip install \.$", ins.argument) for ins in build)


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
    assert tops == {"pyproject.toml", "setup.cfg", "README.md", "openbroker_aliyun", "brokers"}
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
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
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
