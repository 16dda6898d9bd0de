"""OSB errors that carry their own HTTP status and OSB ``error`` code.

Every error a platform can see is one of these classes. The HTTP layer maps them to a
response in exactly one place (``openbroker_aliyun.api.errors``); nothing else builds an
error body. Descriptions are shown to people: say what was wrong and what to do, and
never put a secret in one.
"""

from __future__ import annotations

from typing import Any, ClassVar

#: Seconds a platform is told to wait (``Retry-After``) before repeating a request that
#: was answered 503: long enough not to hammer a broker whose state store is away, short
#: enough that work resumes soon after it is back.
RETRY_AFTER_SECONDS = 5


class BrokerError(Exception):
    """Base of every error answered to the platform.

    ``status`` is the HTTP status, ``error`` the OSB error code (None where the spec has
    none), ``description`` the text a person reads.
    """

    status: ClassVar[int] = 500
    error: ClassVar[str | None] = None

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description

    def body(self) -> dict[str, Any]:
        """The JSON body of the error response."""
        out: dict[str, Any] = {"description": self.description}
        if self.error:
            out["error"] = self.error
        return out

    def headers(self) -> dict[str, str]:
        """Headers the error response carries besides its JSON body's."""
        return {}


class BadRequest(BrokerError):
    """400: malformed request, missing mandatory data, or invalid data (parameters)."""

    status = 400


class Unauthorized(BrokerError):
    """401: missing or wrong credentials."""

    status = 401


class NotFound(BrokerError):
    """404: the resource does not exist (or, for GET, is still being created)."""

    status = 404


class Conflict(BrokerError):
    """409: the same id exists, or is being created, with different attributes."""

    status = 409


class Gone(BrokerError):
    """410: DELETE of a resource that does not exist or is already deleted."""

    status = 410


class PreconditionFailed(BrokerError):
    """412: unsupported ``X-Broker-API-Version``."""

    status = 412


class PayloadTooLarge(BrokerError):
    """413: request body over the configured limit."""

    status = 413


class UnprocessableEntity(BrokerError):
    """422 without an OSB code: an unsupported change (e.g. engine change on update).

    Only for update, where Cloud Foundry maps a bare 422 to 'request rejected'. On
    provision and bind prefer ``BadRequest``: CF orphan-mitigates a bare 422 there.
    """

    status = 422


class AsyncRequired(UnprocessableEntity):
    """422 ``AsyncRequired``: the operation can only run asynchronously."""

    error = "AsyncRequired"


class ConcurrencyError(UnprocessableEntity):
    """422 ``ConcurrencyError``: another operation is in flight on the resource."""

    error = "ConcurrencyError"


class RequiresApp(UnprocessableEntity):
    """422 ``RequiresApp``: the plan needs ``bind_resource.app_guid``."""

    error = "RequiresApp"


class MaintenanceInfoConflict(UnprocessableEntity):
    """422 ``MaintenanceInfoConflict``: ``maintenance_info.version`` does not match."""

    error = "MaintenanceInfoConflict"


class ServiceUnavailable(BrokerError):
    """503: the broker cannot serve now (its state store is unreachable); retry later.

    The response says when: ``Retry-After: retry_after`` (whole seconds).
    """

    status = 503

    def __init__(self, description: str, *, retry_after: int = RETRY_AFTER_SECONDS) -> None:
        super().__init__(description)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class InternalError(BrokerError):
    """500: a bug or an unexpected failure. The description never leaks internals."""

    status = 500


class OperationFailed(Exception):
    """Raised by a broker step to end an operation as ``failed``.

    ``description`` is shown to the user by last_operation; ``instance_usable`` and
    ``update_repeatable`` are reported as the spec defines them (update and deprovision
    only). Any other exception from a step is treated as transient and retried.
    """

    def __init__(
        self,
        description: str,
        *,
        instance_usable: bool | None = None,
        update_repeatable: bool | None = None,
    ) -> None:
        super().__init__(description)
        self.description = description
        self.instance_usable = instance_usable
        self.update_repeatable = update_repeatable
