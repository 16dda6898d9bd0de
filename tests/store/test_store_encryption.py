"""Secrets at rest: encrypted in every database, key rotation, clear text only when allowed."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from store_rows import SECRET, add_instance_with_secrets

from openbroker_aliyun.store import DecryptionError, FieldCipher, Store, StoreConfigError, generate_key
from openbroker_aliyun.store.tables import bindings, instances, operations


def raw_dump(store: Store) -> str:
    with store.engine.connect() as connection:
        return repr([connection.execute(select(table)).all() for table in (instances, bindings, operations)])


def read_back(store: Store, instance_id: str) -> tuple[dict, dict, dict, dict | None]:  # type: ignore[type-arg]
    def read(tx):  # type: ignore[no-untyped-def]
        instance = tx.instance(instance_id)
        binding = tx.binding(instance_id, "b-" + instance_id)
        op = tx.operation(instance.operation_id)
        return instance.record.details, binding.record.details, op.parameters, binding.result

    return store.transact(read)  # type: ignore[no-any-return]


def test_secret_columns_are_encrypted_at_rest(store_url: str) -> None:
    store = Store.open(store_url, encryption_keys=[generate_key()])
    try:
        instance_id = add_instance_with_secrets(store)
        raw = raw_dump(store)
        assert SECRET not in raw
        assert "fernet:" in raw
        details, binding_details, op_parameters, result = read_back(store, instance_id)
        assert details == {"admin_password": SECRET}
        assert binding_details == {"user_password": SECRET}
        assert op_parameters == {"password": SECRET}
        assert result == {"credentials": {"password": SECRET}}
    finally:
        store.close()


def test_starting_without_a_key_is_refused_unless_plaintext_is_allowed(store_url: str) -> None:
    with pytest.raises(StoreConfigError, match="allow_plaintext"):
        Store.open(store_url)
    store = Store.open(store_url, allow_plaintext=True)
    try:
        add_instance_with_secrets(store)
        # The operator asked for it: clear text, marked as such.
        assert SECRET in raw_dump(store)
        assert "plain:" in raw_dump(store)
    finally:
        store.close()


def test_key_rotation_re_encrypts_every_row_with_the_first_key(store_url: str) -> None:
    old, new = generate_key(), generate_key()
    with_old = Store.open(store_url, encryption_keys=[old])
    ids = [add_instance_with_secrets(with_old) for _ in range(3)]
    with_old.close()

    both = Store.open(store_url, encryption_keys=[new, old])
    try:
        report = both.rotate_keys()
        # Per instance: 2 instance columns, 3 binding columns, 1 operation column.
        assert (report.rewritten, report.already_current) == (3 * 6, 0)
        assert both.rotate_keys().rewritten == 0
    finally:
        both.close()

    only_new = Store.open(store_url, encryption_keys=[new])
    try:
        for instance_id in ids:
            assert read_back(only_new, instance_id)[0] == {"admin_password": SECRET}
    finally:
        only_new.close()

    only_old = Store.open(store_url, encryption_keys=[old])
    try:
        with pytest.raises(DecryptionError) as caught:
            read_back(only_old, ids[0])
        message = str(caught.value)
        assert ids[0] in message and "osb_instances" in message
        assert old not in message and new not in message
    finally:
        only_old.close()


def test_rotation_encrypts_values_written_in_clear_text(store_url: str) -> None:
    plain = Store.open(store_url, allow_plaintext=True)
    instance_id = add_instance_with_secrets(plain)
    plain.close()
    key = generate_key()
    encrypted = Store.open(store_url, encryption_keys=[key])
    try:
        assert encrypted.rotate_keys().rewritten == 6
        assert SECRET not in raw_dump(encrypted)
        assert read_back(encrypted, instance_id)[2] == {"password": SECRET}
    finally:
        encrypted.close()


def test_a_store_without_keys_cannot_read_encrypted_rows(tmp_path: object) -> None:
    cipher = FieldCipher([generate_key()])
    sealed = cipher.seal({"password": SECRET})
    with pytest.raises(DecryptionError, match="no encryption key is configured"):
        FieldCipher([], allow_plaintext=True).open(sealed, "osb_instances.details of instance 'x'")


def test_malformed_keys_are_reported_by_position_never_by_value() -> None:
    good = generate_key()
    with pytest.raises(StoreConfigError) as caught:
        FieldCipher([good, "not-a-fernet-key-but-maybe-a-secret"])
    assert "#2" in str(caught.value)
    assert "not-a-fernet-key" not in str(caught.value) and good not in str(caught.value)
    with pytest.raises(StoreConfigError):
        FieldCipher(good)  # type: ignore[arg-type] - one string, not a list
