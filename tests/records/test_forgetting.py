"""Forgetting that holds up to forensics: once a conversation closes, no copy of the
database (a backup, a dead row, a WAL page) can give back the texter's number, and
no file the router keeps holds it or their words."""
from __future__ import annotations

import re
import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, delete, insert, select, text
from sqlalchemy.pool import NullPool

from hotline.crypto import (LOOKUP, LOOKUP_KEYS_FOR, SHARE_BATCH_KEY, Shredded, Vault, key_of,
                            tag_key)
from hotline.keystore import FileKeyStore
from hotline.records.retention import purge
from hotline.records.shredding import GRACE, LOOKUP_EVERY, sweep
from hotline.store import Base, Conversation, Outbox
from hotline.text.webhooks import CLOSED_FOR_GOOD
from tests.conftest import ALICE, DIRECTOR, OFFICER
from tests.sms_fixtures import phones  # noqa: F401 - fixture

# OFFICER is +12625550142 in every way people write it.
FORMATS = ["+12625550142", "12625550142", "2625550142", "(262) 555-0142", "262-555-0142",
           "262.555.0142", "555-0142", "5550142"]
WORDS = "I keep thinking about the overdose call from Tuesday"
SEALED = re.compile(rb"k1:([a-z]+-[0-9a-f]{24}):")
OTHER_OFFICER = "+12625550143"
SECRET = "test-secret-key-test-secret-key-0123"


def _copy_of_database(app, database_url: str, tmp_path: Path):
    """A backup taken now; returns how to put it back in place of the live database."""
    engine = app.extensions["hotline.engine"]
    if database_url.startswith("sqlite"):
        live = database_url.removeprefix("sqlite:///")
        backup = str(tmp_path / "backup.sqlite")
        with sqlite3.connect(live) as src, sqlite3.connect(backup) as dst:
            src.backup(dst)

        def restore(app):
            app.extensions["hotline.engine"].dispose()
            with sqlite3.connect(backup) as src, sqlite3.connect(live) as dst:
                src.backup(dst)
        return restore
    with engine.connect() as conn:  # a logical dump, as pg_dump would take it
        dump = {t: [dict(r._mapping) for r in conn.execute(select(t))]
                for t in Base.metadata.sorted_tables}

    def restore(app):
        with app.extensions["hotline.engine"].begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(delete(table))
            for table, rows in dump.items():
                if rows:
                    conn.execute(insert(table), rows)
    return restore


def test_a_backup_taken_while_open_gives_back_nothing_once_the_conversation_closed(
        phones, app, database_url, tmp_path):
    phones.text(OFFICER, f"{WORDS}. I have the pills lined up")  # urgent: REVEAL may apply
    phones.text(ALICE, "yes")
    restore = _copy_of_database(app, database_url, tmp_path)
    phones.text(ALICE, "DONE")
    # The attacker puts the backup back beside everything the deployment still holds
    # after the close: the same instance folder, environment and key store.
    restore(phones.app)
    app = phones.restart()
    with app.extensions["hotline.sessions"]() as db:
        [sealed] = db.scalars(select(Conversation.texter_enc))
    with pytest.raises(Shredded):
        app.extensions["hotline.vault"].open(sealed)
    before = len(phones.inbox(OFFICER))
    assert phones.text(ALICE, "#1 are you still there?") == [CLOSED_FOR_GOOD]
    assert len(phones.inbox(OFFICER)) == before  # nothing relayed to the texter
    revealed = phones.text(DIRECTOR, "REVEAL 1") + phones.text(DIRECTOR, "REVEAL 1 CONFIRM")
    assert revealed[-1] == CLOSED_FOR_GOOD
    assert not any(fmt in reply for reply in revealed for fmt in FORMATS)


def test_an_open_conversation_is_still_found_after_the_lookup_key_is_replaced(phones, app):
    phones.text(OFFICER, "first")
    phones.text(ALICE, "yes")
    vault = app.extensions["hotline.vault"]
    [first_key] = vault.lookup_keys()
    phones.clock.advance(LOOKUP_EVERY.total_seconds())
    sweep(app, phones.clock.now)  # a new lookup key
    phones.clock.advance(GRACE.total_seconds())
    sweep(app, phones.clock.now)  # open conversations re-tagged, the old key destroyed
    assert first_key not in vault.lookup_keys()
    phones.text(OFFICER, "still here")
    assert phones.last(ALICE) == "#1: still here"


