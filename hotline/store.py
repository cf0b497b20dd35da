"""What the router keeps in its database, and nothing more.

Live rows exist only while a contact is open; they hold what routing needs
(Twilio SIDs, the step, who was rung and who accepted), never a caller's
number. When a contact ends, its live row is deleted and one anonymous
statistics event is written.
"""
from __future__ import annotations

import logging
import os
from datetime import datetime, timezone

from sqlalchemy import (JSON, Boolean, DateTime, Index, Integer, LargeBinary, MetaData, String,
                        UniqueConstraint, create_engine, event, text)
from sqlalchemy import false as sa_false
from sqlalchemy.engine import Engine
from sqlalchemy.sql.dml import Insert
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

from hotline import deadlines


class UTCDateTime(TypeDecorator):
    """Stores aware datetimes as UTC; SQLite would otherwise hand back naive ones."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime stored; the router works in aware time only")
        # SQLite drops the offset, so everything goes in as UTC.
        return value.astimezone(timezone.utc)

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


class Base(DeclarativeBase):
    # Named constraints, so a later migration can drop or alter them (SQLite batch mode
    # cannot address an unnamed one).
    metadata = MetaData(naming_convention={
        "ix": "ix_%(column_0_label)s", "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s"})


class Call(Base):
    """A voice call in progress, keyed by the caller's CallSid."""

    __tablename__ = "calls"
    call_sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    preference: Mapped[str | None] = mapped_column(String(32))
    asked_for: Mapped[str | None] = mapped_column(String(64))  # a peer asked for by name
    # -1 is the caller-preference round; 0.. count steps across repeats.
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    tried: Mapped[list] = mapped_column(JSON, default=list)  # [[attempt, person id], ...]
    ringing: Mapped[list] = mapped_column(JSON, default=list)
    accepted_by: Mapped[str | None] = mapped_column(String(64))
    accepted_leg: Mapped[str | None] = mapped_column(String(64))
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_step: Mapped[int | None] = mapped_column(Integer)
    bridged: Mapped[bool] = mapped_column(Boolean, default=False)  # the accepted leg is live
    fallback: Mapped[bool] = mapped_column(Boolean, default=False)
    # A peer's CALL to their texter, not a contact to the line: kept only so the peer counts
    # as on a call (never rung for another), and not counted in the statistics.
    text_bridge: Mapped[bool] = mapped_column(Boolean, default=False,
                                              server_default=sa_false())
    # Conference bridging (voice: bridge: conference, voice/conference.py). The peer legs
    # the router placed, as [[attempt, person id, leg CallSid or None, ended?], ...]: the
    # caller's wait loop moves on once every leg of its step has ended. SIDs only.
    legs: Mapped[list | None] = mapped_column(JSON)
    step_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when this step is over, at the latest
    conference_sid: Mapped[str | None] = mapped_column(String(64))  # CF..., for the coach's *7
    coach_leg: Mapped[str | None] = mapped_column(String(64))  # the clinician coaching the peer
    caller_joined: Mapped[bool] = mapped_column(Boolean, default=False,
                                                server_default=sa_false())
    conference_ended: Mapped[bool] = mapped_column(Boolean, default=False,
                                                   server_default=sa_false())

    # Every answer asks who is on a bridged call (voice/answer.py, voice/ringing.py): an
    # index of the bridged calls alone, so no plan scans every call row. The queries
    # spell the condition as the index does (`bridged`, `bridged = 1` on SQLite).
    __table_args__ = (Index("ix_calls_bridged_peer", "accepted_by",
                            postgresql_where=text("bridged"),
                            sqlite_where=text("bridged = 1")),)


