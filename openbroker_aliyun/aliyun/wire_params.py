"""API parameters as the query string of an RPC call, exactly as the V1 request classes send them.

* ``None`` is left out.
* Booleans are ``True`` / ``False`` (Python's spelling, as both SDKs send them).
* A list is a "repeat list": ``{"ResourceId": ["a", "b"]}`` is ``ResourceId.1=a&ResourceId.2=b``,
  ``{"Tag": [{"Key": "k", "Value": "v"}]}`` is ``Tag.1.Key=k&Tag.1.Value=v`` (the name is
  the wire prefix, ``Tag``, not the V1 setter's ``Tags``).
* A dict at the top level is a "struct" and is sent as a JSON string, as the SDK's
  ``set_ServerlessConfig`` does; inside a list a dict is expanded with dots.
"""

from __future__ import annotations

import json
from typing import Any, Mapping


def flatten_params(params: Mapping[str, Any]) -> dict[str, str]:
    """The wire query parameters for ``params``; ``TypeError`` for unsupported values."""
    out: dict[str, str] = {}
    for name, value in params.items():
        _check_name(name)
        if isinstance(value, Mapping):
            out[name] = json.dumps(value)
        else:
            _flatten_into(out, name, value)
    return out


def _flatten_into(out: dict[str, str], prefix: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value, start=1):
            _flatten_into(out, f"{prefix}.{index}", item)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _check_name(key)
            _flatten_into(out, f"{prefix}.{key}", item)
    else:
        out[prefix] = scalar_to_wire(value, prefix)


def scalar_to_wire(value: Any, name: str) -> str:
    """One scalar as the SDK writes it (``str()``, so booleans are ``True``/``False``)."""
    if isinstance(value, (str, bool, int, float)):
        return str(value)
    # The parameter's name, never its value: the value may be a password.
    raise TypeError(f"Alibaba API parameter {name!r} has an unsupported type {type(value).__name__}")


def _check_name(name: object) -> None:
    if not isinstance(name, str) or not name:
        raise TypeError("Alibaba API parameter names must be non-empty strings")
