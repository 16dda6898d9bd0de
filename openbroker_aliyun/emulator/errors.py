"""Errors as Alibaba's RPC APIs return them: a code, a message and an HTTP status.

Messages name parameters, never their values: a value may be a password.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An Alibaba API error; rendered as ``{"Code", "Message", "RequestId", "HostId"}``."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status

    def body(self, request_id: str, host_id: str) -> dict[str, Any]:
        return {
            "RequestId": request_id,
            "HostId": host_id,
            "Code": self.code,
            "Message": self.message,
            "Recommend": f"https://api.aliyun.com/troubleshoot?q={self.code}",
        }


def missing_parameter(name: str) -> ApiError:
    return ApiError(
        "MissingParameter",
        f'The input parameter "{name}" that is mandatory for processing this request is not supplied.',
    )


def invalid_parameter(name: str, why: str = "") -> ApiError:
    suffix = f" {why}" if why else ""
    return ApiError("InvalidParameter", f'The specified parameter "{name}" is not valid.{suffix}')


def incorrect_state(status: str) -> ApiError:
    return ApiError(
        "IncorrectDBInstanceState",
        f"Current DB instance state ({status}) does not support this operation.",
        403,
    )


def idempotent_mismatch(token_name: str) -> ApiError:
    return ApiError(
        "IdempotentParameterMismatch",
        f"The request uses the same {token_name} as a previous, but non-identical request.",
    )


THROTTLING = ("Throttling", "Request was denied due to request throttling.", 400)
SERVICE_UNAVAILABLE = (
    "ServiceUnavailable",
    "The request has failed due to a temporary failure of the server.",
    503,
)
INTERNAL_ERROR = (
    "InternalError",
    "The request processing has failed due to some unknown error, exception or failure.",
    500,
)