class StatEvent(Base):
    """One anonymous line per contact: enough for yearly statistics, nothing about who."""

    __tablename__ = "stat_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime)  # start, truncated to the local hour
    channel: Mapped[str] = mapped_column(String(8))  # voice | text
    preference: Mapped[str | None] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(24))  # peer | clinical_director | fallback | abandoned
    step: Mapped[int | None] = mapped_column(Integer)  # escalation step that answered
    seconds_to_human: Mapped[int | None] = mapped_column(Integer)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    escalations: Mapped[int] = mapped_column(Integer, default=0)  # steps moved on from
    length: Mapped[str | None] = mapped_column(String(8))  # conversation length bucket
    # What kind of menu choice it was (family, concern, named, peer, resources, office),
    # so families and worried colleagues are counted apart whatever a program calls them.
    # "resources" and "office" rows are requests answered without a peer, not contacts.
    reason: Mapped[str | None] = mapped_column(String(16))


def normalise_url(url: str) -> str:
    """Hosts hand out `postgres://...`; SQLAlchemy wants a dialect and our driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _private_files(url: str) -> None:
    """The database and its -wal and -shm are readable by the router's user alone
    (SQLite gives the -wal and -shm the main file's mode)."""
    path = url.split(":///", 1)[1] if ":///" in url else ""
    path = path.split("?", 1)[0]
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))  # never truncates
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.chmod(path + suffix, 0o600)
    except OSError:
        pass  # a missing folder: SQLite's own error says it better


