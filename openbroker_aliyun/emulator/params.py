"""Typed reading of an action's wire parameters, with Alibaba's errors for bad input."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Iterable, Mapping

from .errors import invalid_parameter, missing_parameter

_TRUE = {"true", "1"}
_FALSE = {"false", "0"}


class Params:
    """The parameters of one call (PascalCase names, string values, empty values removed)."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = dict(values)

    def __contains__(self, name: str) -> bool:
        return name in self._values

    def raw(self) -> dict[str, str]:
        return dict(self._values)

    def optional(self, name: str, default: str | None = None) -> str | None:
        return self._values.get(name, default)

    def required(self, name: str) -> str:
        value = self._values.get(name)
        if value is None:
            raise missing_parameter(name)
        return value

    def text(self, name: str, default: str = "", *, max_length: int = 256) -> str:
        value = self._values.get(name, default)
        if len(value) > max_length:
            raise invalid_parameter(name, f"It must be at most {max_length} characters long.")
        return value

    def boolean(self, name: str, default: bool = False) -> bool:
        """Case-insensitive: both SDKs send Python booleans as ``True``/``False``."""
        value = self._values.get(name)
        if value is None:
            return default
        lowered = value.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise invalid_parameter(name, "Expected true or false.")

    def integer(self, name: str, default: int, *, minimum: int, maximum: int) -> int:
        value = self._values.get(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            raise invalid_parameter(name, "Expected an integer.") from None
        if not minimum <= number <= maximum:
            raise invalid_parameter(name, f"It must be between {minimum} and {maximum}.")
        return number

    def choice(
        self, name: str, choices: Iterable[str], default: str | None = None, *, ignore_case: bool = False
    ) -> str:
        options = list(choices)
        value = self._values.get(name, default)
        if value is None:
            raise missing_parameter(name)
        for option in options:
            if value == option or (ignore_case and value.lower() == option.lower()):
                return option
        raise invalid_parameter(name, "Valid values: " + ", ".join(options) + ".")

    def comma_list(self, name: str, *, max_items: int) -> list[str]:
        value = self._values.get(name)
        if value is None:
            return []
        items = [item.strip() for item in value.split(",") if item.strip()]
        if len(items) > max_items:
            raise invalid_parameter(name, f"At most {max_items} items are allowed.")
        return items

    def repeat_list(self, prefix: str) -> list[str]:
        """``ResourceId.1``, ``ResourceId.2``, ... in index order."""
        pattern = re.compile(re.escape(prefix) + r"\.(\d+)$")
        found = [(int(m.group(1)), v) for k, v in self._values.items() if (m := pattern.match(k))]
        return [v for _, v in sorted(found)]

    def tag_list(self, prefix: str = "Tag") -> list[tuple[str, str]]:
        """``Tag.N.Key`` / ``Tag.N.Value`` pairs in index order; a value may be empty."""
        pattern = re.compile(re.escape(prefix) + r"\.(\d+)\.(Key|Value)$")
        by_index: dict[int, dict[str, str]] = {}
        for key, value in self._values.items():
            match = pattern.match(key)
            if match:
                by_index.setdefault(int(match.group(1)), {})[match.group(2)] = value
        pairs = []
        for index in sorted(by_index):
            entry = by_index[index]
            if "Key" not in entry:
                raise missing_parameter(f"{prefix}.{index}.Key")
            pairs.append((entry["Key"], entry.get("Value", "")))
        return pairs

    def fingerprint(self, *, exclude: Iterable[str]) -> str:
        """A digest of the parameters, for idempotency-token comparison."""
        skip = set(exclude)
        canonical = json.dumps(sorted((k, v) for k, v in self._values.items() if k not in skip))
        return hashlib.sha256(canonical.encode()).hexdigest()