def test_a_closed_conversations_lookup_tag_matches_no_number_within_the_hour(phones, app):
    phones.text(OFFICER, "first")
    with app.extensions["hotline.sessions"]() as db:
        [tag] = db.scalars(select(Conversation.texter_hash))
    phones.text(ALICE, "yes")
    phones.text(ALICE, "DONE")
    vault = app.extensions["hotline.vault"]
    assert tag in vault.lookups(OFFICER)  # the key that made it still exists...
    for _ in range(2):
        phones.clock.advance(LOOKUP_EVERY.total_seconds())
        sweep(app, phones.clock.now)
        phones.clock.advance(GRACE.total_seconds())
        sweep(app, phones.clock.now)
    assert tag not in vault.lookups(OFFICER)  # ...an hour later it does not


def test_a_closed_conversations_key_is_destroyed_at_once(phones, app):
    phones.text(OFFICER, "first")
    with app.extensions["hotline.sessions"]() as db:
        [sealed] = db.scalars(select(Conversation.texter_enc))
    store = app.extensions["hotline.vault"].store
    assert key_of(sealed) in store.names()
    phones.text(ALICE, "yes")
    phones.text(ALICE, "DONE")
    assert key_of(sealed) not in store.names()


def test_a_queued_texts_key_goes_once_it_is_sent(phones, app):
    phones.rest.fail_next(1)  # Twilio fails: the notice to alice waits in the outbox
    phones.text(OFFICER, "first")
    with app.extensions["hotline.sessions"]() as db:
        [sealed] = db.scalars(select(Outbox.body_enc))
    store = app.extensions["hotline.vault"].store
    assert key_of(sealed) in store.names()
    phones.tick(10)  # the clock sends it
    assert phones.last(ALICE).startswith("Peer line #1")
    phones.clock.advance(GRACE.total_seconds())
    sweep(app, phones.clock.now)
    assert key_of(sealed) not in store.names()


def test_texts_queued_seconds_apart_share_a_key_that_goes_once_all_are_sent(phones, app):
    phones.rest.fail_next(20)  # Twilio is down: both notices wait in the outbox
    phones.text(OFFICER, "first")
    phones.clock.advance(2)
    phones.text(OTHER_OFFICER, "me too")
    with app.extensions["hotline.sessions"]() as db:
        sealed = db.scalars(select(Outbox.body_enc)).all()
    keys = {key_of(b) for b in sealed}
    assert len(sealed) == 2 and len(keys) == 1  # one key file for the two, not one each
    store = app.extensions["hotline.vault"].store
    phones.rest.fail_next(0)  # Twilio is back
    phones.tick(60)  # the clock sends both
    assert phones.last(ALICE).startswith("Peer line #2")
    phones.clock.advance(GRACE.total_seconds())
    sweep(app, phones.clock.now)
    assert not keys & set(store.names())


def test_a_text_queued_later_than_the_sharing_window_gets_a_key_of_its_own(phones, app):
    phones.rest.fail_next(20)
    phones.text(OFFICER, "first")
    phones.clock.advance(SHARE_BATCH_KEY.total_seconds())
    phones.text(OTHER_OFFICER, "me too")
    with app.extensions["hotline.sessions"]() as db:
        sealed = db.scalars(select(Outbox.body_enc)).all()
    assert len({key_of(b) for b in sealed}) == len(sealed) == 2


def test_a_lookup_key_another_process_made_is_used_within_a_second(tmp_path, clock):
    store = FileKeyStore(tmp_path / "keys")
    web, other = Vault(SECRET, store, clock), Vault(SECRET, store, clock)
    first = web.lookup(OFFICER)
    clock.advance(LOOKUP_EVERY.total_seconds())
    newest = other.new_key(LOOKUP)  # the clock process replaces the lookup key
    time.sleep(LOOKUP_KEYS_FOR)
    assert web.lookup(OFFICER).startswith(tag_key(newest) + ":")
    assert first in web.lookups(OFFICER)  # the old tag still matches until its key goes


def test_a_queued_text_of_a_conversation_closed_an_hour_ago_is_dropped_with_its_key(
        phones, app):
    phones.text(OFFICER, "first")
    phones.text(ALICE, "yes")
    phones.rest.fail_next(20)  # Twilio is down: the closing note to the texter waits
    phones.text(ALICE, "DONE")
    with app.extensions["hotline.sessions"]() as db:
        [sealed] = db.scalars(select(Outbox.to_enc))
    phones.clock.advance(3600 + 1)
    sweep(app, phones.clock.now)
    with app.extensions["hotline.sessions"]() as db:
        assert db.scalars(select(Outbox.id)).all() == []
    assert key_of(sealed) not in app.extensions["hotline.vault"].store.names()