def make_engine(url: str, budget: float | None = None, durable: bool = True,
                autocommit: bool = False, indexes_first: bool = False) -> Engine:
    """`budget`: a web process's webhook budget in seconds, which bounds every wait on
    the database (hotline/deadlines.py); None for the clock and maintenance commands.
    `durable=False` (PostgreSQL): commits do not wait for the WAL to reach the disk
    (`synchronous_commit = off`), for the one write whose loss the router survives
    (voice/answer.py); a server crash can lose such a commit, never corrupt anything.
    `autocommit`: every connection is in autocommit mode from the start, for statements
    that are a transaction of their own, without switching the mode at each checkout.
    `indexes_first` (PostgreSQL): plans avoid sequential scans where an index serves.
    psycopg prepares a statement at its sixth run and PostgreSQL then keeps one generic
    plan; made while a table is nearly empty, that plan scans it, however large it grows
    (voice/answer.py's busy-peers test cost 1 ms more per call after 6,000 calls)."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        _private_files(url)
    options = deadlines.engine_options(url, budget)
    if autocommit:
        # Nothing is left open to roll back when a connection goes back to the pool.
        options.update(isolation_level="AUTOCOMMIT", pool_reset_on_return=None)
    engine = create_engine(url, **options)
    deadlines.install(engine, budget)
    settings = [setting for setting, wanted in (("synchronous_commit = off", not durable),
                                                ("enable_seqscan = off", indexes_first))
                if wanted]
    if settings and engine.dialect.name == "postgresql":

        @event.listens_for(engine, "connect")
        def _session_settings(dbapi_conn, _record):
            with dbapi_conn.cursor() as cur:
                for setting in settings:
                    cur.execute(f"SET {setting}")
            dbapi_conn.commit()
    if url.startswith("sqlite"):
        busy_ms = deadlines.sqlite_busy_ms(budget)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            # A writer waits this long for the lock, then fails: the webhook answers.
            cur.execute(f"PRAGMA busy_timeout={busy_ms}")
            # A closed conversation's encrypted number and its hash are overwritten on
            # delete, not left readable in free pages of the file.
            cur.execute("PRAGMA secure_delete=ON")
            cur.close()
    return engine


def forget_on_disk(engine: Engine, tables: tuple[str, ...] = ()) -> None:
    """Best effort: leave deleted rows in no file of the database.

    SQLite: secure_delete zeroes them in the main file, but the WAL still holds the
    pages as they were until a checkpoint copies them back and TRUNCATE empties it.
    PostgreSQL: a deleted row stays in its page (and its index entries) until vacuumed;
    VACUUM FULL rewrites the named tables into new files, so neither the old tuples nor
    the old index entries stay in the relation files. The purge names the small tables
    it deleted from; PostgreSQL's own WAL is outside our reach, and crypto-shredding
    (records/shredding.py) is what protects what it keeps.
    """
    try:
        if engine.dialect.name == "sqlite":
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        elif engine.dialect.name == "postgresql" and tables:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                for table in tables:
                    conn.exec_driver_sql(f"VACUUM FULL {table}")
    except Exception:  # noqa: BLE001 - never fails the close or purge that asked
        logging.getLogger(__name__).warning("could not compact the database files", exc_info=True)


def skip_clashes(stmt: Insert, target: str = "") -> Insert:
    """`stmt` with ON CONFLICT [target] DO NOTHING, as a statement SQLAlchemy caches.

    SQLAlchemy 2.0's PostgreSQL and SQLite inserts (the ones with on_conflict_do_nothing)
    opt out of its compiled-statement cache, so every text compiled two statements afresh,
    about 0.7 ms of a web worker's CPU (docs/benchmarks.md). The clause reads the same on
    both databases, so a plain INSERT carries it; `target` is "(column)" or "" (any clash).
    It sets the attribute the dialect inserts themselves use for this clause, private to
    the SQLAlchemy pinned in pyproject.toml: tests/text/test_statement_cache.py fails if
    an upgrade moves it (a statement compiled afresh, or a clash that raises).
    """
    stmt = stmt._generate()
    stmt._post_values_clause = text(f"ON CONFLICT {target} DO NOTHING".replace("  ", " "))
    return stmt


def make_sessions(engine: Engine) -> sessionmaker:
    return sessionmaker(bind=engine, expire_on_commit=False)


def create_schema(engine: Engine) -> None:
    Base.metadata.create_all(engine)


# -- the text line ------------------------------------------------------------
# Imported here rather than at the top so the voice models above stay untouched.


class Conversation(Base):
    """An open text conversation. The row (with the texter's encrypted number and
    its keyed hash) is deleted when the conversation closes; nothing else links a
    number to a contact. Bodies are never kept here."""

    __tablename__ = "conversations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[int] = mapped_column(Integer, unique=True)  # shown to peers as #7
    texter_hash: Mapped[str] = mapped_column(String(64), unique=True)  # HMAC, to find by number
    texter_enc: Mapped[bytes] = mapped_column(LargeBinary)  # Fernet token of the E.164 number
    owner: Mapped[str | None] = mapped_column(String(64))  # person id who accepted
    attempt: Mapped[int] = mapped_column(Integer, default=0)  # escalation step index notified last
    tried: Mapped[list] = mapped_column(JSON, default=list)  # [[attempt, person id], ...]
    # People told outside the escalation order (the clinical director on urgent triage);
    # kept apart from `tried` so the director's own step later still reaches them.
    alerted: Mapped[list] = mapped_column(JSON, default=list)
    # When the unanswered conversation moves to the next step; NULL = no timer running.
    escalate_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    gave_up: Mapped[bool] = mapped_column(Boolean, default=False)  # the fallback was sent
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    owner_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # picks "most recent"
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_step: Mapped[int | None] = mapped_column(Integer)
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    preference: Mapped[str | None] = mapped_column(String(32))  # the menu key chosen
    # A peer the texter asked for by name (a peer id: nothing about the texter).
    asked_for: Mapped[str | None] = mapped_column(String(64))
    # The clinician a peer brought in (CONSULT #n) or who acknowledged an urgent page: they
    # see the conversation's messages from then on and may write to the peer or the texter.
    consultant: Mapped[str | None] = mapped_column(String(64))
    # When the clinical director asked to REVEAL this texter's number: the number is shown
    # only on "REVEAL #n CONFIRM" within a few minutes of it (text/reveal.py).
    reveal_asked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class InboundMessage(Base):
    """MessageSids already handled, so a re-delivered webhook is processed once.
    Only the SID and when: no number, no body. Purged by the retention job after HOTLINE_RETAIN_HOURS (24 h)."""

    __tablename__ = "inbound_messages"
    message_sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Outbox(Base):
    """A text waiting for the sender (text/sender.py): staged by the decision that wrote
    it, or back after Twilio answered a 5xx or timed out. Recipient and body are
    encrypted and the row is deleted once Twilio has it."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    to_enc: Mapped[bytes] = mapped_column(LargeBinary)
    body_enc: Mapped[bytes] = mapped_column(LargeBinary)
    priority: Mapped[int] = mapped_column(Integer, default=0)  # text/outbox.py: URGENT first
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_try_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    conversation_id: Mapped[int | None] = mapped_column(Integer)
    peer_id: Mapped[str | None] = mapped_column(String(64))  # set for peer notices
    attempt: Mapped[int | None] = mapped_column(Integer)
    to_texter: Mapped[bool] = mapped_column(Boolean, default=False)
    callout_id: Mapped[int | None] = mapped_column(Integer)  # a callout's text to a peer
    # A relayed picture (text/pictures.py): its Twilio media URLs, sealed like the body,
    # and the SID of the texter's message they belong to, kept at Twilio until sent.
    media_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    media_of: Mapped[str | None] = mapped_column(String(64), index=True)
    # When a sender last handed this text to Twilio without learning the outcome (set
    # with its claim, before the REST call; cleared when Twilio said no). A row found
    # with it set was maybe sent: the next sender asks Twilio before sending again.
    sending_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MediaRelay(Base):
    """A relayed picture Twilio has taken but not yet reported delivered or failed: the
    texter's message (and so its media) stays at Twilio until none is left for it."""

    __tablename__ = "media_relays"
    outbound_sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    inbound_sid: Mapped[str] = mapped_column(String(64), index=True)


