"""Dashboard accounts: who may log in, and how hard they may guess.

Accounts come from HOTLINE_DASHBOARD_USERS, one `name:role:hash` per account,
separated by `;`. The hash is a werkzeug.security password hash, made with
`hotline dashboard-user NAME ROLE` (it prompts for the password twice and
prints the line to paste). Passwords are never stored or accepted in clear.

A malformed entry is logged and skipped, never fatal: a typo in the dashboard
accounts must not stop the phone line from starting.

Failed logins are limited per account name (any name, so the limit does not
reveal which accounts exist): after MAX_FAILURES wrong passwords the name is
locked for LOCKOUT. The counts are kept in memory, per process: a restart
forgets them, and with several workers each worker counts on its own.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

import click
from werkzeug.security import check_password_hash, generate_password_hash

log = logging.getLogger(__name__)

ROLES = ("coordinator", "clinical_director")
ROLE_LABELS = {"coordinator": "Coordinator", "clinical_director": "Clinical director"}
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=5)
# Checked when the name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-password", method="pbkdf2:sha256:1000")
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
    ok = check_password_hash(user.password_hash if user else _DUMMY_HASH, password)
    return user if ok and user is not None else None


class LoginThrottle:
    """Per-name failure counts, in memory. MAX_FAILURES wrong passwords lock the name
    for LOCKOUT; a successful login clears it."""

    MAX_NAMES = 10_000  # a flood of made-up names cannot grow this without bound

    def __init__(self, max_failures: int = MAX_FAILURES, lockout: timedelta = LOCKOUT):
        self.max_failures = max_failures
        self.lockout = lockout
        self._lock = threading.Lock()
        self._state: dict[str, tuple[int, datetime | None, datetime]] = {}

    def locked(self, name: str, now: datetime) -> bool:
        with self._lock:
            _, until, _ = self._state.get(name.strip().lower(), (0, None, now))
            return until is not None and now < until

    def failed(self, name: str, now: datetime) -> None:
        key = name.strip().lower()
        with self._lock:
            count, until, last = self._state.get(key, (0, None, now))
            if until is not None and now >= until or now - last > self.lockout:
                count, until = 0, None  # the lock (or an old streak) has expired
            count += 1
            if count >= self.max_failures:
                until = now + self.lockout
            self._state[key] = (count, until, now)
            if len(self._state) > self.MAX_NAMES:
                self._prune(now)

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._state.pop(name.strip().lower(), None)

    def _prune(self, now: datetime) -> None:
        for key, (_, until, last) in list(self._state.items()):
            if (until is None or now >= until) and now - last > self.lockout:
                del self._state[key]
        while len(self._state) > self.MAX_NAMES:
            self._state.pop(next(iter(self._state)))


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
