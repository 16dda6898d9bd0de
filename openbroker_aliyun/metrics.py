"""Prometheus metrics of a broker: HTTP requests and async operations, and a home for more.

``GET /metrics`` (see ``openbroker_aliyun.api.metrics_endpoint``) serves:

| metric | type | labels |
| --- | --- | --- |
| ``osb_requests_total`` | counter | ``endpoint`` (the route template), ``method``, ``status`` |
| ``osb_request_duration_seconds`` | histogram | ``endpoint``, ``method`` |
| ``osb_requests_in_progress`` | gauge | none |
| ``osb_operations`` | gauge, read from the state store at scrape time | ``kind``, ``state`` |
| ``osb_state_store_up`` | gauge: 1 when that read worked | none |

plus the metric sets other parts define with ``metric_set`` (the Alibaba transport's
``aliyun_*`` metrics: ``openbroker_aliyun.aliyun.metrics``).

Labels never hold a raw path, an id or a parameter: routes are templates
(``/v2/service_instances/<instance_id>``), unknown routes are ``unmatched``, and odd
methods or error codes are folded into ``other``.

Under gunicorn the workers are processes: each counts its own requests. ``serve`` turns
on prometheus-client's multiprocess mode (``enable_multiprocess`` in gunicorn's
``on_starting``, before any worker forks), so every worker writes its values to files in
``PROMETHEUS_MULTIPROC_DIR`` and whichever worker answers ``/metrics`` sums them all.
Outside gunicorn the process's own registry is served (with the default registry's
process metrics and any metric a broker defines itself).
"""

from __future__ import annotations

import glob
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, runtime_checkable

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, multiprocess, values
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from openbroker_aliyun.domain import OperationKind, OperationState
from openbroker_aliyun.store.errors import StoreUnavailable

log = logging.getLogger("openbroker_aliyun.metrics")

MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"

# Broker requests are mostly fast; a synchronous step may take up to the 55 s worker timeout.
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

#: The ``endpoint`` label of a request that matched no route (a 404 or 405).
UNMATCHED = "unmatched"
#: The label value that stands for any value outside the expected set.
OTHER = "other"

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

MetricSetT = TypeVar("MetricSetT")


# --------------------------------------------------------------------- the metrics


@dataclass(frozen=True)
class BrokerMetrics:
    """This process's metric objects; ``registry`` holds them outside multiprocess mode."""

    registry: CollectorRegistry
    requests: Counter
    request_duration: Histogram
    requests_in_progress: Gauge
    # The labelled children of ``requests`` and ``request_duration`` by (endpoint, method,
    # status): looking them up in prometheus-client costs more than counting. Bounded,
    # as the label values are.
    request_children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = field(
        default_factory=dict, compare=False, repr=False
    )
    # The metric sets of ``metric_set``, by the function that made them.
    extensions: dict[Callable[[CollectorRegistry], Any], Any] = field(
        default_factory=dict, compare=False, repr=False
    )

    @classmethod
    def create(cls) -> BrokerMetrics:
        registry = CollectorRegistry(auto_describe=True)
        return cls(
            registry=registry,
            requests=Counter(
                "osb_requests",
                "HTTP requests answered, by route template, method and status.",
                ["endpoint", "method", "status"],
                registry=registry,
            ),
            request_duration=Histogram(
                "osb_request_duration_seconds",
                "Time to answer an HTTP request, by route template and method.",
                ["endpoint", "method"],
                buckets=REQUEST_BUCKETS,
                registry=registry,
            ),
            requests_in_progress=Gauge(
                "osb_requests_in_progress",
                "HTTP requests being answered now.",
                registry=registry,
                # Summed over the live workers; a dead worker's requests are not in flight.
                multiprocess_mode="livesum",
            ),
        )


_lock = threading.Lock()
_metrics: BrokerMetrics | None = None


def broker_metrics() -> BrokerMetrics:
    """This process's metrics, created on first use.

    Created lazily so that a process switched to multiprocess mode before it first counts
    anything (gunicorn's master, before the fork) makes them with file-backed values.
    """
    global _metrics
    current = _metrics
    if current is not None:
        return current
    with _lock:
        if _metrics is None:
            _metrics = BrokerMetrics.create()
        return _metrics


def metric_set(create: Callable[[CollectorRegistry], MetricSetT]) -> MetricSetT:
    """This process's instance of a set of metrics defined outside the core.

    ``create`` makes the metric objects in the registry it is given (call it with the
    same function every time: it is the key). It runs once per process, and again after
    a switch to multiprocess mode, as the core's own metrics do, so that the values follow
    ``serve``'s workers and ``render`` exposes them. A transport or a broker defines its
    metrics this way (``openbroker_aliyun.aliyun.metrics`` does).
    """
    found = broker_metrics()
    made = found.extensions.get(create)
    if made is None:
        with _lock:
            made = found.extensions.get(create)
            if made is None:
                made = found.extensions[create] = create(found.registry)
    return made


# ----------------------------------------------------------------- what is counted


def method_label(method: str) -> str:
    """The HTTP method, or ``other`` for methods no client of a broker uses."""
    upper = method.upper()
    return upper if upper in _METHODS else OTHER


