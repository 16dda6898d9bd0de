"""State written by the release before the typed records keeps working.

tests/brokers_common/data/*.json are journals of whole lifecycles written by that release
(step_journal.py): every ``details`` dict a broker stored, after every step of provision,
update, bind, unbind and deprovision, for RDS MySQL, RDS PostgreSQL (shared ownership)
and Redis (standard and cluster). Each one loads into the broker's typed record and is
written back byte for byte, with keys the record does not know kept. Then the same
lifecycles run with this code against the emulator: the same steps, the same details
(keys, value types, values and order) and the same Alibaba calls with the same parameters.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import fields
from typing import Any, Iterator

import pytest
import step_journal
from aliyun_brokers.common.progress import BindingProgress, DeprovisionProgress, Record
from aliyun_brokers.rds.progress import RdsProgress, RdsUpdate
from aliyun_brokers.redis.progress import RedisBinding, RedisProgress, RedisUpdate

INSTANCE_RECORDS: dict[str, type[Record]] = {"rds": RdsProgress, "r-kvstore": RedisProgress}
BINDING_RECORDS: dict[str, type[Record]] = {"rds": BindingProgress, "r-kvstore": RedisBinding}


def stored_details() -> Iterator[Any]:
    """``(record type, details)`` of every step of every stored journal."""
    for name, scenario in step_journal.SCENARIOS.items():
        for operation, entries in step_journal.stored_journal(name).items():
            records = BINDING_RECORDS if operation in ("bind", "unbind") else INSTANCE_RECORDS
            for index, entry in enumerate(entries):
                yield pytest.param(
                    records[scenario.product], entry["details"], id=f"{name}-{operation}-{index}"
                )


@pytest.mark.parametrize(("record", "details"), list(stored_details()))
def test_stored_details_load_and_write_back_byte_for_byte(
    record: type[Record], details: dict[str, Any]
) -> None:
    assert details, "a journal step without details"
    assert json.dumps(record.load(details).dump()) == json.dumps(details)


@pytest.mark.parametrize(("record", "details"), list(stored_details()))
def test_keys_the_record_does_not_know_are_kept(record: type[Record], details: dict[str, Any]) -> None:
    with_extra = {"written_by_a_later_release": [1, {"a": None}], **details}
    for part in ("update", "deprovision"):
        if isinstance(details.get(part), dict):
            with_extra[part] = {**details[part], "later": True}
    loaded = record.load(with_extra)
    assert loaded.extra["written_by_a_later_release"] == [1, {"a": None}]
    assert json.dumps(loaded.dump()) == json.dumps(with_extra)


def test_the_journals_cover_every_recorded_field() -> None:
    """Each field of the records is in some stored details, so the round trips above test it
    (``adopted`` is recorded only for an instance found by its tags, which they do not do)."""
    parts = {"update": {RdsProgress: RdsUpdate, RedisProgress: RedisUpdate}, "deprovision": {}}
    seen: dict[type[Record], set[str]] = defaultdict(set)
    for param in stored_details():
        record, details = param.values
        seen[record] |= set(details)
        for part, types in parts.items():
            if part in details:
                seen[types.get(record, DeprovisionProgress)] |= set(details[part])
    assert set(seen) == {
        RdsProgress,
        RedisProgress,
        BindingProgress,
        RedisBinding,
        RdsUpdate,
        RedisUpdate,
        DeprovisionProgress,
    }
    for record, keys in seen.items():
        assert {item.name for item in fields(record)} - keys == (
            {"adopted"} if record in parts["update"] else set()
        )


@pytest.mark.parametrize("name", [n for n, s in step_journal.SCENARIOS.items() if not s.backed])
def test_a_lifecycle_records_and_calls_what_the_release_before_did(name: str) -> None:
    _compare(name, {})


@pytest.mark.services
def test_a_postgresql_lifecycle_records_and_calls_what_the_release_before_did(
    postgres_admin_url: str,
) -> None:
    _compare("rds-postgresql", {"postgres_url": postgres_admin_url})


def _compare(name: str, overrides: dict[str, Any]) -> None:
    live = json.loads(json.dumps(step_journal.journal(step_journal.SCENARIOS[name], overrides)))
    stored = step_journal.stored_journal(name)
    live, stored = step_journal.normalised(live), step_journal.normalised(stored)
    assert list(live) == list(stored)
    for operation in stored:
        assert len(live[operation]) == len(stored[operation]), operation
        for index, (now, before) in enumerate(zip(live[operation], stored[operation], strict=True)):
            where = f"{operation} step {index + 1}"
            assert now["result"] == before["result"], where
            assert json.dumps(now["details"]) == json.dumps(before["details"]), where
            assert now["calls"] == before["calls"], where