class Notice(Base):
    """A notice sent to a peer, so a status callback saying it never arrived can
    count that peer as unreachable."""

    __tablename__ = "notices"
    message_sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    # No foreign key: a notice's SID may arrive after its conversation closed.
    conversation_id: Mapped[int] = mapped_column(Integer, index=True)
    peer_id: Mapped[str] = mapped_column(String(64))
    attempt: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="queued")


class AuditEvent(Base):
    """Sensitive actions, for oversight: what, when and who acted (a role or a peer
    id), never whose contact: config reloads, REVEAL uses, purges."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    action: Mapped[str] = mapped_column(String(32))  # config_reload | reveal | purge
    actor: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(String(200), default="")


class PeerLoad(Base):
    """Contacts handled per peer per month: workload without any contact's time."""

    __tablename__ = "peer_load"
    peer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # "2026-11", local
    contacts: Mapped[int] = mapped_column(Integer, default=0)


class ProviderRecord(Base):
    """A Call, Message or Recording Twilio still keeps, to be deleted there. A SID
    alone identifies nobody; the row goes once Twilio confirms the deletion."""

    __tablename__ = "provider_records"
    sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # call | message | recording
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_try_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class SendWindow(Base):
    """Texts the program number has sent in the current second, shared by every worker,
    so a burst stays within the number's rate and the outbox can put urgent texts first."""

    __tablename__ = "send_windows"
    number: Mapped[str] = mapped_column(String(32), primary_key=True)
    second: Mapped[int] = mapped_column(Integer)  # POSIX second of the window
    count: Mapped[int] = mapped_column(Integer, default=0)


class ClockHeartbeat(Base):
    """One row (id 1): when the clock process last finished a poll, for /health."""

    __tablename__ = "clock_heartbeat"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_poll_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Voicemail(Base):
    """A voicemail waiting to be played to the clinical director (only when a
    coordinator turned voicemail on). The audio stays at Twilio; we keep its SID,
    and delete it there once played."""

    __tablename__ = "voicemails"
    recording_sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # calls placed to the director
    next_try_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


# -- critical-incident callouts (hotline/callout/) -----------------------------------


class Callout(Base):
    """The one open callout. Its message is kept (encrypted) only while it is open: the
    row and its answers are deleted at close, leaving one CalloutStat line."""

    __tablename__ = "callouts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # Always 1 and unique: two coordinators starting at once cannot open two callouts.
    slot: Mapped[int] = mapped_column(Integer, unique=True, default=1)
    message_enc: Mapped[bytes] = mapped_column(LargeBinary)
    tag: Mapped[str | None] = mapped_column(String(64))  # None: every peer was asked
    initiator: Mapped[str | None] = mapped_column(String(64))  # person id; gets the tally
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    first_yes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The debounced running tally: set by the first answer after a tally, claimed by the clock.
    tally_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    tallied: Mapped[str | None] = mapped_column(String(160))  # the last tally sent, not resent
    close_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)  # forgotten: closes


