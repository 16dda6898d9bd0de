"""The state store: instances, bindings and operations in SQLite, PostgreSQL or MySQL.

``Store.open(url, encryption_keys=[...])`` connects and migrates the schema (alembic,
safe when several processes start together); secrets are encrypted at rest and
``Store.rotate_keys()`` re-encrypts them with the first key. ``Store.transact`` runs
read-write transactions, ``Store.read`` read-only ones that take no lock.

A database failure leaves the store as ``StoreUnavailable`` (unreachable: try again
later), ``StoreValueError`` (a value the database refuses) or ``StoreFailure``; the
store's ``outage`` tracker logs once when the database becomes unreachable and once when
it answers again.
"""

from openbroker_aliyun.store.encryption import FieldCipher, generate_key
from openbroker_aliyun.store.errors import (
    DecryptionError,
    StoreConfigError,
    StoreDatabaseError,
    StoreError,
    StoreFailure,
    StoreUnavailable,
    StoreValueError,
)
from openbroker_aliyun.store.outage import OutageTracker
from openbroker_aliyun.store.rows import (
    BindingSnapshot,
    BindingStatus,
    InstanceSnapshot,
    InstanceStatus,
    OperationLookup,
    OperationSummary,
    StoredBinding,
    StoredInstance,
    StoredOperation,
)
from openbroker_aliyun.store.store import Reader, RotationReport, Store, Transaction

__all__ = [
    "BindingSnapshot",
    "BindingStatus",
    "DecryptionError",
    "FieldCipher",
    "InstanceSnapshot",
    "InstanceStatus",
    "OperationLookup",
    "OperationSummary",
    "OutageTracker",
    "Reader",
    "RotationReport",
    "Store",
    "StoreConfigError",
    "StoreDatabaseError",
    "StoreError",
    "StoreFailure",
    "StoreUnavailable",
    "StoreValueError",
    "StoredBinding",
    "StoredInstance",
    "StoredOperation",
    "Transaction",
    "generate_key",
]
