"""``metric_set``: metrics defined outside the core, served by ``/metrics`` beside the OSB ones.

The Alibaba transport's ``aliyun_*`` metrics are one such set (test_aliyun_metrics.py);
here a broker-defined set shows the mechanism itself, with no extra installed.
"""

from __future__ import annotations

from dataclasses import dataclass

from observability_support import value
from prometheus_client import CollectorRegistry, Counter

from openbroker_aliyun import metrics


@dataclass(frozen=True)
class FolderMetrics:
    folders: Counter


def _create(registry: CollectorRegistry) -> FolderMetrics:
    return FolderMetrics(
        Counter("folder_broker_folders", "Folders made, by plan.", ["plan"], registry=registry)
    )


def _rendered() -> str:
    body, _ = metrics.render(None)
    return body.decode()


def test_a_metric_set_is_made_once_and_rendered() -> None:
    first = metrics.metric_set(_create)
    assert metrics.metric_set(_create) is first  # one set per process, whoever asks
    before = value(_rendered(), "folder_broker_folders_total", plan="small")
    first.folders.labels("small").inc()
    assert value(_rendered(), "folder_broker_folders_total", plan="small") == before + 1


def test_a_switch_to_multiprocess_mode_makes_the_set_again() -> None:
    """Sets made before the switch hold in-memory values; the workers need file-backed ones."""
    before = metrics.metric_set(_create)
    metrics.enable_multiprocess()  # a directory of its own, removed by disable_multiprocess
    try:
        after = metrics.metric_set(_create)
        assert after is not before
        after.folders.labels("large").inc()
        assert value(_rendered(), "folder_broker_folders_total", plan="large") == 1
    finally:
        metrics.disable_multiprocess()
    assert metrics.metric_set(_create) is not after
