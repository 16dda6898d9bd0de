"""Prometheus metrics of the Alibaba Cloud calls a broker makes, fed by ``SdkAliyunClient``.

| metric | type | labels |
| --- | --- | --- |
| ``aliyun_calls_total`` | counter, per attempt | ``product``, ``action``, ``code`` (``OK`` or the error) |
| ``aliyun_call_retries_total`` | counter: attempts after the first | ``product``, ``action`` |
| ``aliyun_call_duration_seconds`` | histogram, per attempt | ``product``, ``action`` |

They are one of the library's metric sets (``openbroker_aliyun.metrics.metric_set``), so
``GET /metrics`` serves them beside the OSB ones, summed across gunicorn's workers. An
error code becomes a label only when it looks like one: anything else is ``other``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram

from openbroker_aliyun.metrics import OTHER, metric_set

if TYPE_CHECKING:
    from openbroker_aliyun.aliyun.sdk_client import CallObserver

__all__ = ["AliyunMetrics", "aliyun_call_observer", "aliyun_metrics", "code_label", "observe_aliyun_call"]

# One Alibaba API call: tens of milliseconds to the read timeout (10 s by default).
ALIYUN_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

# Alibaba error codes are dotted identifiers (``InvalidDBInstanceId.NotFound``); anything
# else (an HTML page, a long message) must not become a label.
_ERROR_CODE = re.compile(r"[A-Za-z][A-Za-z0-9._-]{0,79}")


@dataclass(frozen=True)
class AliyunMetrics:
    """This process's ``aliyun_*`` metric objects."""

    calls: Counter
    retries: Counter
    duration: Histogram


def _create(registry: CollectorRegistry) -> AliyunMetrics:
    return AliyunMetrics(
        calls=Counter(
            "aliyun_calls",
            "Alibaba Cloud API call attempts, by product, action and outcome (OK or the error code).",
            ["product", "action", "code"],
            registry=registry,
        ),
        retries=Counter(
            "aliyun_call_retries",
            "Alibaba Cloud API call attempts after the first (retries of transient errors).",
            ["product", "action"],
            registry=registry,
        ),
        duration=Histogram(
            "aliyun_call_duration_seconds",
            "Time of one Alibaba Cloud API call attempt, by product and action.",
            ["product", "action"],
            buckets=ALIYUN_BUCKETS,
            registry=registry,
        ),
    )


def aliyun_metrics() -> AliyunMetrics:
    """This process's ``aliyun_*`` metrics, created on first use."""
    return metric_set(_create)


def code_label(code: str) -> str:
    """An Alibaba outcome code as a label: the code itself when it looks like one."""
    return code if _ERROR_CODE.fullmatch(code) else OTHER


def observe_aliyun_call(product: str, action: str, code: str, attempt: int, duration_s: float) -> None:
    """Count one attempt of an Alibaba Cloud call (the ``on_call`` signature of ``SdkAliyunClient``)."""
    found = aliyun_metrics()
    found.calls.labels(product, action, code_label(code)).inc()
    found.duration.labels(product, action).observe(max(duration_s, 0.0))
    if attempt > 1:
        found.retries.labels(product, action).inc()


def aliyun_call_observer() -> CallObserver:
    """The ``on_call`` hook that feeds the ``aliyun_*`` metrics.

    Pass it when building the Alibaba client::

        SdkAliyunClient(settings.aliyun(), on_call=aliyun_call_observer())
    """
    return observe_aliyun_call
