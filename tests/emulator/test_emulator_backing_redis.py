"""R-kvstore instances backed by their own real redis-server child processes."""

from __future__ import annotations

import os
from typing import Any, Callable

import pytest
import redis
from backing_services import require_redis_server
from emulator_sdk import PASSWORD, REDIS_INSTANCE, Sdk, kv
from redis.backoff import NoBackoff
from redis.retry import Retry

from openbroker_aliyun.emulator import EmulatorConfig, EmulatorServer

pytestmark = pytest.mark.services


@pytest.fixture
def backed(serve: Callable[..., EmulatorServer]) -> tuple[Sdk, EmulatorServer]:
    require_redis_server()
    server = serve(EmulatorConfig.instant(redis=True))
    return Sdk(server.url), server


def client(
    port: int, username: str | None = None, password: str | None = None, protocol: int = 3
) -> redis.Redis:
    return redis.Redis(
        host="127.0.0.1",
        port=port,
        username=username,
        password=password,
        protocol=protocol,
        socket_timeout=5,
        retry=Retry(NoBackoff(), 0),  # redis-py retries failed AUTH (a ConnectionError) by default
    )


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def create(sdk: Sdk, **extra: Any) -> tuple[str, int]:
    body = sdk.call(kv("CreateInstance", **{**REDIS_INSTANCE, **extra}))
    return body["InstanceId"], body["Port"]


def test_each_instance_gets_its_own_server_and_password(backed: tuple[Sdk, EmulatorServer]) -> None:
    sdk, server = backed
    instance_id, port = create(sdk, Password=PASSWORD)
    [details] = sdk.call(kv("DescribeInstanceAttribute", InstanceId=instance_id))["Instances"][
        "DBInstanceAttribute"
    ]
    assert (details["ConnectionDomain"], details["Port"]) == ("127.0.0.1", port)
    with pytest.raises(redis.AuthenticationError):
        client(port).ping()
    assert client(port, password=PASSWORD).ping()
    assert client(port, username=instance_id, password=PASSWORD).ping()  # Alibaba's default account
    other_id, other_port = create(sdk)
    assert other_port != port
    assert client(other_port).ping()  # no password set: password-free access
    client(port, password=PASSWORD).set("k", "first")
    assert client(other_port).get("k") is None  # separate servers, separate data
    processes = server.app.redis_processes()
    assert processes is not None and set(processes.running()) == {instance_id, other_id}


def test_accounts_are_acl_users_with_their_privileges(backed: tuple[Sdk, EmulatorServer]) -> None:
    sdk, _ = backed
    instance_id, port = create(sdk, Password=PASSWORD)
    for name, privilege in (("writer", "RoleReadWrite"), ("reader", "RoleReadOnly")):
        sdk.call(
            kv(
                "CreateAccount",
                InstanceId=instance_id,
                AccountName=name,
                AccountPassword=PASSWORD,
                AccountPrivilege=privilege,
            )
        )
    writer, reader = client(port, "writer", PASSWORD), client(port, "reader", PASSWORD)
    writer.set("greeting", "hello")
    assert reader.get("greeting") == b"hello"
    with pytest.raises(redis.exceptions.NoPermissionError):
        reader.set("greeting", "changed")
    with pytest.raises(redis.exceptions.NoPermissionError):
        writer.config_get("maxmemory")  # administration is not for accounts

    sdk.call(
        kv(
            "GrantAccountPrivilege",
            InstanceId=instance_id,
            AccountName="reader",
            AccountPrivilege="RoleReadWrite",
        )
    )
    client(port, "reader", PASSWORD).set("greeting", "changed")
    sdk.call(
        kv(
            "ResetAccountPassword",
            InstanceId=instance_id,
            AccountName="reader",
            AccountPassword="N3w!passw0rd",
        )
    )
    with pytest.raises(redis.AuthenticationError):
        client(port, "reader", PASSWORD).ping()
    assert client(port, "reader", "N3w!passw0rd").get("greeting") == b"changed"

    sdk.call(kv("DeleteAccount", InstanceId=instance_id, AccountName="writer"))
    with pytest.raises(redis.AuthenticationError):
        client(port, "writer", PASSWORD).ping()

    sdk.call(
        kv(
            "ResetAccountPassword",
            InstanceId=instance_id,
            AccountName=instance_id,
            AccountPassword="Def4ult!pass",
        )
    )
    assert client(port, password="Def4ult!pass").ping()


def test_one_instances_account_cannot_use_another(backed: tuple[Sdk, EmulatorServer]) -> None:
    sdk, _ = backed
    first_id, first_port = create(sdk, Password=PASSWORD)
    second_id, second_port = create(sdk, Password="An0ther!pass")
    sdk.call(kv("CreateAccount", InstanceId=first_id, AccountName="app", AccountPassword=PASSWORD))
    sdk.call(kv("CreateAccount", InstanceId=second_id, AccountName="app", AccountPassword="Th1rd!pass"))
    client(second_port, "app", "Th1rd!pass").set("secret", "b")
    with pytest.raises(redis.AuthenticationError):
        client(second_port, "app", PASSWORD).ping()
    assert client(first_port, "app", PASSWORD).get("secret") is None


def test_delete_instance_and_stop_kill_the_children(backed: tuple[Sdk, EmulatorServer]) -> None:
    sdk, server = backed
    processes = server.app.redis_processes()
    assert processes is not None
    gone_id, gone_port = create(sdk)
    kept_id, _ = create(sdk)
    gone_pid, kept_pid = processes.pid(gone_id), processes.pid(kept_id)
    assert gone_pid and kept_pid and alive(gone_pid) and alive(kept_pid)
    sdk.call(kv("DeleteInstance", InstanceId=gone_id))
    assert not alive(gone_pid)
    with pytest.raises(redis.ConnectionError):
        client(gone_port).ping()
    server.stop()
    assert not alive(kept_pid)


def test_alibaba_single_argument_auth_and_plain_traffic_through_the_proxy(
    backed: tuple[Sdk, EmulatorServer],
) -> None:
    sdk, _ = backed
    instance_id, port = create(sdk, Password=PASSWORD, EngineVersion="5.0")
    sdk.call(
        kv(
            "CreateAccount",
            InstanceId=instance_id,
            AccountName="reader",
            AccountPassword=PASSWORD,
            AccountPrivilege="RoleReadOnly",
        )
    )
    sdk.call(kv("CreateAccount", InstanceId=instance_id, AccountName="writer", AccountPassword=PASSWORD))
    writer = client(port, password=f"writer:{PASSWORD}")  # AUTH writer:<password>, one argument
    big = b"x" * 2_000_000
    pipe = writer.pipeline(transaction=False)
    for n in range(50):
        pipe.set(f"k{n}", n)
    pipe.set("big", big)
    assert all(pipe.execute())
    reader = client(port, password=f"reader:{PASSWORD}", protocol=2)  # RESP2: plain AUTH reader:<password>
    assert reader.get("big") == big and reader.get("k49") == b"49"
    with pytest.raises(redis.exceptions.NoPermissionError):
        reader.set("k1", "changed")
    with pytest.raises(redis.AuthenticationError):
        client(port, password=f"reader:{PASSWORD}x").ping()