def request_started() -> None:
    broker_metrics().requests_in_progress.inc()


def request_finished() -> None:
    broker_metrics().requests_in_progress.dec()


def observe_request(endpoint: str, method: str, status: int, duration_s: float) -> None:
    """Count one answered request; ``endpoint`` is a route template, never a raw path."""
    found = broker_metrics()
    key = (endpoint, method_label(method), status)
    children = found.request_children.get(key)
    if children is None:
        children = found.request_children[key] = (
            found.requests.labels(key[0], key[1], str(status)),
            found.request_duration.labels(key[0], key[1]),
        )
    children[0].inc()
    children[1].observe(max(duration_s, 0.0))


# ------------------------------------------------------------ operations (scraped)


@runtime_checkable
class CountsOperations(Protocol):
    """An engine that can count its operations (``Engine`` can)."""

    def operation_counts(self) -> Mapping[tuple[str, str], int]:
        """Operations in the state store by (kind, state)."""
        ...


class OperationsCollector(Collector):
    """``osb_operations{kind,state}`` and ``osb_state_store_up``, read at scrape time.

    Every (kind, state) pair of the OSB operations is reported, zeros included, so that a
    dashboard sees 0 rather than nothing. A failed read reports ``osb_state_store_up 0``
    and no operation counts (a scrape must not fail because the database is away).
    """

    def __init__(self, counts: Callable[[], Mapping[tuple[str, str], int]]) -> None:
        self._counts = counts

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "osb_state_store_up", "1 when the state store answered the last scrape's query."
        )
        try:
            found = dict(self._counts())
        except StoreUnavailable:
            # The store's outage tracker logs the outage once; a line per scrape adds noise.
            up.add_metric([], 0)
            yield up
            return
        except Exception as error:
            # The type only: a database error's message may quote its URL.
            log.warning("cannot count operations for /metrics", extra={"error_type": type(error).__name__})
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        counts = {(str(kind), str(state)): 0 for kind in OperationKind for state in OperationState}
        counts.update({(str(kind), str(state)): number for (kind, state), number in found.items()})
        family = GaugeMetricFamily(
            "osb_operations", "Operations in the state store, by kind and state.", labels=["kind", "state"]
        )
        for (kind, state), number in sorted(counts.items()):
            family.add_metric([kind, state], number)
        yield family


# ---------------------------------------------------------------------- exposition


class _Registered(Collector):
    """Everything in another registry, as one collector of a scrape's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry

    def collect(self) -> Iterable[Metric]:
        return self._registry.collect()


def render(accept: str | None, extra: Iterable[Collector] = ()) -> tuple[bytes, str]:
    """The exposition of this process's (or, in multiprocess mode, every worker's)
    metrics plus ``extra`` collectors, in the format ``accept`` asks for.

    Returns the body and its content type.
    """
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_enabled():
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_Registered(REGISTRY))
        registry.register(_Registered(broker_metrics().registry))
    for collector in extra:
        registry.register(collector)
    encoder, content_type = choose_encoder(accept or "")
    return encoder(registry), content_type


# ------------------------------------------------------------- multiprocess mode


_made_dir: str | None = None


def multiprocess_enabled() -> bool:
    """Whether metric values live in files shared by the processes (``PROMETHEUS_MULTIPROC_DIR``)."""
    return bool(os.environ.get(MULTIPROC_DIR_ENV))


def enable_multiprocess() -> str:
    """Switch this process, and every process it forks afterwards, to multiprocess mode.

    Uses ``$PROMETHEUS_MULTIPROC_DIR`` when the operator set it (removing the files a
    previous run left there, as prometheus-client requires), else a fresh temporary
    directory that ``disable_multiprocess`` removes. Call it in the parent before forking
    workers (``serve`` does, in gunicorn's ``on_starting``). Returns the directory.
    """
    global _made_dir
    directory = os.environ.get(MULTIPROC_DIR_ENV)
    if directory:
        os.makedirs(directory, exist_ok=True)
        for stale in glob.glob(os.path.join(directory, "*.db")):
            os.remove(stale)
    else:
        directory = tempfile.mkdtemp(prefix="openbroker-metrics-")
        _made_dir = directory
        os.environ[MULTIPROC_DIR_ENV] = directory
    _use_current_value_class()
    return directory


def disable_multiprocess() -> None:
    """Undo ``enable_multiprocess``: remove the directory it made (an operator's stays)."""
    global _made_dir
    made, _made_dir = _made_dir, None
    if made is None:
        return
    if os.environ.get(MULTIPROC_DIR_ENV) == made:
        del os.environ[MULTIPROC_DIR_ENV]
    shutil.rmtree(made, ignore_errors=True)
    _use_current_value_class()


def mark_process_dead(pid: int) -> None:
    """Forget a dead worker's live gauges (gunicorn's ``child_exit``); counters stay summed."""
    if multiprocess_enabled():
        multiprocess.mark_process_dead(pid)


def _use_current_value_class() -> None:
    global _metrics
    # prometheus-client picks in-memory or file-backed values when it is first imported;
    # the broker's modules may have imported it before the directory was set.
    values.ValueClass = values.get_value_class()
    with _lock:
        # Metric objects made before the switch hold the other kind of values.
        _metrics = None
