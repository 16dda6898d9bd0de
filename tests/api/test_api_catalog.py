"""GET /v2/catalog over real HTTP: the body, a strong ETag, conditional requests (A3, A8)."""

from __future__ import annotations

from api_support import Running
from http_brokers import CATALOG

from openbroker_aliyun.catalog.wire import catalog_to_wire


def test_catalog_is_the_serialised_catalog(sync_api: Running) -> None:
    response = sync_api.api.get("/v2/catalog")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == catalog_to_wire(CATALOG)


def test_catalog_has_a_stable_strong_etag(sync_api: Running) -> None:
    first = sync_api.api.get("/v2/catalog")
    second = sync_api.api.get("/v2/catalog")
    etag = first.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert second.headers["ETag"] == etag
    assert first.content == second.content
    assert "Last-Modified" in first.headers


def test_if_none_match_gives_304_without_body(sync_api: Running) -> None:
    etag = sync_api.api.get("/v2/catalog").headers["ETag"]
    for value in (etag, f'"other", {etag}', "*", f"W/{etag}"):
        response = sync_api.api.get("/v2/catalog", headers={"If-None-Match": value})
        assert response.status_code == 304, value
        assert response.content == b""
        assert response.headers["ETag"] == etag


def test_stale_etag_gives_the_full_catalog(sync_api: Running) -> None:
    response = sync_api.api.get("/v2/catalog", headers={"If-None-Match": '"stale"'})
    assert response.status_code == 200
    assert response.json() == catalog_to_wire(CATALOG)


def test_if_modified_since(sync_api: Running) -> None:
    last_modified = sync_api.api.get("/v2/catalog").headers["Last-Modified"]
    fresh = sync_api.api.get("/v2/catalog", headers={"If-Modified-Since": last_modified})
    assert fresh.status_code == 304
    old = sync_api.api.get("/v2/catalog", headers={"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"})
    assert old.status_code == 200
    garbage = sync_api.api.get("/v2/catalog", headers={"If-Modified-Since": "not a date"})
    assert garbage.status_code == 200


def test_conditional_headers_do_not_bypass_auth(sync_api: Running) -> None:
    etag = sync_api.api.get("/v2/catalog").headers["ETag"]
    assert sync_api.api.get("/v2/catalog", auth=None, headers={"If-None-Match": etag}).status_code == 401
