"""The calls every Alibaba product API shares: ``CloudApi``.

A product's API class (``RdsApi``, ``KvstoreApi``) subclasses it with one method per
action it calls, names its product, its actions (the list a RAM policy must allow), how
many ids one describe call takes and its requests of the calls every product makes alike
(``shared``), and says how its instances are described in batches, found by their tags
and deleted (``kind()``, a ``CloudKind``).

Calls are typed: a method takes the request dataclass of its action and returns the
answer dataclass (both declared in the product's ``wire`` module), or a value derived
from it (``_call(request, Answer)`` makes the call). Where the request is not the
caller's to decide, a method takes plain values and builds it: the calls the shared code
makes without knowing the product (``describe_instances``, the ``shared`` calls, the
``CloudKind``'s search and delete), and the accounts a broker creates (their type and
description are the API's policy).

Methods raise ``AliyunError``, or ``WireFormatError`` for an answer that lacks what the
broker needs; "already done" outcomes (a duplicate on create, a missing resource on
delete) are reported as values, so the steps stay readable and every call is safe to
repeat. Every call is marked ``idempotent`` for the transport's retries because each is
a read, carries a token, or has its repeat outcome handled here or by the calling step.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Callable, ClassVar, Generic, Sequence, TypeVar

from aliyun_brokers.common import wire
from aliyun_brokers.common.cloud_kind import CloudKind
from aliyun_brokers.common.wire import CloudInstance, WireRequest, WireResponse, parse, to_params
from openbroker_aliyun.aliyun.errors import ErrorCategory, classify
from openbroker_aliyun.aliyun.port import AliyunError, AliyunPort, Product

__all__ = ["MAX_PAGES", "CloudApi", "SharedRequests"]

#: A listing reads at most this many pages (far more than one OSB instance ever has).
MAX_PAGES = 10

ItemT = TypeVar("ItemT", bound=CloudInstance)
AnswerT = TypeVar("AnswerT")


@dataclass(frozen=True)
class SharedRequests:
    """A product's requests of the actions both products spell alike but for the instance id."""

    modify_security_ips: type[wire.ModifySecurityIps]
    reset_password: type[wire.ResetAccountPassword]
    delete_account: type[wire.DeleteAccount]


class CloudApi(ABC, Generic[ItemT]):
    """Typed calls of one product in one region; ``ItemT`` is its describe item."""

    #: The product as the transport knows it (``rds``, ``r-kvstore``).
    product: ClassVar[Product]
    #: Every action the broker calls (the RAM policy must allow exactly these).
    actions: ClassVar[tuple[str, ...]]
    #: How many ids one ``describe_instances`` call takes.
    describe_batch: ClassVar[int]
    #: Its requests of the calls below that every product makes alike.
    shared: ClassVar[SharedRequests]

    def __init__(self, port: AliyunPort, region_id: str) -> None:
        self._port = port
        self._region = region_id

    def _call(self, request: WireRequest, answer: type[AnswerT]) -> AnswerT:
        assert request.action in self.actions, request.action
        body = self._port.call(
            self.product, request.action, {"RegionId": self._region, **to_params(request)}, idempotent=True
        )
        return parse(answer, body, action=request.action)

    def _call_unless_gone(self, request: WireRequest, answer: type[AnswerT]) -> AnswerT | None:
        """The call; None when what it acts on does not exist (a delete done before)."""
        try:
            return self._call(request, answer)
        except AliyunError as error:
            if classify(error) is ErrorCategory.NOT_FOUND:
                return None
            raise

    def _call_unless_duplicate(self, request: WireRequest, answer: type[AnswerT]) -> AnswerT | None:
        """The call; None when what it creates exists already (made by an earlier run)."""
        try:
            return self._call(request, answer)
        except AliyunError as error:
            if classify(error) is not ErrorCategory.DUPLICATE:
                raise
            return None

    def _describe_ids(
        self, ids: Sequence[str], describe: Callable[[str], Sequence[ItemT]]
    ) -> dict[str, ItemT]:
        """``{id: item}`` of those of up to ``describe_batch`` ``ids`` that exist, in one
        ``describe(comma-separated ids)`` call."""
        if not ids:
            return {}
        if len(ids) > self.describe_batch:
            raise ValueError(f"at most {self.describe_batch} ids per describe call")
        wanted = set(ids)
        return {item.instance_id: item for item in describe(",".join(ids)) if item.instance_id in wanted}

    @staticmethod
    def _all_pages(page: Callable[[int], Sequence[ItemT]], *, page_size: int) -> list[ItemT]:
        """Every item of a paged listing, ``page(number)`` by page (at most ``MAX_PAGES``)."""
        found: list[ItemT] = []
        for number in range(1, MAX_PAGES + 1):
            items = page(number)
            found.extend(items)
            if len(items) < page_size:
                break
        return found

    # -- what every product's API provides, for the shared code --------------------------------

    @abstractmethod
    def describe_instances(self, ids: Sequence[str]) -> dict[str, ItemT]:
        """One describe call for up to ``describe_batch`` ids: ``{id: item}`` of those that exist."""

    @abstractmethod
    def kind(self) -> CloudKind:
        """How the product names, finds and deletes its instances."""

    # -- calls every product makes alike -----------------------------------------------------

    def modify_security_ips(self, instance_id: str, ips: Sequence[str]) -> None:
        """ModifySecurityIps, mode ``Cover`` of the default group: repeating it is harmless."""
        request = self.shared.modify_security_ips(
            instance_id=instance_id, security_ips=",".join(ips), modify_mode="Cover"
        )
        self._call(request, WireResponse)

    def reset_password(self, instance_id: str, account: str, password: str) -> None:
        """ResetAccountPassword (setting the same password again is harmless)."""
        request = self.shared.reset_password(
            instance_id=instance_id, account_name=account, account_password=password
        )
        self._call(request, WireResponse)

    def delete_account(self, instance_id: str, name: str) -> bool:
        """DeleteAccount; False when the account (or the instance) was already gone."""
        request = self.shared.delete_account(instance_id=instance_id, account_name=name)
        return self._call_unless_gone(request, WireResponse) is not None
