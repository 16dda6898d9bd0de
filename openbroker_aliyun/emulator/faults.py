"""Fault injection: per-action rates (seeded) or scripted sequences of failures.

A rule targets one action (``CreateDBInstance``), one product's action
(``rds/CreateAccount``) or every action (``*``). It either fires with a probability
(``rate``) on each matching call, or plays a script, one step per matching call, until the
script is used up. Kinds:

* ``Throttling`` (400), ``ServiceUnavailable`` (503), ``InternalError`` (500): answered
  instead of performing the action;
* ``latency`` (``seconds``): the call waits, then runs normally;
* ``drop``: the connection is closed without a response, the action is not performed;
* ``lost_response``: the action is performed, then answered with a 503;
* ``lost_response_drop``: the action is performed, then the connection is closed;
* ``ok`` (scripts only): this call passes untouched.

Text form (``--fault``), ``[TARGET=]STEP:RATE`` or ``[TARGET=]STEP:once`` /
``STEP:3x`` or ``[TARGET=]STEP,STEP,...`` where STEP is ``KIND`` or ``latency@SECONDS``::

    Throttling:0.2                      every action, 20 %
    CreateDBInstance=lost_response:once
    rds/DescribeDBInstances=Throttling,Throttling,ok,ServiceUnavailable
    DescribeInstances=latency@1.5:0.1
"""

from __future__ import annotations

import copy
import random
import threading
from dataclasses import dataclass, field
from typing import Any

KINDS = (
    "Throttling",
    "ServiceUnavailable",
    "InternalError",
    "latency",
    "drop",
    "lost_response",
    "lost_response_drop",
    "ok",
)
PRODUCTS = ("rds", "r-kvstore")
MAX_LATENCY_SECONDS = 120.0


class FaultSpecError(ValueError):
    """A fault rule that cannot be understood; the message says why."""


@dataclass(frozen=True)
class FaultStep:
    kind: str
    seconds: float = 0.0

    def to_json(self) -> str:
        return f"latency@{self.seconds:g}" if self.kind == "latency" else self.kind


@dataclass
class FaultRule:
    action: str = "*"
    product: str | None = None
    step: FaultStep | None = None  # rate rules
    rate: float | None = None
    script: list[FaultStep] = field(default_factory=list)  # scripted rules: what is left
    scripted: bool = False

    def matches(self, product: str, action: str) -> bool:
        return (self.product is None or self.product == product) and self.action in ("*", action)

    def to_json(self) -> dict[str, Any]:
        target = {"action": self.action, "product": self.product}
        if self.scripted:
            return {**target, "sequence": [s.to_json() for s in self.script], "remaining": len(self.script)}
        assert self.step is not None
        return {**target, "kind": self.step.kind, "seconds": self.step.seconds, "rate": self.rate}


def parse_step(text: str) -> FaultStep:
    kind, _, seconds = text.strip().partition("@")
    if kind not in KINDS:
        raise FaultSpecError(f"unknown fault kind {kind!r}; use one of {', '.join(KINDS)}")
    if kind == "latency":
        try:
            value = float(seconds)
        except ValueError:
            raise FaultSpecError("latency needs seconds, e.g. latency@0.5") from None
        if not 0 <= value <= MAX_LATENCY_SECONDS:
            raise FaultSpecError(f"latency must be between 0 and {MAX_LATENCY_SECONDS:g} seconds")
        return FaultStep(kind, value)
    if seconds:
        raise FaultSpecError(f"{kind} takes no @seconds")
    return FaultStep(kind)


def _target(text: str) -> tuple[str | None, str]:
    product, sep, action = text.rpartition("/")
    if sep and product not in PRODUCTS:
        raise FaultSpecError(f"unknown product {product!r}; use rds or r-kvstore")
    if not action or not (action == "*" or action.isalnum()):
        raise FaultSpecError(f"bad action {action!r}")
    return (product or None), action


def parse_fault_spec(text: str) -> FaultRule:
    """Parse the ``--fault`` text form (see the module docstring)."""
    target, sep, body = text.partition("=")
    if not sep:
        target, body = "*", text
    product, action = _target(target.strip())
    body = body.strip()
    if "," in body:
        return _scripted(product, action, [parse_step(s) for s in body.split(",")])
    step_text, sep, how = body.rpartition(":")
    if not sep:
        raise FaultSpecError(
            f"{text!r}: say how often, e.g. Throttling:0.2, Throttling:once or Throttling:3x"
        )
    step = parse_step(step_text)
    if how == "once":
        return _scripted(product, action, [step])
    if how.endswith("x") and how[:-1].isdigit():
        return _scripted(product, action, [step] * int(how[:-1]))
    try:
        rate = float(how)
    except ValueError:
        raise FaultSpecError(f"{text!r}: {how!r} is neither a rate, 'once' nor 'Nx'") from None
    return _rated(product, action, step, rate)


