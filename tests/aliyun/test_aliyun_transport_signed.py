"""SdkAliyunClient end to end over real HTTP on 127.0.0.1 to a server that verifies the V1
signature (the reference's ``verify_v1``): the signed wire format, credentials, proxy,
TLS, threads, and secrets in errors and logs."""

from __future__ import annotations

import datetime
import ipaddress
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import quote

import pytest
from aliyun_fakes import (
    ACCESS_KEY_ID,
    ACCESS_KEY_SECRET,
    PASSWORD,
    STS_KEY_ID,
    STS_SECRET,
    STS_TOKEN,
    QuietHandler,
    SigningServer,
    closed_port,
    settings_for,
)
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from werkzeug.serving import make_server

from openbroker_aliyun.aliyun.errors import ErrorCategory, classify, describe_for_user
from openbroker_aliyun.aliyun.port import AliyunError
from openbroker_aliyun.aliyun.retry import RetryPolicy
from openbroker_aliyun.aliyun.sdk_client import SdkAliyunClient

NO_RETRY_WAIT = RetryPolicy(max_attempts=3, base_s=0.0, cap_s=0.0, deadline_s=5.0)


def client_for(endpoint: str, **overrides: Any) -> SdkAliyunClient:
    return SdkAliyunClient(settings_for(endpoint, **overrides))


def test_signed_calls_to_both_products(signing_server: SigningServer) -> None:
    client = client_for(signing_server.url)
    rds = client.call("rds", "DescribeDBInstanceAttribute", {"DBInstanceId": "rm-1"})
    kv = client.call("r-kvstore", "DescribeInstanceAttribute", {"InstanceId": "r-1"}, idempotent=True)
    assert rds["Action"] == "DescribeDBInstanceAttribute"
    assert rds["Received"] == {"DBInstanceId": "rm-1"}
    assert kv["Received"] == {"InstanceId": "r-1"}
    rds_seen, kv_seen = signing_server.seen
    assert rds_seen.method == "POST"
    assert rds_seen.params["Version"] == "2014-08-15"
    assert kv_seen.params["Version"] == "2015-01-01"
    assert rds_seen.params["RegionId"] == "cn-hangzhou"
    assert rds_seen.params["AccessKeyId"] == ACCESS_KEY_ID
    assert rds_seen.headers["X-Acs-Action"] == "DescribeDBInstanceAttribute"


def test_hostile_values_lists_booleans_and_structs_are_signed(
    signing_server: SigningServer,
) -> None:
    client = client_for(signing_server.url)
    params = {
        "DBInstanceId": "rm-1",
        "AccountName": "app_1",
        "AccountPassword": PASSWORD,
        "AccountDescription": "a b*c~d/e+f ünï 中文",
        "Tag": [{"Key": "osb instance", "Value": "x=y&z"}],
        "ResourceId": ["rm-1", "rm-2"],
        "DeletionProtection": True,
        "ServerlessConfig": {"MaxCapacity": 8},
    }
    received = client.call("rds", "CreateAccount", params)["Received"]
    assert received == {
        "DBInstanceId": "rm-1",
        "AccountName": "app_1",
        "AccountPassword": PASSWORD,
        "AccountDescription": "a b*c~d/e+f ünï 中文",
        "Tag.1.Key": "osb instance",
        "Tag.1.Value": "x=y&z",
        "ResourceId.1": "rm-1",
        "ResourceId.2": "rm-2",
        "DeletionProtection": "True",
        "ServerlessConfig": '{"MaxCapacity": 8}',
    }


