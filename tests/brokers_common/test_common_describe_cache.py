"""DescribeCache: batches, at most one describe per resource per refresh interval."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import pytest
from aliyun_brokers.common.describe_cache import IDLE_EPOCHS, DescribeCache


class Cloud:
    """A tiny cloud: resources and their status, and every describe call it answered."""

    def __init__(self) -> None:
        self.status: dict[str, str] = {}
        self.calls: list[list[str]] = []
        self.fail_next = 0

    def fetch(self, ids: Sequence[str]) -> Mapping[str, Mapping[str, Any]]:
        self.calls.append(list(ids))
        if self.fail_next:
            self.fail_next -= 1
            raise RuntimeError("Throttling")
        return {i: {"Id": i, "Status": self.status[i]} for i in ids if i in self.status}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def setup() -> tuple[Cloud, Clock, DescribeCache]:
    cloud, clock = Cloud(), Clock()
    return cloud, clock, DescribeCache(cloud.fetch, refresh_seconds=5, batch_size=100, clock=clock)


def test_many_steps_one_call_per_interval(setup: tuple[Cloud, Clock, DescribeCache]) -> None:
    cloud, clock, cache = setup
    ids = [f"rm-{n}" for n in range(250)]
    cloud.status = {i: "Creating" for i in ids}
    cache.prefetch(ids[:50])
    cache.prefetch(ids[50:])  # a second batch of the same round: only its new ids
    for _ in range(3):  # steps and polls within the interval cost nothing
        for i in ids:
            assert cache.get(i).item == {"Id": i, "Status": "Creating"}
    # Each resource described once, at most 100 per call: [50] then [100, 100].
    assert [len(call) for call in cloud.calls] == [50, 100, 100]
    calls_before = len(cloud.calls)
    clock.now += 5
    cache.prefetch(ids[:10])  # one batch's prefetch refreshes every watched stale resource
    assert len(cloud.calls) - calls_before == 3  # ceil(250 / 100)
    for i in ids:
        cache.get(i)
    assert len(cloud.calls) - calls_before == 3


def test_absent_means_gone_and_invalidate_forces_a_read(setup: tuple[Cloud, Clock, DescribeCache]) -> None:
    cloud, _clock, cache = setup
    cloud.status = {"rm-a": "Running"}
    assert cache.get("rm-a").exists
    del cloud.status["rm-a"]
    assert cache.get("rm-a").exists  # cached within the interval
    cache.invalidate("rm-a")
    assert not cache.get("rm-a").exists


def test_idle_resources_stop_being_watched(setup: tuple[Cloud, Clock, DescribeCache]) -> None:
    cloud, clock, cache = setup
    cloud.status = {"rm-a": "Running", "rm-b": "Creating"}
    cache.get("rm-a")
    cache.get("rm-b")
    cache.forget("rm-a")
    assert cache.watched() == {"rm-b"}
    clock.now += 5 * IDLE_EPOCHS + 1  # nobody asked for that long
    cloud.status["rm-c"] = "Creating"
    cache.get("rm-c")
    assert cloud.calls[-1] == ["rm-c"]
    assert cache.watched() == {"rm-c"}


def test_a_failed_call_propagates_and_is_retried(setup: tuple[Cloud, Clock, DescribeCache]) -> None:
    cloud, _clock, cache = setup
    cloud.status = {"rm-a": "Creating"}
    cloud.fail_next = 1
    with pytest.raises(RuntimeError):
        cache.prefetch(["rm-a"])
    assert cache.get("rm-a").item == {"Id": "rm-a", "Status": "Creating"}


def test_get_needs_only_its_own_batch(setup: tuple[Cloud, Clock, DescribeCache]) -> None:
    cloud, clock, _ = setup
    cache = DescribeCache(cloud.fetch, refresh_seconds=5, batch_size=2, clock=clock)
    cloud.status = {i: "Creating" for i in "abcde"}
    cache.prefetch("abcde")
    clock.now += 5
    cloud.fail_next = 0
    calls = len(cloud.calls)

    def fail_after_first(ids: Sequence[str]) -> Mapping[str, Mapping[str, Any]]:
        if len(cloud.calls) > calls:
            cloud.calls.append(list(ids))
            raise RuntimeError("Throttling")
        return cloud.fetch(ids)

    cache._fetch = fail_after_first  # the second batch fails
    assert cache.get("e").item == {"Id": "e", "Status": "Creating"}  # "e" went first
    assert cloud.calls[calls][0] == "e"


def test_rejects_bad_settings() -> None:
    with pytest.raises(ValueError):
        DescribeCache(lambda ids: {}, refresh_seconds=0, batch_size=1)
    with pytest.raises(ValueError):
        DescribeCache(lambda ids: {}, refresh_seconds=1, batch_size=0)


def test_watched_resources_join_the_next_refresh_and_steps_can_aim_at_it(
    setup: tuple[Cloud, Clock, DescribeCache],
) -> None:
    cloud, clock, cache = setup
    cloud.status = {"rm-old": "Creating", "rm-new": "Creating"}
    cache.get("rm-old")
    cache.watch("rm-new")  # just created: no call now
    assert cloud.calls == [["rm-old"]]
    clock.now = 1003.0
    assert cache.next_refresh_in() == 2.0  # epochs of 5 s: the next starts at 1005
    clock.now = 1005.0
    cache.get("rm-old")
    assert sorted(cloud.calls[-1]) == ["rm-new", "rm-old"]  # one call for both