def _scripted(product: str | None, action: str, steps: list[FaultStep]) -> FaultRule:
    if not steps or len(steps) > 10_000:
        raise FaultSpecError("a script needs 1 to 10000 steps")
    return FaultRule(action=action, product=product, script=list(steps), scripted=True)


def _rated(product: str | None, action: str, step: FaultStep, rate: float) -> FaultRule:
    if step.kind == "ok":
        raise FaultSpecError("'ok' is only meaningful in a script")
    if not 0.0 <= rate <= 1.0:
        raise FaultSpecError("a rate is a probability between 0 and 1")
    return FaultRule(action=action, product=product, step=step, rate=rate)


def parse_fault_json(data: Any) -> FaultRule:
    """A rule of the admin API: a text spec, or an object (see docs/emulator.md)."""
    if isinstance(data, str):
        return parse_fault_spec(data)
    if not isinstance(data, dict):
        raise FaultSpecError("a rule is a string or an object")
    unknown = set(data) - {"action", "product", "kind", "seconds", "rate", "times", "sequence"}
    if unknown:
        raise FaultSpecError(f"unknown rule fields: {', '.join(sorted(unknown))}")
    action = data.get("action", "*")
    product = data.get("product")
    if not isinstance(action, str) or (product is not None and product not in PRODUCTS):
        raise FaultSpecError("action must be a string and product one of rds, r-kvstore")
    _target(action)
    if "sequence" in data:
        sequence = data["sequence"]
        if not isinstance(sequence, list):
            raise FaultSpecError("sequence must be a list")
        return _scripted(product, action, [_step_json(s) for s in sequence])
    step = _step_json({"kind": data.get("kind"), "seconds": data.get("seconds", 0)})
    if "times" in data:
        times = data["times"]
        if not isinstance(times, int) or isinstance(times, bool):
            raise FaultSpecError("times must be an integer")
        return _scripted(product, action, [step] * times)
    rate = data.get("rate")
    if not isinstance(rate, (int, float)) or isinstance(rate, bool):
        raise FaultSpecError("give either rate, times or sequence")
    return _rated(product, action, step, float(rate))


def _step_json(data: Any) -> FaultStep:
    if isinstance(data, str):
        return parse_step(data)
    if isinstance(data, dict) and isinstance(data.get("kind"), str):
        seconds = data.get("seconds", 0)
        if not isinstance(seconds, (int, float)) or isinstance(seconds, bool):
            raise FaultSpecError("seconds must be a number")
        return parse_step(f"{data['kind']}@{seconds}" if data["kind"] == "latency" else data["kind"])
    raise FaultSpecError("a step is a string such as 'Throttling' or {'kind': 'latency', 'seconds': 0.5}")


class FaultInjector:
    """Decides, per call, which fault (if any) applies. Thread-safe; seeded for reproducibility.

    The first matching scripted rule with steps left decides the call (its step is consumed,
    ``ok`` means no fault); otherwise each matching rate rule draws once, in order, and the
    first that fires applies.
    """

    def __init__(self, rules: list[FaultRule] | None = None, seed: int | None = None) -> None:
        # Copies: scripts are consumed, and the caller's rules (e.g. a shared config) must not be.
        self._rules = copy.deepcopy(list(rules or []))
        self._random = random.Random(seed)  # noqa: S311 - reproducible fault schedules, not security
        self._lock = threading.Lock()

    def pick(self, product: str, action: str) -> FaultStep | None:
        with self._lock:
            for rule in self._rules:
                if rule.scripted and rule.script and rule.matches(product, action):
                    step = rule.script.pop(0)
                    return None if step.kind == "ok" else step
            for rule in self._rules:
                if not rule.scripted and rule.matches(product, action):
                    assert rule.rate is not None
                    if self._random.random() < rule.rate:
                        return rule.step
        return None

    def add(self, rules: list[FaultRule]) -> None:
        with self._lock:
            self._rules.extend(copy.deepcopy(rules))

    def replace(self, rules: list[FaultRule], seed: int | None = None) -> None:
        with self._lock:
            self._rules = copy.deepcopy(list(rules))
            if seed is not None:
                self._random.seed(seed)

    def reseed(self, seed: int) -> None:
        with self._lock:
            self._random.seed(seed)

    def clear(self) -> None:
        with self._lock:
            self._rules = []

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [rule.to_json() for rule in self._rules]
