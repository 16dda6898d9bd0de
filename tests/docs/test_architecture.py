"""The dependency rules docs/architecture.md states, checked on every module's imports.

Imports are read with ``ast`` (module-level and inside functions alike), so a rule
broken by a lazy import inside a function fails too.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {
    "openbroker_aliyun": ROOT / "openbroker_aliyun",
    "aliyun_brokers": ROOT / "brokers" / "aliyun_brokers",
}


@cache
def imports_by_module() -> dict[str, frozenset[str]]:
    """Every module of both packages and the absolute names it imports."""
    found: dict[str, frozenset[str]] = {}
    for package, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            parts = [package, *path.relative_to(folder).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            names: set[str] = set()
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names |= {alias.name for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module:
                    base = node.module
                    if node.level:
                        anchor = parts if path.name == "__init__.py" else parts[:-1]
                        base = ".".join([*anchor[: len(anchor) - node.level + 1], node.module])
                    names.add(base)
                    names |= {f"{base}.{alias.name}" for alias in node.names}
            found[".".join(parts)] = frozenset(names)
    return found


def is_command_line(module: str) -> bool:
    """A broker's ``cli`` module, the thin entry that builds the app and serves it, or its
    ``demo`` (``--demo``)."""
    return module.startswith("aliyun_brokers.") and module.endswith((".cli", ".demo"))


def is_under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def modules_under(prefix: str, outside: tuple[str, ...] = ()) -> list[str]:
    """The modules of ``prefix``, less those under one of ``outside``."""
    return sorted(m for m in imports_by_module() if is_under(m, (prefix,)) and not is_under(m, outside))


def offending(
    prefix: str, forbidden: tuple[str, ...], allowed: tuple[str, ...] = (), outside: tuple[str, ...] = ()
) -> list[str]:
    problems = []
    for module in modules_under(prefix, outside):
        if is_command_line(module):
            continue
        for name in imports_by_module()[module]:
            if is_under(name, forbidden) and not is_under(name, allowed):
                problems.append(f"{module} imports {name}")
    return sorted(problems)


# The Alibaba side of the distribution (the `aliyun` extra): the transport, the emulator
# and the reference brokers. Everything else in openbroker_aliyun is the core, which
# installs and imports without any extra (tests/test_core_install.py).
ALIBABA_SIDE = ("openbroker_aliyun.aliyun", "openbroker_aliyun.emulator", "aliyun_brokers")
# What only an extra installs: the Alibaba SDKs, the database and Redis drivers, openbrokerapi.
EXTRAS_ONLY = ("aliyunsdkcore", "aliyunsdkrds", "aliyunsdkr_kvstore", "psycopg", "pymysql", "redis",
               "openbrokerapi")

RULES = [
    pytest.param(
        "openbroker_aliyun.engine",
        ("flask", "werkzeug", "sqlalchemy", "openbroker_aliyun.api", "openbroker_aliyun.app",
         "aliyun_brokers", "openbroker_aliyun.aliyun", "openbroker_aliyun.emulator"),
        (),
        (),
        id="the engine knows no HTTP, no SQL toolkit, no broker, no cloud",
    ),
    pytest.param(
        "openbroker_aliyun.api",
        ("openbroker_aliyun.engine", "openbroker_aliyun.store", "sqlalchemy", "aliyun_brokers",
         "openbroker_aliyun.aliyun", "openbroker_aliyun.emulator"),
        ("openbroker_aliyun.engine.protocol",),
        (),
        id="the API sees the engine through its protocol only",
    ),
    pytest.param(
        "openbroker_aliyun.store",
        ("flask", "openbroker_aliyun.api", "openbroker_aliyun.engine", "openbroker_aliyun.broker",
         "aliyun_brokers", "openbroker_aliyun.aliyun"),
        (),
        (),
        id="the store knows nothing above it",
    ),
    pytest.param(
        "openbroker_aliyun.aliyun",
        ("flask", "sqlalchemy", "openbroker_aliyun.api", "openbroker_aliyun.engine",
         "openbroker_aliyun.store", "openbroker_aliyun.broker", "openbroker_aliyun.domain", "aliyun_brokers"),
        (),
        (),
        id="the transport knows nothing of OSB",
    ),
    pytest.param(
        "aliyun_brokers",
        ("flask", "werkzeug", "sqlalchemy", "openbroker_aliyun.api", "openbroker_aliyun.engine",
         "openbroker_aliyun.store"),
        (),
        (),
        id="brokers use no Flask, no SQLAlchemy, no engine internals",
    ),
    pytest.param(
        "openbroker_aliyun.catalog",
        ("flask", "sqlalchemy", "openbroker_aliyun.api", "openbroker_aliyun.engine",
         "openbroker_aliyun.store"),
        (),
        (),
        id="the catalog is plain data and schemas",
    ),
    pytest.param(
        "openbroker_aliyun",
        (*ALIBABA_SIDE, *EXTRAS_ONLY),
        (),
        # The Alibaba side, and the openbrokerapi adapter (the `openbrokerapi` extra): next rule.
        ("openbroker_aliyun.aliyun", "openbroker_aliyun.emulator", "openbroker_aliyun.interop"),
        id="the core knows no Alibaba and needs no extra",
    ),
    pytest.param(
        "openbroker_aliyun.interop",
        (*ALIBABA_SIDE, *(name for name in EXTRAS_ONLY if name != "openbrokerapi")),
        (),
        (),
        id="the openbrokerapi adapter needs that extra alone",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("prefix", "forbidden", "allowed", "outside"), RULES)
def test_dependency_rule(
    prefix: str, forbidden: tuple[str, ...], allowed: tuple[str, ...], outside: tuple[str, ...]
) -> None:
    assert modules_under(prefix, outside), f"no module under {prefix}"
    assert offending(prefix, forbidden, allowed, outside) == []


def test_the_emulator_imports_nothing_of_the_library() -> None:
    problems = [
        f"{module} imports {name}"
        for module in modules_under("openbroker_aliyun.emulator")
        for name in imports_by_module()[module]
        if name.startswith(("openbroker_aliyun", "aliyun_brokers"))
        and not name.startswith("openbroker_aliyun.emulator")
    ]
    assert problems == []


def test_only_the_brokers_demo_imports_the_emulator() -> None:
    users = {
        module
        for module, names in imports_by_module().items()
        if not module.startswith("openbroker_aliyun.emulator")
        and any(name.startswith("openbroker_aliyun.emulator") for name in names)
    }
    assert {m for m in users if not is_command_line(m)} == set()