class CalloutAnswer(Base):
    """A peer asked in the open callout, and their latest answer (None = waiting)."""

    __tablename__ = "callout_answers"
    callout_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    peer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    answer: Mapped[str | None] = mapped_column(String(8))  # yes | no
    minutes: Mapped[int | None] = mapped_column(Integer)  # "YES 40": 40 minutes away
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notice_sid: Mapped[str | None] = mapped_column(String(64), index=True)  # the text's SID
    unreachable: Mapped[bool] = mapped_column(Boolean, default=False)  # text or call failed
    calls: Mapped[int] = mapped_column(Integer, default=0)  # phone pages placed
    call_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


class CalloutStat(Base):
    """What a closed callout leaves for the yearly figures: counts, no names, no message."""

    __tablename__ = "callout_stats"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    month: Mapped[str] = mapped_column(String(7))  # "2026-11", local
    asked: Mapped[int] = mapped_column(Integer)
    answered_yes: Mapped[int] = mapped_column(Integer)
    seconds_to_first_yes: Mapped[int | None] = mapped_column(Integer)
class Page(Base):
    """A clinician paged for a conversation (urgent words, a peer's URGENT #n) until
    somebody acknowledges or nobody can be reached. What the page said is sent, not kept: no number, no message text. Deleted with its
    conversation."""

    __tablename__ = "pages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[int | None] = mapped_column(Integer, index=True)  # no FK: see Notice
    # Or a call in progress (a peer's *9): the caller's CallSid; deleted when the call ends.
    call_sid: Mapped[str | None] = mapped_column(String(64), index=True)
    reason: Mapped[str] = mapped_column(String(16))  # urgent_words | peer_urgent
    raised_by: Mapped[str] = mapped_column(String(64))  # "texter" or the peer's id
    chain: Mapped[list] = mapped_column(JSON, default=list)  # person ids, in paging order
    position: Mapped[int] = mapped_column(Integer, default=0)  # index in chain paged now
    tries: Mapped[int] = mapped_column(Integer, default=0)  # pages sent to that person
    # When to page again (or move on); NULL once acknowledged or given up. The clock claims it.
    next_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    gave_up: Mapped[bool] = mapped_column(Boolean, default=False)


# -- peers' own availability and shift reminders -------------------------------------


class PeerAway(Base):
    """A peer who stepped out by text (OFF, BUSY): skipped for new contacts until
    `until` (NULL: until they text ON). About a volunteer, never about a caller."""

    __tablename__ = "peer_away"
    peer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # off | busy
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ReminderOptOut(Base):
    """A peer who texted REMIND OFF: no shift reminders until REMIND ON."""

    __tablename__ = "reminder_opt_outs"
    peer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    since: Mapped[datetime] = mapped_column(UTCDateTime)


class ReminderSent(Base):
    """A reminder the clock has sent, one row per peer, rotation, shift start and kind
    (before | start | gaps for the coordinators' weekly summary): the unique key is
    the claim, so two clocks or a restart never send one twice."""

    __tablename__ = "reminders_sent"
    __table_args__ = (UniqueConstraint("peer_id", "rotation", "shift_start", "kind"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    peer_id: Mapped[str] = mapped_column(String(64))
    rotation: Mapped[str] = mapped_column(String(64))
    shift_start: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    kind: Mapped[str] = mapped_column(String(8))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LoginFailure(Base):
    """Failed dashboard logins, per account name and per client address, shared by every
    worker and kept across restarts, so neither a flood of made-up names nor a restart
    resets a lock. The key is a keyed hash: a password typed into the name field is
    never stored."""

    __tablename__ = "login_failures"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # HMAC of "name:..."/"addr:..."
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DashboardSession(Base):
    """A signed-in dashboard session. The cookie carries a random id; only its hash is
    here, so logging out (deleting the row) ends the session everywhere at once."""

    __tablename__ = "dashboard_sessions"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)  # for the absolute lifetime
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
