"""Tag actions shared by RDS and R-kvstore: TagResources, UntagResources, ListTagResources."""

from __future__ import annotations

from typing import Any, Callable, Mapping, Protocol

from .errors import ApiError, invalid_parameter, missing_parameter
from .params import Params

MAX_TAGS_PER_CALL = 20
MAX_RESOURCES_PER_CALL = 50
LIST_PAGE_SIZE = 50


class Tagged(Protocol):
    id: str
    tags: dict[str, str]


def check_tags(pairs: list[tuple[str, str]]) -> None:
    if len(pairs) > MAX_TAGS_PER_CALL:
        raise invalid_parameter("Tag", f"At most {MAX_TAGS_PER_CALL} tags are allowed.")
    for key, value in pairs:
        lowered = key.lower()
        if not 1 <= len(key) <= 128 or lowered.startswith(("aliyun", "acs:")) or "://" in key:
            raise ApiError(
                "InvalidTagKey.Malformed",
                "Specified tag key is not valid: 1 to 128 characters, not starting with aliyun or acs:, "
                "no URLs.",
            )
        if len(value) > 128 or "://" in value:
            raise ApiError(
                "InvalidTagValue.Malformed", "Specified tag value is not valid: at most 128 characters."
            )


def _resource_ids(params: Params, *, required: bool) -> list[str]:
    ids = params.repeat_list("ResourceId")
    if required and not ids:
        raise missing_parameter("ResourceId.1")
    if len(ids) > MAX_RESOURCES_PER_CALL:
        raise invalid_parameter("ResourceId", f"At most {MAX_RESOURCES_PER_CALL} resources are allowed.")
    return ids


def _resource_type(params: Params) -> None:
    params.choice("ResourceType", ["INSTANCE"], ignore_case=True)


def tag_resources(
    params: Params, instances: Mapping[str, Tagged], not_found: Callable[[str], ApiError]
) -> list[Tagged]:
    """Validate everything first, then tag; returns the instances changed."""
    _resource_type(params)
    ids = _resource_ids(params, required=True)
    pairs = params.tag_list()
    if not pairs:
        raise missing_parameter("Tag.1.Key")
    check_tags(pairs)
    targets = []
    for resource_id in ids:
        if resource_id not in instances:
            raise not_found(resource_id)
        targets.append(instances[resource_id])
    for target in targets:
        target.tags.update(dict(pairs))
    return targets


def untag_resources(
    params: Params, instances: Mapping[str, Tagged], not_found: Callable[[str], ApiError]
) -> list[Tagged]:
    _resource_type(params)
    ids = _resource_ids(params, required=True)
    remove_all = params.boolean("All", False)
    keys = params.repeat_list("TagKey")
    if not keys and not remove_all:
        raise missing_parameter("TagKey.1")
    targets = []
    for resource_id in ids:
        if resource_id not in instances:
            raise not_found(resource_id)
        targets.append(instances[resource_id])
    for target in targets:
        if remove_all:
            target.tags.clear()
        for key in keys:
            target.tags.pop(key, None)
    return targets


def list_tag_resources(params: Params, instances: Mapping[str, Tagged], resource_type: str) -> dict[str, Any]:
    _resource_type(params)
    ids = _resource_ids(params, required=False)
    wanted = params.tag_list()
    if not ids and not wanted:
        raise missing_parameter("ResourceId.1")
    offset = 0
    token = params.optional("NextToken")
    if token:
        if not token.isdigit():
            raise invalid_parameter("NextToken")
        offset = int(token)
    rows = []
    for instance in instances.values():
        if ids and instance.id not in ids:
            continue
        if wanted and not all(
            key in instance.tags and (not value or instance.tags[key] == value) for key, value in wanted
        ):
            continue
        rows += [
            {"ResourceId": instance.id, "ResourceType": resource_type, "TagKey": k, "TagValue": v}
            for k, v in sorted(instance.tags.items())
        ]
    page = rows[offset : offset + LIST_PAGE_SIZE]
    more = offset + LIST_PAGE_SIZE < len(rows)
    return {
        "TagResources": {"TagResource": page},
        "NextToken": str(offset + LIST_PAGE_SIZE) if more else "",
    }


def create_tags(params: Params) -> dict[str, str]:
    """Tags given at create time (``Tag.N.Key`` / ``Tag.N.Value``)."""
    pairs = params.tag_list()
    check_tags(pairs)
    return dict(pairs)


def tag_json(tags: Mapping[str, str]) -> dict[str, list[dict[str, str]]]:
    return {"Tag": [{"Key": k, "Value": v} for k, v in sorted(tags.items())]}