def test_wrong_secret_is_an_auth_error_without_the_secret(signing_server: SigningServer) -> None:
    wrong = "WrongSecretValue0123456789abcdef"
    client = client_for(signing_server.url, access_key_secret=wrong)
    with pytest.raises(AliyunError) as caught:
        client.call("rds", "DescribeDBInstances", {"AccountPassword": PASSWORD}, idempotent=True)
    err = caught.value
    # Alibaba's message quotes its string-to-sign: the query, password included, encoded twice.
    # (The SDK's rewrite to InvalidAccessKeySecret never fires for a CommonRequest: it
    # compares with the outer request's string_to_sign, which stays empty.)
    assert err.code == "SignatureDoesNotMatch"
    assert "server string to sign is:POST&%2F&" in err.message
    assert "AccountPassword%3D***%26" in err.message
    assert err.http_status == 400
    assert err.retryable is False
    assert len(signing_server.seen) == 1
    assert classify(err) is ErrorCategory.AUTH
    assert "operator must fix" in describe_for_user(err)
    _assert_no_secret([str(err), describe_for_user(err)])
    assert wrong not in str(err)


def test_unknown_access_key_is_auth_not_not_found(signing_server: SigningServer) -> None:
    client = client_for(signing_server.url, access_key_id="unknown-test-key-id")
    with pytest.raises(AliyunError) as caught:
        client.call("rds", "DeleteDBInstance", {"DBInstanceId": "rm-1"})
    assert caught.value.code == "InvalidAccessKeyId.NotFound"
    assert caught.value.http_status == 404
    assert caught.value.request_id
    assert classify(caught.value) is ErrorCategory.AUTH


def test_sts_token_is_sent_and_signed_even_with_sdk_env_keys(
    signing_server: SigningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The SDK's signer factory would prefer these over the STS credential.
    monkeypatch.setenv("ALIYUN_ACCESS_KEY_ID", ACCESS_KEY_ID)
    monkeypatch.setenv("ALIYUN_ACCESS_KEY_SECRET", ACCESS_KEY_SECRET)
    client = client_for(
        signing_server.url, access_key_id=STS_KEY_ID, access_key_secret=STS_SECRET, security_token=STS_TOKEN
    )
    assert client.call("rds", "DescribeDBInstances", {})["Action"] == "DescribeDBInstances"
    seen = signing_server.seen[0].params
    assert seen["AccessKeyId"] == STS_KEY_ID
    assert seen["SecurityToken"] == STS_TOKEN


def test_proxy_in_the_environment_is_ignored(
    signing_server: SigningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead_proxy = f"http://127.0.0.1:{closed_port()}"
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, dead_proxy)
    monkeypatch.setenv("NO_PROXY", "")
    client = client_for(signing_server.url)
    assert client.call("rds", "DescribeDBInstances", {})["Action"] == "DescribeDBInstances"
    assert len(signing_server.seen) == 1


def test_concurrent_calls_on_one_client(signing_server: SigningServer) -> None:
    client = client_for(signing_server.url, pool_size=4)

    def one(n: int) -> tuple[int, str]:
        body = client.call("rds", "DescribeDBInstanceAttribute", {"DBInstanceId": f"rm-{n}"}, idempotent=True)
        return n, body["Received"]["DBInstanceId"]

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(one, range(40)))
    assert results == [(n, f"rm-{n}") for n in range(40)]
    assert len(signing_server.seen) == 40


def test_scripted_throttling_is_retried_with_real_sleeps_of_zero(signing_server: SigningServer) -> None:
    signing_server.script.extend(
        [(400, {"Code": "Throttling.User", "Message": "slow down", "RequestId": "t1"})] * 2
    )
    client = client_for(signing_server.url, retry=NO_RETRY_WAIT)
    assert client.call("r-kvstore", "DescribeInstances", {}, idempotent=True)["Action"] == "DescribeInstances"
    assert len(signing_server.seen) == 3


