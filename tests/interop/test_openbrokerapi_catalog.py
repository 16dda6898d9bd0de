"""openbrokerapi catalogs and JSON Schemas, converted to ours: published and enforced."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft4Validator
from obapi_brokers import (
    BIND_SCHEMA,
    NOTES_SCHEMA,
    SYNC_OTHER_PLAN_ID,
    SYNC_PLAN_ID,
    SYNC_SERVICE_ID,
    AsyncNotes,
    SyncNotes,
)

from openbroker_aliyun.catalog.params import validate_parameters
from openbroker_aliyun.catalog.validation import validate_catalog
from openbroker_aliyun.catalog.wire import catalog_to_wire
from openbroker_aliyun.errors import BadRequest
from openbroker_aliyun.interop.json_schema_params import UnsupportedJsonSchema, schema_from_json_schema
from openbroker_aliyun.interop.openbrokerapi import OpenBrokerAPIAdapter


def test_catalog_is_converted_field_by_field() -> None:
    adapter = OpenBrokerAPIAdapter(SyncNotes(), AsyncNotes())
    validate_catalog(adapter.catalog)
    sync = adapter.catalog.service(SYNC_SERVICE_ID)
    assert sync is not None
    assert (sync.name, sync.bindable, sync.plan_updateable) == ("sync-notes", True, True)
    assert sync.instances_retrievable and sync.bindings_retrievable and sync.allow_context_updates
    assert sync.tags == ("notes",)
    assert sync.metadata == {"displayName": "Sync notes", "longDescription": "Kept in memory"}
    small, large = sync.plans
    assert small.id == SYNC_PLAN_ID and small.free is True
    assert small.metadata == {"displayName": "Small", "bullets": ["one"]}
    assert small.maximum_polling_duration == 600
    assert small.maintenance_info is not None and small.maintenance_info.version == "1.0.0"
    assert small.schemas.provision is not None and small.schemas.bind is not None
    assert small.schemas.update is None
    assert large.id == SYNC_OTHER_PLAN_ID and large.free is False
    assert [s.name for s in adapter.catalog.services] == ["sync-notes", "async-notes"]


def test_two_brokers_offering_one_service_id_are_refused() -> None:
    with pytest.raises(ValueError, match="offered by two"):
        OpenBrokerAPIAdapter(SyncNotes(), SyncNotes())


def test_published_schema_says_what_theirs_says() -> None:
    wire = catalog_to_wire(OpenBrokerAPIAdapter(SyncNotes()).catalog)
    plan = wire["services"][0]["plans"][0]
    published = plan["schemas"]["service_instance"]["create"]["parameters"]
    Draft4Validator.check_schema(published)
    assert published["required"] == ["colour"]
    assert published["additionalProperties"] is False
    assert published["properties"]["size"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 10,
        "default": 1,
        "description": "Notes kept",
    }
    assert published["properties"]["colour"]["enum"] == ["red", "green"]
    assert published["properties"]["label"]["type"] == ["string", "null"]
    bind = plan["schemas"]["service_binding"]["create"]["parameters"]
    assert bind["additionalProperties"] is True  # absent in theirs: JSON Schema allows extras


def test_parameters_are_enforced_with_readable_errors() -> None:
    plan = OpenBrokerAPIAdapter(SyncNotes()).catalog.services[0].plans[0]
    assert validate_parameters(plan, "provision", {"colour": "red"}) == {"colour": "red", "size": 1}
    with pytest.raises(BadRequest) as caught:
        validate_parameters(plan, "provision", {"colour": "blue", "size": 11, "typo": 1})
    message = caught.value.description
    assert "colour" in message and "size" in message and "typo" in message
    with pytest.raises(BadRequest, match="colour"):
        validate_parameters(plan, "provision", {})
    # Extra keys pass where their schema allows them.
    assert validate_parameters(plan, "bind", {"role": "reader", "x-extra": 1}) == {
        "role": "reader",
        "x-extra": 1,
    }


_PROPERTY_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=14),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.sampled_from(["red", "green", "blue", "", "abc", "ABC", "abcdefghij", "a-b", "1"]),
    st.lists(st.integers(), max_size=2),
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["size", "colour", "label", "typo"]), _PROPERTY_VALUES, max_size=4))
def test_enforcement_accepts_exactly_what_their_json_schema_accepts(raw: dict[str, Any]) -> None:
    plan = OpenBrokerAPIAdapter(SyncNotes()).catalog.services[0].plans[0]
    theirs = Draft4Validator(NOTES_SCHEMA).is_valid(raw)
    try:
        validate_parameters(plan, "provision", raw)
        ours = True
    except BadRequest:
        ours = False
    assert ours == theirs, raw


@pytest.mark.parametrize(
    ("schema", "where"),
    [
        ({"type": "object", "properties": {"a": {"oneOf": [{"type": "string"}]}}}, "T.a"),
        ({"type": "object", "properties": {"a": {"$ref": "#/definitions/x"}}}, "T.a"),
        ({"type": "array"}, "T"),
        ({"type": "object", "properties": {"a": {"type": ["string", "integer"]}}}, "T.a"),
        ({"type": "object", "additionalProperties": {"type": "string"}}, "T"),
        ({"type": "object", "properties": {"a": {"type": "string", "minimum": 1}}}, "T.a"),
    ],
)
def test_constructs_it_cannot_enforce_are_refused_by_name(schema: dict[str, Any], where: str) -> None:
    with pytest.raises(UnsupportedJsonSchema, match=f"^{where}"):
        schema_from_json_schema(schema, "T")


def test_nested_objects_arrays_and_exclusive_bounds() -> None:
    schema = {
        "type": "object",
        "properties": {
            "ratio": {"type": "number", "minimum": 0, "exclusiveMinimum": True, "exclusiveMaximum": 1},
            "tags": {"type": "array", "items": {"type": "string", "minLength": 1}, "maxItems": 2},
            "owner": {
                "type": "object",
                "properties": {"email": {"type": "string", "format": "email"}},
                "required": ["email"],
                "additionalProperties": False,
            },
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    }
    loaded = schema_from_json_schema(schema, "Nested")()
    good = {"ratio": 0.5, "tags": ["a"], "owner": {"email": "a@b.example"}, "labels": {"k": "v"}}
    assert loaded.validate(good) == {}
    for bad in (
        {"ratio": 0},
        {"ratio": 1},
        {"tags": ["a", "b", "c"]},
        {"tags": [""]},
        {"owner": {}},
        {"owner": {"email": "a@b.example", "extra": 1}},
        {"owner": {"email": "not-an-email"}},
        {"labels": {"k": 1}},
    ):
        assert loaded.validate(bad), bad


def test_bind_schema_fixture_is_valid_draft4() -> None:
    Draft4Validator.check_schema(BIND_SCHEMA)
