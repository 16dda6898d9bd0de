"""A step's progress as typed records, stored in an OSB record's ``details`` as it always was.

The framework persists an instance's (or binding's) ``details`` after every step. The
brokers keep their progress there as records: dataclasses whose attributes are the keys
(``details["db_instance_id"]`` is ``RdsProgress.db_instance_id``), a nested record being a
nested object (``details["update"]``). A record stores exactly what the dict it replaces
held, so state written by an earlier release loads, and is written back unchanged:

* a field is in ``details`` when it was there when loaded, or once it is assigned
  (``None`` included), until ``unset``; a record built in code (a new update's
  targets) stores its fields without a default, and those given a value other than None;
* keys the record does not declare are kept, with their values and order.

``recorded(Kind, details)`` loads the record for a step and writes it back when the step
ends, whatever way it ends (the framework keeps what a failed step recorded).

The shared parts are here: ``CloudProgress`` (an instance), ``UpdateProgress`` and
``DeprovisionProgress`` (an operation's part of it), ``BindingProgress`` (a binding), and
what a step's stages work on (``Updating``, ``Deleting``, ``Binding``). A product
subclasses them with its own fields (``aliyun_brokers.rds.progress``).
"""

from __future__ import annotations

import typing
from contextlib import contextmanager
from dataclasses import MISSING, Field, dataclass, field, fields
from typing import Any, Generic, Iterator, Mapping, Self, TypeVar

__all__ = [
    "Binding",
    "BindingProgress",
    "CloudProgress",
    "Deleting",
    "DeprovisionProgress",
    "Record",
    "UpdateProgress",
    "Updating",
    "known",
    "recorded",
]

T = TypeVar("T")
RecordT = TypeVar("RecordT", bound="Record")


def known(value: T | None, name: str) -> T:
    """``value``, which an earlier stage recorded as ``name``; KeyError when it did not."""
    if value is None:
        raise KeyError(name)
    return value


@dataclass(kw_only=True)
class Record:
    """Base of the progress records (see the module docstring)."""

    def __post_init__(self) -> None:
        # The keys stored, in order (fields and undeclared keys alike), and the values of
        # the undeclared ones. Built in code: what has no default, then what was given a
        # value (the order in which the dicts before these records were filled).
        given = [item for item in fields(self) if _required(item) or getattr(self, item.name) is not None]
        stored = {item.name: None for item in sorted(given, key=lambda item: not _required(item))}
        object.__setattr__(self, "_order", stored)
        object.__setattr__(self, "_extra", {})

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        order: dict[str, None] | None = self.__dict__.get("_order")
        if order is not None and name in _fields_of(type(self)):
            order.setdefault(name, None)

    @classmethod
    def load(cls, data: Mapping[str, Any]) -> Self:
        """The record of ``data`` as stored (never fails on what an earlier release wrote)."""
        declared = _fields_of(cls)
        values: dict[str, Any] = {name: None for name, item in declared.items() if _required(item)}
        extra: dict[str, Any] = {}
        for key, value in data.items():
            if key not in declared:
                extra[key] = value
                continue
            nested = _record_type(cls, key)
            values[key] = nested.load(value) if nested is not None and isinstance(value, Mapping) else value
        record = cls(**values)
        object.__setattr__(record, "_order", dict.fromkeys(data))
        object.__setattr__(record, "_extra", extra)
        return record

    def dump(self) -> dict[str, Any]:
        """What to store: the stored fields and the undeclared keys, in their order."""
        extra: dict[str, Any] = self.__dict__["_extra"]
        out: dict[str, Any] = {}
        for key in self.__dict__["_order"]:
            value = extra[key] if key in extra else getattr(self, key)
            out[key] = value.dump() if isinstance(value, Record) else value
        return out

    def unset(self, *names: str) -> None:
        """Take ``names`` out of the stored keys (their attributes go back to their defaults)."""
        declared = _fields_of(type(self))
        for name in names:
            item = declared[name]
            default = item.default_factory() if item.default_factory is not MISSING else item.default
            object.__setattr__(self, name, None if default is MISSING else default)
            self.__dict__["_order"].pop(name, None)

    @property
    def extra(self) -> Mapping[str, Any]:
        """The stored keys this record does not declare (kept as they were)."""
        return dict(self.__dict__["_extra"])


