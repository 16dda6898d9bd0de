"""Redactor (every wire spelling of a secret) and RetryPolicy (capped, jittered backoff)."""

from __future__ import annotations

import json
from urllib.parse import quote, quote_plus, urlencode

import pytest
from aliyun_fakes import PASSWORD

from openbroker_aliyun.aliyun.redaction import Redactor, is_secret_name, redact_patterns, secret_values
from openbroker_aliyun.aliyun.retry import RetryPolicy


@pytest.mark.parametrize(
    "spelling",
    [
        PASSWORD,
        quote(PASSWORD, safe=""),
        quote(PASSWORD, safe="-_.~"),
        quote_plus(PASSWORD),
        quote(quote(PASSWORD, safe=""), safe=""),
        json.dumps(PASSWORD)[1:-1],
        repr(PASSWORD)[1:-1],
    ],
)
def test_known_secret_is_masked_in_every_spelling(spelling: str) -> None:
    redact = Redactor([PASSWORD])
    text = redact(f"the value <{spelling}> was rejected")
    assert spelling not in text
    assert "***" in text


def test_secret_looking_parameters_are_masked_without_knowing_the_value() -> None:
    query = urlencode({"DBInstanceId": "rm-1", "AccountPassword": "hunter2hunter2", "AccountName": "u1"})
    string_to_sign = "POST&%2F&" + quote(query, safe="")
    texts = [
        f"GET /?{query} failed",
        string_to_sign,
        json.dumps({"AccountPassword": "hunter2hunter2", "AccountName": "u1"}),
        repr({"AccountPassword": "hunter2hunter2", "AccountName": "u1"}),
        "SecurityToken=hunter2hunter2&x=1",
    ]
    for text in texts:
        masked = redact_patterns(text)
        assert "hunter2hunter2" not in masked, text
        # Names and harmless values stay readable.
        assert "u1" in masked or "SecurityToken" in masked


def test_secret_names() -> None:
    assert is_secret_name("AccountPassword")
    assert is_secret_name("Password")
    assert is_secret_name("ServerKey")
    assert is_secret_name("AccessKeySecret")
    assert not is_secret_name("AccountName")
    assert not is_secret_name("ClientToken")
    assert secret_values({"AccountPassword": "p", "AccountName": "n", "NewPassword": ""}) == ["p"]


def test_longer_secret_masked_whole_when_it_contains_a_shorter_one() -> None:
    redact = Redactor(["abcd", "xxabcdxx", None, ""])
    assert redact("key xxabcdxx") == "key ***"


def test_backoff_is_full_jitter_under_a_capped_exponential_ceiling() -> None:
    policy = RetryPolicy(max_attempts=10, base_s=0.5, cap_s=8.0, deadline_s=60)
    assert [policy.ceiling(n) for n in range(1, 8)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert policy.backoff(3, lambda: 0.0) == 0.0
    assert policy.backoff(3, lambda: 0.25) == 0.5
    assert policy.backoff(10_000, lambda: 0.999) == pytest.approx(8.0 * 0.999)
