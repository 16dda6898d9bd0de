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
    """A broker's ``cli`` module: the thin entry that builds the app and serves it."""
    return module.startswith("aliyun_brokers.") and module.endswith(".cli")


def modules_under(prefix: str) -> list[str]:
    return sorted(m for m in imports_by_module() if m == prefix or m.startswith(prefix + "."))


def offending(prefix: str, forbidden: tuple[str, ...], allowed: tuple[str, ...] = ()) -> list[str]:
    problems = []
    for module in modules_under(prefix):
        if is_command_line(module):
            continue
        for name in imports_by_module()[module]:
            if any(name == f or name.startswith(f + ".") for f in forbidden) and not any(
                name == a or name.startswith(a + ".") for a in allowed
            ):
                problems.append(f"{module} imports {name}")
    return sorted(problems)


RULES = [
    pytest.param(
        "openbroker_aliyun.engine",
        ("flask", "werkzeug", "sqlalchemy", "openbroker_aliyun.api", "openbroker_aliyun.app",
         "aliyun_brokers", "openbroker_aliyun.aliyun", "openbroker_aliyun.emulator"),
        (),
        id="the engine knows no HTTP, no SQL toolkit, no broker, no cloud",
    ),
    pytest.param(
        "openbroker_aliyun.api",
        ("openbroker_aliyun.engine", "openbroker_aliyun.store", "sqlalchemy", "aliyun_brokers",
         "openbroker_aliyun.aliyun", "openbroker_aliyun.emulator"),
        ("openbroker_aliyun.engine.protocol",),
        id="the API sees the engine through its protocol only",
    ),
    pytest.param(
        "openbroker_aliyun.store",
        ("flask", "openbroker_aliyun.api", "openbroker_aliyun.engine", "openbroker_aliyun.broker",
         "aliyun_brokers", "openbroker_aliyun.aliyun"),
        (),
        id="the store knows nothing above it",
    ),
    pytest.param(
        "openbroker_aliyun.aliyun",
        ("flask", "sqlalchemy", "openbroker_aliyun.api", "openbroker_aliyun.engine",
         "openbroker_aliyun.store", "openbroker_aliyun.broker", "openbroker_aliyun.domain", "aliyun_brokers"),
        (),
        id="the transport knows nothing of OSB",
    ),
    pytest.param(
        "aliyun_brokers",
        ("flask", "werkzeug", "sqlalchemy", "openbroker_aliyun.api", "openbroker_aliyun.engine",
         "openbroker_aliyun.store"),
        (),
        id="brokers use no Flask, no SQLAlchemy, no engine internals",
    ),
    pytest.param(
        "openbroker_aliyun.catalog",
        ("flask", "sqlalchemy", "openbroker_aliyun.api", "openbroker_aliyun.engine",
         "openbroker_aliyun.store"),
        (),
        id="the catalog is plain data and schemas",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("prefix", "forbidden", "allowed"), RULES)
def test_dependency_rule(prefix: str, forbidden: tuple[str, ...], allowed: tuple[str, ...]) -> None:
    assert modules_under(prefix), f"no module under {prefix}"
    assert offending(prefix, forbidden, allowed) == []


def test_the_emulator_imports_nothing_of_the_library() -> None:
    problems = [
        f"{module} imports {name}"
        for module in modules_under("openbroker_aliyun.emulator")
        for name in imports_by_module()[module]
        if name.startswith(("openbroker_aliyun", "aliyun_brokers"))
        and not name.startswith("openbroker_aliyun.emulator")
    ]
    assert problems == []


def test_only_the_test_kit_and_the_brokers_demo_import_the_emulator() -> None:
    users = {
        module
        for module, names in imports_by_module().items()
        if not module.startswith("openbroker_aliyun.emulator")
        and any(name.startswith("openbroker_aliyun.emulator") for name in names)
    }
    assert {
        m for m in users if not (m.startswith("openbroker_aliyun.testing") or is_command_line(m))
    } == set()
