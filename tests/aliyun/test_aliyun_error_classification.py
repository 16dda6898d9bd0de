"""classify / describe_for_user: one category per Alibaba code, a sentence a person can act on."""

from __future__ import annotations

import pytest

from openbroker_aliyun.aliyun.errors import ErrorCategory, classify, describe_for_user, is_transient
from openbroker_aliyun.aliyun.port import AliyunError

C = ErrorCategory


@pytest.mark.parametrize(
    ("code", "status", "category"),
    [
        ("Throttling", 400, C.THROTTLED),
        ("Throttling.User", 400, C.THROTTLED),
        ("Throttling.Api", 400, C.THROTTLED),
        ("ServiceUnavailable", 503, C.TRANSIENT),
        ("InternalError", 500, C.TRANSIENT),
        ("UnknownError", 500, C.TRANSIENT),
        ("SDK.HttpError", None, C.TRANSIENT),
        ("SDK.UnknownServerError", 502, C.TRANSIENT),
        ("SomethingNew", 504, C.TRANSIENT),
        ("InvalidAccessKeyId.NotFound", 404, C.AUTH),
        ("InvalidAccessKeyId.Inactive", 400, C.AUTH),
        ("SignatureDoesNotMatch", 400, C.AUTH),
        ("InvalidAccessKeySecret", 400, C.AUTH),
        ("Forbidden.RAM", 403, C.AUTH),
        ("InvalidSecurityToken.Expired", 400, C.AUTH),
        ("QuotaExceeded", 400, C.QUOTA),
        ("QuotaExceeded.DBInstance", 400, C.QUOTA),
        ("InsufficientResourceCapacity", 400, C.QUOTA),
        ("InsufficientBalance", 400, C.BALANCE),
        ("OrderStatus.UnPaid", 400, C.BALANCE),
        ("InvalidParameter", 400, C.INVALID),
        ("MissingParameter", 400, C.INVALID),
        ("InvalidDBInstanceClass.NotFound", 400, C.INVALID),
        ("IncorrectDBInstanceType", 400, C.INVALID),
        ("IdempotentParameterMismatch", 400, C.INVALID),
        ("InvalidDBInstanceId.NotFound", 404, C.NOT_FOUND),
        ("InvalidDBInstanceId.NotFound", 400, C.NOT_FOUND),
        ("InvalidInstanceId.NotFound", 404, C.NOT_FOUND),
        ("InvalidAccountName.NotFound", 404, C.NOT_FOUND),
        ("Forbidden.InstanceNotFound", 404, C.NOT_FOUND),
        ("InvalidAccountName.Duplicate", 400, C.DUPLICATE),
        ("InvalidDBName.Duplicate", 400, C.DUPLICATE),
        ("IncorrectDBInstanceState", 403, C.STATE),
        ("OperationDenied.DBInstanceStatus", 403, C.STATE),
        # Not "the resource is gone": a delete must never count these as done.
        ("InvalidAction.NotFound", 404, C.OTHER),
        ("InvalidRegionId.NotFound", 404, C.OTHER),
        ("OperationDenied.DeletionProtection", 403, C.OTHER),
        ("SDK.UnexpectedError", None, C.OTHER),
    ],
)
def test_classification(code: str, status: int | None, category: ErrorCategory) -> None:
    error = AliyunError(code, "msg", http_status=status, request_id="req-1")
    assert classify(error) is category
    assert is_transient(code, status) is category.transient


@pytest.mark.parametrize(
    ("code", "status", "phrase"),
    [
        ("Forbidden.RAM", 403, "an operator must fix them"),
        ("InsufficientResourceCapacity", 400, "try another plan or zone"),
        ("InsufficientBalance", 400, "the operator must top it up"),
        ("InvalidDBInstanceClass.NotFound", 400, "instance class"),
        ("IncorrectDBInstanceState", 403, "try again when that operation has finished"),
        ("Throttling.User", 400, "tries again later"),
        ("ServiceUnavailable", 503, "tries again later"),
    ],
)
def test_description_says_who_acts_with_code_and_request_id(code: str, status: int, phrase: str) -> None:
    text = describe_for_user(AliyunError(code, "detail", http_status=status, request_id="6A1B-REQ"))
    assert phrase in text
    assert code in text
    assert "6A1B-REQ" in text


def test_description_quotes_alibaba_for_invalid_parameters_and_scrubs_secrets() -> None:
    error = AliyunError(
        "InvalidParameter",
        "The parameter is invalid: AccountPassword=Sup3r-Secret!x&AccountName=app1",
        http_status=400,
        request_id=None,
    )
    text = describe_for_user(error)
    assert "Sup3r-Secret" not in text
    assert "AccountName=app1" in text
    assert "request id" not in text  # none known: nothing invented


def test_auth_description_never_quotes_alibaba() -> None:
    # An auth message may quote the string-to-sign; the user needs only the operator hint.
    message = "server string to sign is:POST&%2F&AccessKeyId%3D..."
    error = AliyunError("SignatureDoesNotMatch", message, http_status=400)
    assert "string to sign" not in describe_for_user(error)


def test_long_messages_are_cut() -> None:
    error = AliyunError("SDK.UnknownServerError", "ServerResponseBody: " + "<p>" * 1000, http_status=418)
    assert len(describe_for_user(error)) < 500
