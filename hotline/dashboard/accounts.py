"""Dashboard accounts: who may log in, and how hard they may guess.

Accounts come from HOTLINE_DASHBOARD_USERS, one `name:role:hash` per account,
separated by `;`. The hash is a werkzeug.security password hash, made with
`hotline dashboard-user NAME ROLE` (it prompts for the password twice and
prints the line to paste). Passwords are never stored or accepted in clear.

A malformed entry is logged and skipped, never fatal: a typo in the dashboard
accounts must not stop the phone line from starting.

Failed logins are limited per account name (any name, so the limit does not
reveal which accounts exist) and per client address, in the database
(LoginThrottle below).
"""
from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import click
from sqlalchemy import delete, or_
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from hotline.store import LoginFailure

log = logging.getLogger(__name__)

ROLES = ("coordinator", "clinical_director")
ROLE_LABELS = {"coordinator": "Coordinator", "clinical_director": "Clinical director"}
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=5)
_HASH_PREFIXES = ("pbkdf2:", "scrypt:")


@dataclass(frozen=True)
class User:
    name: str
    role: str
    password_hash: str

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)


def parse_users(text: str | None) -> dict[str, User]:
    """`name:role:hash;name:role:hash` -> {name: User}; bad entries are logged and skipped."""
    users: dict[str, User] = {}
    for number, entry in enumerate((text or "").split(";"), start=1):
        entry = entry.strip()
        if not entry:
            continue
        name, _, rest = entry.partition(":")
        role, _, password_hash = rest.partition(":")
        name, role = name.strip(), role.strip()
        # Never log the entry itself: it holds a password hash.
        if not name or not password_hash:
            log.error("HOTLINE_DASHBOARD_USERS entry %d is not name:role:hash; skipped", number)
        elif role not in ROLES:
            log.error("HOTLINE_DASHBOARD_USERS entry %d (%s) has role %r; use one of %s; skipped",
                      number, name, role, ", ".join(ROLES))
        elif not password_hash.startswith(_HASH_PREFIXES):
            log.error("HOTLINE_DASHBOARD_USERS entry %d (%s) has no password hash; make one with "
                      "`hotline dashboard-user %s %s`; skipped", number, name, name, role)
        elif name.lower() in {u.lower() for u in users}:
            log.error("HOTLINE_DASHBOARD_USERS entry %d repeats the name %s; skipped", number, name)
        else:
            users[name] = User(name, role, password_hash)
    return users


def find_user(users: dict[str, User], name: str) -> User | None:
    wanted = name.strip().lower()
    return next((u for u in users.values() if u.name.lower() == wanted), None)


def verify(users: dict[str, User], name: str, password: str) -> User | None:
    user = find_user(users, name)
    ok = check_password_hash(user.password_hash if user else _dummy_hash(users), password)
    return user if ok and user is not None else None


_DUMMIES: dict[str, str] = {}


def _dummy_hash(users: dict[str, User]) -> str:
    """For an unknown name: a hash made the way the real accounts' are (same method, same
    cost), so a wrong name takes as long as a wrong password and timing tells nothing."""
    some = next(iter(users.values()), None)
    method = some.password_hash.split("$", 1)[0] if some else "scrypt"
    if method not in _DUMMIES:
        try:
            _DUMMIES[method] = generate_password_hash("not-a-password", method=method)
        except ValueError:  # a method this werkzeug cannot make: its default
            _DUMMIES[method] = generate_password_hash("not-a-password")
    return _DUMMIES[method]


class LoginThrottle:
    """Failed logins, in the database (store.LoginFailure): per account name (any name,
    so the limit does not reveal which accounts exist) MAX_FAILURES wrong passwords lock
    the name for LOCKOUT; per client address ADDRESS_MAX_FAILURES lock the address. Every
    worker sees the same counts, a restart forgets nothing, and no number of made-up
    names can push a real name's count out (nothing is evicted before its time)."""

    ADDRESS_MAX_FAILURES = 20

    def __init__(self, sessions, secret: bytes, max_failures: int = MAX_FAILURES,
                 lockout: timedelta = LOCKOUT):
        self.sessions, self._secret = sessions, secret
        self.max_failures, self.lockout = max_failures, lockout

    def _keys(self, name: str, address: str | None) -> list[tuple[str, int]]:
        def key(kind: str, value: str) -> str:
            return hmac.new(self._secret, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()

        keys = [(key("name", name.strip().lower()), self.max_failures)]
        if address:
            keys.append((key("addr", address), self.ADDRESS_MAX_FAILURES))
        return keys

    def locked(self, name: str, address: str | None, now: datetime) -> bool:
        with self.sessions() as db:
            for key, _ in self._keys(name, address):
                row = db.get(LoginFailure, key)
                if row is not None and row.locked_until is not None and now < row.locked_until:
                    return True
        return False

    def failed(self, name: str, address: str | None, now: datetime) -> None:
        for key, limit in self._keys(name, address):
            for _ in range(3):  # two workers counting the same key at once: once more
                try:
                    with self.sessions() as db, db.begin():
                        self._count(db, key, limit, now)
                    break
                except IntegrityError:
                    continue
        with self.sessions() as db, db.begin():  # streaks and locks that are over
            db.execute(delete(LoginFailure).where(
                LoginFailure.last_at < now - self.lockout,
                or_(LoginFailure.locked_until.is_(None), LoginFailure.locked_until < now)))

    def _count(self, db, key: str, limit: int, now: datetime) -> None:
        row = db.get(LoginFailure, key, with_for_update=True)
        if row is None:
            row = LoginFailure(key=key, failures=0, last_at=now)
            db.add(row)
        expired = row.locked_until is not None and now >= row.locked_until
        if expired or now - row.last_at > self.lockout:
            row.failures, row.locked_until = 0, None  # the lock (or an old streak) is over
        row.failures += 1
        row.last_at = now
        if row.failures >= limit:
            row.locked_until = now + self.lockout

    def succeeded(self, name: str) -> None:
        """The name's count is cleared; the address's stays (it may be guessing others)."""
        [(key, _)] = self._keys(name, None)
        with self.sessions() as db, db.begin():
            db.execute(delete(LoginFailure).where(LoginFailure.key == key))


@click.command("dashboard-user")
@click.argument("name")
@click.argument("role", type=click.Choice(ROLES))
@click.option("--password", help="prompted for (twice) when not given")
def dashboard_user(name, role, password):
    """Make a dashboard account line: NAME:ROLE:HASH for HOTLINE_DASHBOARD_USERS.

    Prompts for the password; prints the line to add (accounts are separated by ';').
    Only the hash is printed, never the password."""
    if ":" in name or ";" in name or not name.strip():
        raise click.BadParameter("a name without ':' or ';'", param_hint="NAME")
    if password is None:
        # On the terminal (stderr), so `hotline dashboard-user ... > file` gets the line alone.
        password = click.prompt("Password for the dashboard", hide_input=True,
                                confirmation_prompt=True, err=True)
    if len(password) < 12:
        raise click.BadParameter("use at least 12 characters", param_hint="password")
    click.echo(f"{name.strip()}:{role}:{generate_password_hash(password)}")
