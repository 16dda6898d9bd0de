"""Binding credentials under Alibaba's rules: the library's credentials, with Alibaba's limits.

The library's ``openbroker_aliyun.credentials`` knows no cloud; what Alibaba's
``CreateAccount`` (RDS and R-kvstore) accepts, and the ``provider`` the Alibaba brokers
name, are here:

- ``generate_password``: a password Alibaba accepts (8 to 32 characters, every character
  class, specials from ``PASSWORD_SPECIALS``);
- the longest account name per engine and PostgreSQL's forbidden prefixes, for the
  library's ``generate_account_name``;
- ``database_credentials`` and ``redis_credentials``: the library's, with
  ``provider: alibabacloud``.
"""

from __future__ import annotations

from functools import partial

from openbroker_aliyun import credentials

__all__ = [
    "MYSQL_56_ACCOUNT_MAX_LENGTH",
    "MYSQL_ACCOUNT_MAX_LENGTH",
    "PASSWORD_MAX_LENGTH",
    "PASSWORD_MIN_LENGTH",
    "PASSWORD_SPECIALS",
    "POSTGRESQL_ACCOUNT_MAX_LENGTH",
    "POSTGRESQL_FORBIDDEN_PREFIXES",
    "POSTGRESQL_LOCAL_SSD_ACCOUNT_MAX_LENGTH",
    "PROVIDER",
    "REDIS_ACCOUNT_MAX_LENGTH",
    "database_credentials",
    "generate_password",
    "redis_credentials",
]

#: The special characters Alibaba accepts in RDS and Redis account passwords.
PASSWORD_SPECIALS = "!@#$%^&*()_+-="  # noqa: S105 (an alphabet, not a password)
#: Alibaba's password length limits (RDS and Redis accounts).
PASSWORD_MIN_LENGTH, PASSWORD_MAX_LENGTH = 8, 32

#: Longest account name per engine (Alibaba ``CreateAccount`` rules).
MYSQL_ACCOUNT_MAX_LENGTH = 32  # MySQL 5.7 / 8.0
MYSQL_56_ACCOUNT_MAX_LENGTH = 16
POSTGRESQL_ACCOUNT_MAX_LENGTH = 63  # cloud disks; must not start with "pg"
POSTGRESQL_LOCAL_SSD_ACCOUNT_MAX_LENGTH = 16
REDIS_ACCOUNT_MAX_LENGTH = 100
#: PostgreSQL on RDS reserves names starting with "pg".
POSTGRESQL_FORBIDDEN_PREFIXES = ("pg",)

#: ``provider`` of every credential set (servicebinding.io RECOMMENDED entry).
PROVIDER = "alibabacloud"


def generate_password(length: int = 24) -> str:
    """A random password Alibaba accepts for an RDS or Redis account.

    ``length`` must be within Alibaba's 8 to 32; the password holds a lower-case letter,
    an upper-case letter, a digit and one of ``PASSWORD_SPECIALS``.
    """
    if not PASSWORD_MIN_LENGTH <= length <= PASSWORD_MAX_LENGTH:
        raise ValueError(f"password length must be {PASSWORD_MIN_LENGTH}-{PASSWORD_MAX_LENGTH}, not {length}")
    return credentials.generate_password(length, specials=PASSWORD_SPECIALS)


#: ``openbroker_aliyun.credentials.database_credentials`` with ``provider: alibabacloud``.
database_credentials = partial(credentials.database_credentials, provider=PROVIDER)
#: ``openbroker_aliyun.credentials.redis_credentials`` with ``provider: alibabacloud``.
redis_credentials = partial(credentials.redis_credentials, provider=PROVIDER)
