"""Alibaba's wire format, typed: request and response dataclasses, and the two conversions.

A product's ``wire`` module (``aliyun_brokers.rds.wire``, ``aliyun_brokers.redis.wire``)
declares, for each action the broker calls, a frozen dataclass of the request and one of
the answer, every attribute with the name Alibaba gives it on the wire::

    @dataclass(frozen=True, kw_only=True)
    class DeleteAccount(WireRequest):
        action: ClassVar[str] = "DeleteAccount"
        instance_id: str = wire("DBInstanceId")
        account_name: str = wire("AccountName")

That module is the only place the broker spells Alibaba's names; steps and API classes
use the attributes. Two conversions connect the types to the transport
(``AliyunPort.call``, which speaks the PascalCase JSON of the API reference):

* ``to_params(request)``: the request as the call's parameters. ``None`` is left out;
  nested dataclasses become objects and tuples lists, which the transport sends as
  Alibaba's repeat lists (``Tag.1.Key``).
* ``parse(Answer, body, action=...)``: the typed answer. Fields the type does not declare
  are ignored; a response attribute may name a path into nested objects
  (``wire("Items.DBInstance")``). A missing field without a default, or a value of another
  JSON type than declared, raises ``WireFormatError`` naming the action and the field
  (never the value): a renamed or retyped field fails there, not in a later step.

Values keep the JSON types Alibaba sends (RDS sends ``Port`` as a string, R-kvstore as a
number); interpreting them (``"Yes"``/``"on"`` as TLS on) is the job of the answer
type's properties. tests/brokers_common/test_wire_contract.py checks every declared
field against the emulator's real answers.
"""

from __future__ import annotations

import dataclasses
import types
from dataclasses import MISSING, dataclass, field
from typing import Any, ClassVar, Mapping, Protocol, TypeVar, Union, get_args, get_origin, get_type_hints

__all__ = [
    "CloudInstance",
    "DeleteAccount",
    "ModifySecurityIps",
    "ResetAccountPassword",
    "Tag",
    "WireFormatError",
    "WireRequest",
    "WireResponse",
    "parse",
    "to_params",
    "wire",
]

T = TypeVar("T")


def wire(name: str, *, default: Any = MISSING, secret: bool = False) -> Any:
    """A dataclass attribute carried on the wire as ``name`` (a dotted path in an answer).

    ``secret`` keeps the value out of the dataclass's ``repr`` (passwords).
    """
    return field(default=default, repr=not secret, metadata={"wire": name})


class WireFormatError(ValueError):
    """An Alibaba answer lacks a field the broker needs, or carries it with another type."""


class WireRequest:
    """Base of the request dataclasses; ``action`` is the action they are the parameters of."""

    action: ClassVar[str]


@dataclass(frozen=True, kw_only=True)
class WireResponse:
    """Base of the answer dataclasses (every answer carries its ``RequestId``); the whole
    answer of the actions whose other fields the broker does not read."""

    request_id: str = wire("RequestId")


@dataclass(frozen=True, kw_only=True)
class Tag:
    """One tag, as create calls take it (``Tag.N.Key``) and R-kvstore lists it (``Tags.Tag[]``)."""

    key: str = wire("Key")
    value: str = wire("Value")


# -- actions both products spell alike but for the instance id -----------------------------
# A product's wire module subclasses each, naming ``instance_id`` its way (``DBInstanceId``,
# ``InstanceId``); ``CloudApi`` makes these calls for every product.


@dataclass(frozen=True, kw_only=True)
class ModifySecurityIps(WireRequest):
    action: ClassVar[str] = "ModifySecurityIps"
    instance_id: str
    security_ips: str = wire("SecurityIps")  # comma-separated
    modify_mode: str = wire("ModifyMode")


@dataclass(frozen=True, kw_only=True)
class ResetAccountPassword(WireRequest):
    action: ClassVar[str] = "ResetAccountPassword"
    instance_id: str
    account_name: str = wire("AccountName")
    account_password: str = wire("AccountPassword", secret=True)


@dataclass(frozen=True, kw_only=True)
class DeleteAccount(WireRequest):
    action: ClassVar[str] = "DeleteAccount"
    instance_id: str
    account_name: str = wire("AccountName")


