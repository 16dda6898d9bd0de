"""What an ``AliyunError`` means for the broker and for the person who asked.

``classify`` puts an Alibaba error code into one ``ErrorCategory``; ``is_transient`` says
whether repeating the same call may succeed (the transport's retry rule);
``describe_for_user`` writes a sentence a person can act on, ending with Alibaba's code
and request id (what Alibaba support asks for). Descriptions never carry a secret:
messages were redacted by the transport and are redacted again here by pattern.

How brokers use it::

    try:
        port.call("rds", "CreateDBInstance", params, idempotent=True)
    except AliyunError as error:
        category = classify(error)
        if category.transient:
            raise  # the engine retries the step later
        raise OperationFailed(describe_for_user(error)) from None
"""

from __future__ import annotations

import enum

from openbroker_aliyun.aliyun.port import AliyunError
from openbroker_aliyun.aliyun.redaction import redact_patterns

# Longest Alibaba message quoted in a description; HTML error pages can be kilobytes.
_MAX_MESSAGE_CHARS = 300


class ErrorCategory(enum.Enum):
    """The kinds of Alibaba failure a broker reacts to differently."""

    THROTTLED = "throttled"
    TRANSIENT = "transient"
    AUTH = "auth"
    QUOTA = "quota"
    BALANCE = "balance"
    INVALID = "invalid"
    NOT_FOUND = "not_found"
    DUPLICATE = "duplicate"
    STATE = "state"
    OTHER = "other"

    @property
    def transient(self) -> bool:
        """Whether the same call may succeed later without anyone changing anything."""
        return self in (ErrorCategory.THROTTLED, ErrorCategory.TRANSIENT)


_TRANSIENT_CODES = frozenset(
    {"ServiceUnavailable", "InternalError", "UnknownError", "SDK.HttpError", "SDK.ServerUnreachable"}
)
_AUTH_CODES = frozenset(
    {
        "SignatureDoesNotMatch",
        "InvalidAccessKeySecret",
        "IncompleteSignature",
        "Forbidden.AccessKeyDisabled",
    }
)
_AUTH_PREFIXES = ("InvalidAccessKeyId", "InvalidSecurityToken", "Forbidden.RAM", "NoPermission")
_QUOTA_PREFIXES = ("QuotaExceed", "InsufficientResourceCapacity")
_BALANCE_PREFIXES = ("InsufficientBalance", "OrderStatus.UnPaid")
_INVALID_PREFIXES = (
    "InvalidParameter",
    "MissingParameter",
    "InvalidDBInstanceClass",
    "IncorrectDBInstanceType",
    "IncorrectDBInstanceEngine",
    "InvalidEngineVersion",
    "InvalidInstanceClass",
    "InvalidCapacity",
    "IdempotentParameterMismatch",
    "SDK.InvalidParameter",
    "SDK.InvalidParams",
)
_STATE_CODES = frozenset(
    {
        "IncorrectDBInstanceState",
        "IncorrectInstanceState",
        "IncorrectInstanceStatus",
        "OperationDenied.DBInstanceStatus",
        "OperationDenied.InstanceStatus",
    }
)
# ``*.NotFound`` codes that do not mean "the resource is gone": a broker that treats
# NOT_FOUND on delete as success must never see a wrong action or region as such.
_NOT_RESOURCE_NOT_FOUND = ("InvalidAction", "InvalidRegionId", "InvalidAccessKeyId")


def classify(error: AliyunError) -> ErrorCategory:
    """The category of ``error``, from its code first and its HTTP status second."""
    return classify_code(error.code, error.http_status)


def classify_code(code: str, http_status: int | None) -> ErrorCategory:
    """The category of an Alibaba error code (with the HTTP status for unknown codes)."""
    if code.startswith("Throttling"):
        return ErrorCategory.THROTTLED
    if code in _TRANSIENT_CODES:
        return ErrorCategory.TRANSIENT
    if code in _AUTH_CODES or code.startswith(_AUTH_PREFIXES):
        return ErrorCategory.AUTH
    if code.startswith(_QUOTA_PREFIXES):
        return ErrorCategory.QUOTA
    if code.startswith(_BALANCE_PREFIXES):
        return ErrorCategory.BALANCE
    if code.startswith(_INVALID_PREFIXES):
        return ErrorCategory.INVALID
    if code in _STATE_CODES:
        return ErrorCategory.STATE
    if code.endswith(".Duplicate"):
        return ErrorCategory.DUPLICATE
    if code == "Forbidden.InstanceNotFound" or (
        code.endswith(".NotFound") and not code.startswith(_NOT_RESOURCE_NOT_FOUND)
    ):
        return ErrorCategory.NOT_FOUND
    if http_status is not None and http_status >= 500:
        return ErrorCategory.TRANSIENT
    return ErrorCategory.OTHER


def is_transient(code: str, http_status: int | None) -> bool:
    """Whether a call that failed with ``code`` may succeed if repeated unchanged."""
    return classify_code(code, http_status).transient


_SENTENCES: dict[ErrorCategory, str] = {
    ErrorCategory.THROTTLED: (
        "Alibaba Cloud is throttling the broker's API calls; the broker tries again later, "
        "and nothing needs to be done unless this persists."
    ),
    ErrorCategory.TRANSIENT: (
        "Alibaba Cloud could not be reached or answered with a server error; the broker tries again later, "
        "and if this persists an operator should check the broker's network and Alibaba Cloud's status."
    ),
    ErrorCategory.AUTH: (
        "The broker's Alibaba Cloud credentials are wrong or lack permission; an operator must fix them."
    ),
    ErrorCategory.QUOTA: (
        "There is no capacity or quota left for this plan in this zone or region; "
        "try another plan or zone, or ask an operator to raise the quota."
    ),
    ErrorCategory.BALANCE: (
        "The Alibaba Cloud account has insufficient balance or an unpaid order; the operator must top it up."
    ),
    ErrorCategory.INVALID: (
        "Alibaba Cloud rejected the request's parameters: this plan's instance class, engine version "
        "or storage may not be available in this region or zone; try another plan, or ask an operator "
        "to fix the plan."
    ),
    ErrorCategory.NOT_FOUND: (
        "The Alibaba Cloud resource does not exist (it may have been deleted outside the broker)."
    ),
    ErrorCategory.DUPLICATE: "The Alibaba Cloud resource already exists.",
    ErrorCategory.STATE: (
        "The Alibaba Cloud instance is busy with another operation and cannot do this one now; "
        "try again when that operation has finished."
    ),
    ErrorCategory.OTHER: "Alibaba Cloud refused the request.",
}

# Alibaba's own message helps where the category alone does not say what to change.
_QUOTE_MESSAGE = frozenset(
    {ErrorCategory.INVALID, ErrorCategory.STATE, ErrorCategory.OTHER, ErrorCategory.QUOTA}
)


def describe_for_user(error: AliyunError) -> str:
    """A description a person can act on: what happened, who must do what, code and request id."""
    category = classify(error)
    text = _SENTENCES[category]
    if category in _QUOTE_MESSAGE and error.message:
        message = redact_patterns(error.message.strip())
        if len(message) > _MAX_MESSAGE_CHARS:
            message = message[: _MAX_MESSAGE_CHARS - 3] + "..."
        text += f" Alibaba Cloud said: {message}"
    reference = f"Alibaba Cloud error {error.code}"
    if error.request_id:
        reference += f", request id {error.request_id}"
    return f"{text} ({reference})"