def test_connection_refused_is_transient_and_leaks_nothing(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = client_for(f"http://127.0.0.1:{closed_port()}", retry=NO_RETRY_WAIT)
    params = {"DBInstanceId": "rm-1", "AccountName": "app", "AccountPassword": PASSWORD}
    with pytest.raises(AliyunError) as caught:
        client.call("rds", "CreateAccount", params, idempotent=True)
    err = caught.value
    assert err.code == "SDK.HttpError"
    assert err.retryable is True
    assert classify(err) is ErrorCategory.TRANSIENT
    attempts = [r for r in caplog.records if "CreateAccount attempt" in r.getMessage()]
    assert len(attempts) == 3
    _assert_no_secret([str(err), describe_for_user(err)] + [r.getMessage() for r in caplog.records])


def test_sdk_debug_output_is_silenced_during_calls(
    signing_server: SigningServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    # DEBUG=sdk makes the SDK print each request URL (query included) to stderr.
    monkeypatch.setenv("DEBUG", "sdk")
    caplog.set_level(logging.DEBUG)
    logging.getLogger("aliyunsdkcore.vendored.requests").setLevel(logging.DEBUG)
    try:
        client = client_for(signing_server.url)
        params = {"DBInstanceId": "rm-1", "AccountName": "app", "AccountPassword": PASSWORD}
        client.call("rds", "CreateAccount", params)
        signing_server.script.append(
            (400, {"Code": "InvalidParameter", "Message": PASSWORD, "RequestId": "e"})
        )
        with pytest.raises(AliyunError) as caught:
            client.call("rds", "CreateAccount", params)
    finally:
        logging.getLogger("aliyunsdkcore.vendored.requests").setLevel(logging.CRITICAL)
    out, err_out = capfd.readouterr()
    records = [r.getMessage() for r in caplog.records]
    assert any("CreateAccount attempt 1: OK" in text for text in records)
    _assert_no_secret([out, err_out, str(caught.value), *records])


def test_read_timeout_is_a_transport_error(signing_server: SigningServer) -> None:
    signing_server.hold = threading.Event()
    client = client_for(signing_server.url, read_timeout=0.2)
    try:
        with pytest.raises(AliyunError) as caught:
            client.call("rds", "CreateDBInstance", {"Engine": "MySQL"})
    finally:
        signing_server.hold.set()
    assert caught.value.code == "SDK.HttpError"
    assert "timed out" in caught.value.message
    assert len(signing_server.seen) == 1  # not idempotent: never repeated


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[SigningServer, Path]]:
    """The signing server behind HTTPS with a throw-away CA-less self-signed certificate."""
    cert_path, key_path = _self_signed_certificate(tmp_path)
    app = SigningServer()
    server = make_server(
        "127.0.0.1",
        0,
        app,
        threaded=True,
        request_handler=QuietHandler,
        ssl_context=(str(cert_path), str(key_path)),
    )
    app.url = f"https://127.0.0.1:{server.port}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield app, cert_path
    finally:
        server.shutdown()
        thread.join(5)


def test_https_endpoint_with_a_private_ca_bundle(tls_server: tuple[SigningServer, Path]) -> None:
    server, cert_path = tls_server
    client = client_for(server.url, verify=str(cert_path))
    assert client.call("rds", "DescribeDBInstances", {})["Action"] == "DescribeDBInstances"
    assert server.seen[0].scheme == "https"


def test_https_certificate_is_verified_by_default(tls_server: tuple[SigningServer, Path]) -> None:
    server, _ = tls_server
    client = client_for(server.url)
    with pytest.raises(AliyunError) as caught:
        client.call("rds", "DescribeDBInstances", {})
    assert caught.value.code == "SDK.HttpError"
    assert "CERTIFICATE_VERIFY_FAILED" in caught.value.message
    assert server.seen == []


def _assert_no_secret(texts: list[str]) -> None:
    once = quote(PASSWORD, safe="")
    spellings = {PASSWORD, once, quote(once, safe=""), quote(PASSWORD, safe="-_.~"), ACCESS_KEY_SECRET}
    for text in texts:
        for spelling in spellings:
            assert spelling not in text, text[:300]


def _self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path