def _files_bytes(app, database_url: str) -> dict[str, bytes]:
    found = {}
    for path in Path(app.instance_path).rglob("*"):
        if path.is_file():
            found[str(path)] = path.read_bytes()
    if database_url.startswith("sqlite"):
        db = Path(database_url.removeprefix("sqlite:///"))
        for path in db.parent.glob(db.name + "*"):  # main, -wal, -shm
            found[str(path)] = path.read_bytes()
    return found


def _postgres_relation_bytes(app) -> dict[str, bytes]:
    """The raw files of the tables that held the conversation, and of their indexes."""
    # Not the app's pool: its 2 s statement deadline can cancel a CHECKPOINT on a busy
    # machine, and a privacy check must not skip for that.
    engine = create_engine(app.extensions["hotline.engine"].url,
                           isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with engine.connect() as conn:
        try:
            conn.execute(text("CHECKPOINT"))  # the pages reach the files
            root = Path(conn.execute(text("SHOW data_directory")).scalar())
            paths = conn.execute(text(
                "SELECT c.relname, pg_relation_filepath(c.oid) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'i', 't')")).all()
        except Exception as exc:  # noqa: BLE001
            pytest.skip(f"cannot read PostgreSQL's relation files here: {exc}")
    found = {}
    for name, rel in paths:
        base = root / rel
        if not base.parent.exists():
            pytest.skip(f"PostgreSQL's data directory {root} is not on this machine")
        for part in base.parent.glob(base.name + "*"):
            try:
                found[f"{name}:{part.name}"] = part.read_bytes()
            except PermissionError:
                pytest.skip("reading PostgreSQL's relation files needs root here")
    return found


def test_no_file_holds_the_number_the_words_or_a_readable_seal_after_close_and_purge(
        phones, app, database_url):
    phones.rest.fail_next(1)  # one notice waits sealed in the outbox, then goes
    phones.text(OFFICER, f"{WORDS}. call me on 262-555-0142")
    phones.tick(10)
    with app.extensions["hotline.sessions"]() as db:
        [tag] = db.scalars(select(Conversation.texter_hash))  # matchable for up to an hour
    phones.text(ALICE, "yes")
    phones.text(OFFICER, WORDS)
    phones.text(ALICE, "DONE")
    phones.clock.advance(GRACE.total_seconds())
    sweep(app, phones.clock.now)
    purge(app, phones.clock.now)
    files = _files_bytes(app, database_url)
    if database_url.startswith("postgresql"):
        files |= _postgres_relation_bytes(app)
        # VACUUM removes a dead row only once no running transaction could still see
        # it, and other sessions share this server: a later purge gets it.
        for _ in range(40):
            if not any(tag.encode() in data for data in files.values()):
                break
            time.sleep(0.5)
            purge(app, phones.clock.now)
            files = _files_bytes(app, database_url) | _postgres_relation_bytes(app)
    live = app.extensions["hotline.vault"].store.names()
    for name, data in files.items():
        for fmt in FORMATS:
            assert fmt.encode() not in data, (fmt, name)
        assert WORDS.encode() not in data, name
        assert tag.encode() not in data, name  # no dead row or index entry keeps it
        for m in SEALED.finditer(data):  # a dead row's sealed copy: its key must be gone
            assert m.group(1).decode() not in live, name
    if database_url.startswith("sqlite"):
        wal = Path(database_url.removeprefix("sqlite:///") + "-wal")
        assert not wal.exists() or wal.stat().st_size == 0  # checkpointed and truncated


def test_the_instance_folder_and_database_files_are_private(phones, app, database_url):
    phones.text(OFFICER, "first")
    instance = Path(app.instance_path)
    assert instance.stat().st_mode & 0o777 == 0o700
    keys = instance / "keys"
    private = [instance / "last-good-rotation.yaml",
               *(p for p in keys.rglob("*") if p.is_file())]
    assert any(p.parent == keys / "lookup" for p in private)  # the lookup keys' own folder
    for folder in (keys, keys / "lookup"):
        assert folder.stat().st_mode & 0o777 == 0o700
    if database_url.startswith("sqlite"):
        db = Path(database_url.removeprefix("sqlite:///"))
        private += [p for p in db.parent.glob(db.name + "*")]
    for path in private:
        assert path.stat().st_mode & 0o777 == 0o600, path
    assert (instance / "keys").stat().st_mode & 0o777 == 0o700
