"""Name and password rules of RDS and R-kvstore (aliyun-api.md §4.1, §4.3).

Codes chosen where Alibaba's own documentation is not explicit (documented in
docs/emulator.md): reserved names and the PostgreSQL ``pg`` prefix →
``InvalidAccountName.Forbid``; other bad names → ``InvalidAccountName.Malformed``.
"""

from __future__ import annotations

import re

from .errors import ApiError

PASSWORD_SPECIALS = "!@#$%^&*()_+-="  # noqa: S105 - the allowed special characters

_RESERVED_ACCOUNTS = frozenset(
    {
        "root", "admin", "administrator", "mysql", "mariadb", "postgres", "sys", "system", "test",
        "guest", "public", "replicator", "aurora", "aliyun_root", "information_schema",
        "performance_schema", "mysql.sys", "mysql.session", "select", "insert", "update", "delete",
        "create", "drop", "alter", "grant", "revoke", "table", "user", "role", "database", "index",
        "default", "all", "and", "or", "not", "null", "from", "where", "order", "group", "union",
    }
)  # fmt: skip
_RESERVED_DATABASES = frozenset(
    {"mysql", "information_schema", "performance_schema", "sys", "test", "postgres", "template0", "template1"}
)
_RESERVED_REDIS_ACCOUNTS = frozenset({"default", "root", "admin", "replicator", "aliyun_root"})


def check_password(password: str, *, code: str = "InvalidAccountPassword.Malformed") -> None:
    """8 to 32 characters from letters, digits and ``!@#$%^&*()_+-=``, three of four classes."""
    allowed = all(c.isascii() and (c.isalnum() or c in PASSWORD_SPECIALS) for c in password)
    classes = sum(
        [
            any(c.isupper() for c in password),
            any(c.islower() for c in password),
            any(c.isdigit() for c in password),
            any(c in PASSWORD_SPECIALS for c in password),
        ]
    )
    if not (8 <= len(password) <= 32 and allowed and classes >= 3):
        raise ApiError(
            code,
            "The password must be 8 to 32 characters long and contain at least three of: "
            f"uppercase letters, lowercase letters, digits, special characters {PASSWORD_SPECIALS}.",
        )


def _malformed(detail: str) -> ApiError:
    return ApiError("InvalidAccountName.Malformed", f"Specified account name is not valid: {detail}")


def check_rds_account_name(engine: str, engine_version: str, name: str) -> None:
    if engine in ("MySQL", "MariaDB"):
        max_length = 16 if engine == "MariaDB" or engine_version == "5.6" else 32
        pattern = r"[a-zA-Z][a-zA-Z0-9_]*[a-zA-Z0-9]"  # the API also allows uppercase for MySQL
    elif engine == "PostgreSQL":
        max_length = 63
        pattern = r"[a-z][a-z0-9_]*[a-z0-9]"
    else:
        max_length = 64
        pattern = r"[a-zA-Z][a-zA-Z0-9_]*[a-zA-Z0-9]"
    if not 2 <= len(name) <= max_length:
        raise _malformed(f"it must be 2 to {max_length} characters long for {engine} {engine_version}.")
    if not re.fullmatch(pattern, name):
        raise _malformed(
            "it must start with a letter, end with a letter or digit and contain only letters, digits and _."
        )
    if name.lower() in _RESERVED_ACCOUNTS:
        raise ApiError("InvalidAccountName.Forbid", "Specified account name is a reserved word.")
    if engine == "PostgreSQL" and name.startswith("pg"):
        raise ApiError("InvalidAccountName.Forbid", "PostgreSQL account names must not start with pg.")


def check_kvstore_account_name(name: str) -> None:
    if not 1 <= len(name) <= 100 or not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise _malformed(
            "it must start with a lowercase letter, contain only lowercase letters, digits and _, "
            "and be at most 100 characters long."
        )
    if name in _RESERVED_REDIS_ACCOUNTS:
        raise ApiError("InvalidAccountName.Forbid", "Specified account name is reserved.")


def check_database_name(name: str) -> None:
    if not 2 <= len(name) <= 64 or not re.fullmatch(r"[a-z][a-z0-9_\-]*[a-z0-9]", name):
        raise ApiError(
            "InvalidDBName.Malformed",
            "Specified database name is not valid: 2 to 64 characters, lowercase letters, digits, "
            "_ and -, starting with a letter and ending with a letter or digit.",
        )
    if name in _RESERVED_DATABASES:
        raise ApiError("InvalidDBName.Forbid", "Specified database name is reserved.")


def check_description(name: str, text: str, *, min_length: int = 2, max_length: int = 256) -> None:
    if text and (not min_length <= len(text) <= max_length or not text[0].isalpha() or "://" in text):
        raise ApiError(
            f"Invalid{name}.Malformed",
            f"Specified {name} is not valid: {min_length} to {max_length} characters, "
            "starting with a letter.",
        )