def _required(item: Field[Any]) -> bool:
    return item.default is MISSING and item.default_factory is MISSING


_FIELDS: dict[type[Record], dict[str, Field[Any]]] = {}


def _fields_of(kind: type[Record]) -> dict[str, Field[Any]]:
    """A record type's fields by name (read on every assignment, so kept)."""
    if kind not in _FIELDS:
        _FIELDS[kind] = {item.name: item for item in fields(kind)}
    return _FIELDS[kind]


_NESTED: dict[tuple[type[Record], str], type[Record] | None] = {}


def _record_type(kind: type[Record], name: str) -> type[Record] | None:
    """The record type of a nested field (``update: RdsUpdate | None``), else None."""
    if (kind, name) not in _NESTED:
        hint = typing.get_type_hints(kind)[name]
        options = typing.get_args(hint) or (hint,)
        records = [option for option in options if isinstance(option, type) and issubclass(option, Record)]
        _NESTED[kind, name] = records[0] if records else None
    return _NESTED[kind, name]


@contextmanager
def recorded(kind: type[RecordT], details: dict[str, Any]) -> Iterator[RecordT]:
    """``details`` as a ``kind`` record; what the block records is written back, however it ends."""
    record = kind.load(details)
    try:
        yield record
    finally:
        dumped = record.dump()
        details.clear()
        details.update(dumped)


# -- the shared records --------------------------------------------------------------------


@dataclass(kw_only=True)
class UpdateProgress(Record):
    """``details["update"]``: an update's targets, for one operation (``op``)."""

    op: str
    step: str | None
    #: The whitelist after the update (the operator's entries and the user's), if it changes.
    security_ips: list[str] | None = None
    #: TLS after the update, if it changes.
    tls: bool | None = None


@dataclass(kw_only=True)
class DeprovisionProgress(Record):
    """``details["deprovision"]``: a deprovision's progress, for one operation (``op``)."""

    op: str
    step: str | None
    #: The ids of the instances deleted (or found gone).
    gone: list[str]
    #: How many times the last tag search found more instances.
    sweeps: int
    #: The ids of the instances to delete.
    ids: list[str] | None = None


@dataclass(kw_only=True)
class CloudProgress(Record):
    """An OSB instance's ``details``: what every product records about its cloud instance.

    A product adds its own fields, among them the cloud instance's id (``recorded_id``).
    """

    #: The provision's next stage (``done`` once provisioned).
    step: str | None = None
    engine_version: str | None = None
    instance_class: str | None = None
    zone_id: str | None = None
    security_ips: list[str] | None = None
    tls: bool | None = None
    #: The instance was found by its tags, not created by this provision.
    adopted: bool | None = None
    host: str | None = None
    port: int | None = None
    #: When the create call returned (wall-clock seconds).
    created_at: float | None = None
    update: UpdateProgress | None = None
    deprovision: DeprovisionProgress | None = None

    @property
    def recorded_id(self) -> str | None:
        """The cloud instance's id, once the provision created or found it."""
        raise NotImplementedError

    @property
    def cloud_id(self) -> str:
        """The cloud instance's id (recorded by the provision's create stage)."""
        return known(self.recorded_id, "the cloud instance's id")


@dataclass(kw_only=True)
class BindingProgress(Record):
    """A binding's ``details``: the account the bind made for it."""

    step: str | None = None
    account: str | None = None
    password: str | None = field(default=None, repr=False)


# -- what a step's stages work on --------------------------------------------------------------

InstanceT = TypeVar("InstanceT", bound=CloudProgress)
UpdateT = TypeVar("UpdateT", bound=UpdateProgress)
BindingT = TypeVar("BindingT", bound=BindingProgress)


@dataclass(frozen=True)
class Updating(Generic[InstanceT, UpdateT]):
    """The stages of an update: the instance's progress and the update's (whose ``step`` drives them)."""

    instance: InstanceT
    update: UpdateT


@dataclass(frozen=True)
class Deleting(Generic[InstanceT]):
    """The stages of a deprovision: the instance's progress and the deprovision's."""

    instance: InstanceT
    deprovision: DeprovisionProgress


@dataclass(frozen=True)
class Binding(Generic[InstanceT, BindingT]):
    """The stages of a bind: the instance's progress (read only) and the binding's."""

    instance: InstanceT
    binding: BindingT