class CloudInstance(Protocol):
    """What the shared code reads from a product's describe item (``DBInstance``, ``KVStoreInstance``)."""

    @property
    def instance_id(self) -> str: ...

    @property
    def status(self) -> str: ...

    @property
    def tags(self) -> Mapping[str, str] | None:
        """The item's tags; None when the product's listing does not carry them."""
        ...


# -- requests -----------------------------------------------------------------------------


def to_params(request: WireRequest | Tag) -> dict[str, Any]:
    """The parameters of ``request``'s call (or a nested object): Alibaba's names, ``None`` left out."""
    return _wire_object(request)


def _wire_object(value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in dataclasses.fields(value):
        if "wire" not in item.metadata:
            raise TypeError(f"{type(value).__name__}.{item.name} has no wire name")
        attribute = getattr(value, item.name)
        if attribute is not None:
            out[item.metadata["wire"]] = _wire_value(attribute)
    return out


def _wire_value(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _wire_object(value)
    if isinstance(value, (tuple, list)):
        return [_wire_value(item) for item in value]
    return value


# -- answers ------------------------------------------------------------------------------


def parse(answer: type[T], body: Mapping[str, Any], *, action: str) -> T:
    """``body`` (the JSON answer of ``action``) as an ``answer`` dataclass (module docstring)."""
    return _parse(answer, body, f"the {action} answer")


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(kind: type) -> dict[str, Any]:
    """The resolved annotations of a wire dataclass (resolved once per type)."""
    if kind not in _HINTS:
        _HINTS[kind] = get_type_hints(kind)
    return _HINTS[kind]


def _parse(kind: type[T], body: Mapping[str, Any], where: str) -> T:
    hints = _hints(kind)
    values: dict[str, Any] = {}
    for item in dataclasses.fields(kind):  # type: ignore[arg-type]
        path = item.metadata["wire"]
        found, value = _lookup(body, path, where)
        if not found:
            if item.default is MISSING and item.default_factory is MISSING:
                raise WireFormatError(f"{where} has no {path}")
            continue
        values[item.name] = _convert(hints[item.name], value, f"{where}'s {path}")
    return kind(**values)


def _lookup(body: Mapping[str, Any], path: str, where: str) -> tuple[bool, Any]:
    """``(found, value)`` at ``path``; an object on the way that is something else fails."""
    value: Any = body
    walked: list[str] = []
    for part in path.split("."):
        if not isinstance(value, Mapping):
            raise WireFormatError(f"{where}'s {'.'.join(walked)} is {_json_type(value)}, not an object")
        if part not in value:
            return False, None
        value = value[part]
        walked.append(part)
    return True, value


def _convert(hint: Any, value: Any, where: str) -> Any:
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        options = [option for option in get_args(hint) if option is not type(None)]
        if value is None and len(options) < len(get_args(hint)):
            return None
        (only,) = options  # the wire types are ``X`` or ``X | None``
        return _convert(only, value, where)
    if origin is tuple:
        if not isinstance(value, list):
            raise WireFormatError(f"{where} is {_json_type(value)}, not a list")
        item_hint = get_args(hint)[0]
        return tuple(_convert(item_hint, item, f"{where}[{index}]") for index, item in enumerate(value))
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, Mapping):
            raise WireFormatError(f"{where} is {_json_type(value)}, not an object")
        return _parse(hint, value, where)  # type: ignore[arg-type]
    if not _is_a(value, hint):
        raise WireFormatError(f"{where} is {_json_type(value)}, not {_json_type_of(hint)}")
    return value


def _is_a(value: Any, hint: Any) -> bool:
    if hint is Any:
        return True
    if isinstance(value, bool):  # JSON true/false are never numbers here
        return hint is bool
    if hint is float:
        return isinstance(value, (int, float))
    return isinstance(value, hint)


_JSON_TYPES = {str: "a string", int: "an integer", float: "a number", bool: "a boolean", type(None): "null"}


def _json_type_of(hint: Any) -> str:
    return _JSON_TYPES.get(hint, getattr(hint, "__name__", str(hint)))


def _json_type(value: Any) -> str:
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return _json_type_of(type(value))
