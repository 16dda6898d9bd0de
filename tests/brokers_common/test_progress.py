"""Progress records behave like the ``details`` dicts they replace: what is stored, in which
order, what an assignment of None or ``unset`` does, and that a step's record is written back
however the step ends."""

from __future__ import annotations

import json

import pytest
from aliyun_brokers.common.progress import DeprovisionProgress, known, recorded
from aliyun_brokers.rds.progress import RdsProgress, RdsUpdate
from aliyun_brokers.redis.progress import RedisBinding, RedisProgress, RedisUpdate


def test_loading_and_dumping_keeps_every_key_its_value_and_its_order() -> None:
    details = {
        "step": "wait",
        "future_key": {"written by": "a later release"},
        "db_instance_id": "rm-1",
        "port": 3306,
        "update": {
            "op": "op-1",
            "step": "ips",
            "instance_class": "c",
            "category": "Basic",
            "storage_gb": 20,
            "x": 1,
        },
    }
    progress = RdsProgress.load(details)
    assert progress.db_instance_id == "rm-1" and progress.port == 3306
    assert isinstance(progress.update, RdsUpdate) and progress.update.storage_gb == 20
    assert progress.extra == {"future_key": {"written by": "a later release"}}
    assert json.dumps(progress.dump()) == json.dumps(details)


def test_a_field_is_stored_from_its_first_assignment_none_included() -> None:
    progress = RedisProgress.load({})
    assert progress.dump() == {}
    progress.step = "prepare"
    progress.instance_class = None  # a capacity plan: stored as null, as the dict did
    progress.tls = False
    assert progress.dump() == {"step": "prepare", "instance_class": None, "tls": False}
    assert RedisProgress.load(progress.dump()).dump() == progress.dump()


def test_unset_takes_a_key_out_and_a_later_assignment_puts_it_at_the_end() -> None:
    progress = RedisProgress.load({"instance_id": "r-1", "host": "h", "port": 1, "step": "create"})
    progress.unset("instance_id", "host", "port", "adopted")
    assert progress.instance_id is None and progress.dump() == {"step": "create"}
    progress.instance_id = "r-2"
    assert list(progress.dump()) == ["step", "instance_id"]


def test_a_record_built_in_code_stores_its_required_fields_then_those_given() -> None:
    update = RedisUpdate(op="op-1", step="spec", tls=True, instance_class=None, shard_count=None)
    assert json.dumps(update.dump()) == json.dumps(
        {"op": "op-1", "step": "spec", "instance_class": None, "shard_count": None, "tls": True}
    )
    deprovision = DeprovisionProgress(op="op-2", step="find", gone=[], sweeps=0)
    assert deprovision.dump() == {"op": "op-2", "step": "find", "gone": [], "sweeps": 0}


def test_recorded_writes_back_what_a_failing_step_recorded() -> None:
    details: dict = {"step": "account"}
    with pytest.raises(RuntimeError), recorded(RedisBinding, details) as binding:
        binding.account = "osb_1"
        raise RuntimeError("the call failed")
    assert details == {"step": "account", "account": "osb_1"}


def test_known_says_which_recorded_value_is_missing() -> None:
    progress = RdsProgress.load({"step": "wait"})
    with pytest.raises(KeyError, match="the cloud instance's id"):
        _ = progress.cloud_id
    with pytest.raises(KeyError, match="host"):
        known(progress.host, "host")


def test_passwords_stay_out_of_a_records_repr() -> None:
    progress = RdsProgress.load({"manager_password": "Secret-Passw0rd"})
    assert "Secret-Passw0rd" not in repr(progress)
    binding = RedisBinding.load({"password": "Other-Secret-1"})
    assert "Other-Secret-1" not in repr(binding)
