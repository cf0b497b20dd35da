"""The key stores: a key destroyed is gone from the store, on one host or shared."""
from __future__ import annotations

import os
import uuid
from datetime import datetime, timezone

import pytest

from hotline.keystore import FileKeyStore, RedisKeyStore
from tests.conftest import ALICE, OFFICER
from tests.sms_fixtures import phones  # noqa: F401 - fixture

REDIS = "redis://127.0.0.1:6379/0"
WHEN = datetime(2026, 11, 23, 5, 0, tzinfo=timezone.utc)


def _redis_url() -> str:
    """A namespace of its own, so parallel runs never sweep each other's keys."""
    try:
        import redis

        redis.Redis.from_url(REDIS, socket_connect_timeout=1).ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "not here"
        if os.environ.get("HOTLINE_REQUIRE_REDIS"):
            raise RuntimeError(f"Redis is required here but unreachable: {exc}") from exc
        pytest.skip(f"Redis not reachable on 127.0.0.1:6379 ({exc}); .ci/run starts one")
    return f"{REDIS}#test-{uuid.uuid4().hex[:12]}"


@pytest.fixture(params=["files", "redis"])
def store(request, tmp_path):
    if request.param == "files":
        yield FileKeyStore(tmp_path / "keys")
        return
    s = RedisKeyStore(_redis_url())
    yield s
    for name in s.names():
        s.destroy(name)


def test_a_destroyed_key_is_gone_and_the_others_stay(store):
    store.put("conv-" + "a" * 24, b"one", WHEN)
    store.put("conv-" + "b" * 24, b"two", WHEN)
    store.destroy("conv-" + "a" * 24)
    assert store.get("conv-" + "a" * 24) is None
    assert store.get("conv-" + "b" * 24) == b"two"
    assert store.names() == {"conv-" + "b" * 24: WHEN}


def test_a_key_is_never_overwritten(store):
    store.put("conv-" + "a" * 24, b"one", WHEN)
    with pytest.raises(FileExistsError):
        store.put("conv-" + "a" * 24, b"two", WHEN)


def test_a_key_file_is_overwritten_before_it_is_unlinked(tmp_path, monkeypatch):
    store = FileKeyStore(tmp_path / "keys")
    store.put("conv-" + "a" * 24, b"secret-key-bytes", WHEN)
    written = []
    real_unlink = type(tmp_path).unlink

    def unlink(path, *args, **kwargs):
        written.append(path.read_bytes())
        real_unlink(path, *args, **kwargs)

    monkeypatch.setattr(type(tmp_path), "unlink", unlink)
    store.destroy("conv-" + "a" * 24)
    assert written and b"secret-key-bytes" not in written[0]
    assert not (tmp_path / "keys" / ("conv-" + "a" * 24)).exists()


def test_with_a_shared_store_the_line_works_and_a_closed_conversations_key_leaves_redis(
        phones, app):
    url = _redis_url()
    from hotline.crypto import Vault

    shared = RedisKeyStore(url)
    old = app.extensions["hotline.vault"]
    app.extensions["hotline.vault"] = Vault("a-secret-of-at-least-sixteen", shared, old.clock)
    try:
        phones.text(OFFICER, "anyone there?")
        assert [n for n in shared.names() if n.startswith("conv-")]
        phones.text(ALICE, "yes")
        phones.text(OFFICER, "thanks")
        assert phones.last(ALICE) == "#1: thanks"
        phones.text(ALICE, "DONE")
        assert not [n for n in shared.names() if n.startswith("conv-")]
    finally:
        for name in shared.names():
            shared.destroy(name)


def test_keys_are_listed_by_kind(store):
    store.put("conv-" + "a" * 24, b"one", WHEN)
    store.put("lookup-" + "b" * 24, b"two", WHEN)
    assert list(store.names("lookup-")) == ["lookup-" + "b" * 24]


def test_lookup_keys_live_apart_and_an_older_instances_are_moved_there(tmp_path):
    """Each text lists the lookup keys: they have a folder of their own, so that costs
    nothing per open conversation. A folder from before keeps every key it had."""
    folder = tmp_path / "keys"
    folder.mkdir(mode=0o700)
    old = "lookup-" + "b" * 24
    (folder / old).write_bytes(b"1700000000.000\nold-lookup")
    store = FileKeyStore(folder)
    store.put("conv-" + "a" * 24, b"conversation", WHEN)
    assert store.get(old) == b"old-lookup"
    assert set(store.names("lookup-")) == {old}
    assert set(store.names()) == {old, "conv-" + "a" * 24}
    assert (folder / "lookup" / old).exists() and not (folder / old).exists()
    store.destroy(old)
    assert store.get(old) is None and store.names("lookup-") == {}
