"""Sealing what an open conversation needs, under keys that can be destroyed.

Every sealed value names its own key, kept in the key store (hotline/keystore.py),
never in the database: the texter's number under its conversation's key, destroyed
when the conversation closes; each batch of queued texts under a key of its own,
destroyed once no queued row needs it. A copy of the database taken earlier (a
backup, a dead PostgreSQL row, an old WAL page) then holds ciphertext whose key no
longer exists anywhere (crypto-shredding; README "Privacy").

The lookup tag that finds a conversation by number is an HMAC under a lookup key that
the clock replaces at least hourly (records/shredding.py): it re-tags the open
conversations and destroys the old key, so a tag left in a copy cannot be matched to a
number an hour later.

HOTLINE_SECRET_KEY (the environment, shared by every process) wraps each stored key,
so the key store alone opens nothing either. When it is absent, create_app falls back
to a secret generated once into the instance folder (dev and tests).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import threading
import time
from datetime import timedelta
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

log = logging.getLogger(__name__)

MARK = b"k1:"  # a sealed value: MARK + key name + ":" + Fernet token
CONVERSATION, TEXTS, LOOKUP, CALLOUT = "conv", "text", "lookup", "callout"
# Texts staged this close together share their batch key. The sweep destroys a batch key
# only once it is GRACE (2 min) old and no row needs it, so sharing it this long keeps a
# sent text readable a few seconds more at most; one key file per text cost each new
# text a file create and an fsync (docs/benchmarks.md).
SHARE_BATCH_KEY = timedelta(seconds=5)
# How long this process trusts its list of lookup keys before listing the store again.
# Another process's new lookup key is used GRACE later at the earliest, and an old one
# is destroyed only after that (records/shredding.py), so a second's lag changes nothing.
LOOKUP_KEYS_FOR = 1.0


class Shredded(InvalidToken):
    """The value's key was destroyed: what it sealed is gone for good."""


def _derive(secret: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"hotline-text-line",
                info=purpose).derive(secret)


class Vault:
    def __init__(self, secret: str, store, clock):
        if len(secret) < 16:
            raise RuntimeError("HOTLINE_SECRET_KEY is too short; use at least 32 random characters")
        raw = secret.encode()
        self.store, self.clock = store, clock
        self._wrap = Fernet(base64.urlsafe_b64encode(_derive(raw, b"key-wrap")))
        # Rows sealed before keys were shredded (one release): readable until they close.
        self._legacy = Fernet(base64.urlsafe_b64encode(_derive(raw, b"fernet")))
        self._legacy_mac = _derive(raw, b"lookup-hmac")
        self._lock = threading.Lock()
        self._batch: tuple | None = None  # (name, made at, sealer) of the shared batch key
        self._lookups: tuple | None = None  # (listed at, [(name, key)] newest first)

    # -- keys ---------------------------------------------------------------------
    def new_key(self, kind: str) -> str:
        return self._new(kind)[0]

    def _new(self, kind: str) -> tuple[str, bytes]:
        name, key = f"{kind}-{os.urandom(12).hex()}", os.urandom(32)
        self.store.put(name, self._wrap.encrypt(key), self.clock())
        if kind == LOOKUP:
            self._lookups = None
        return name, key

    def _key(self, name: str) -> bytes:
        wrapped = self.store.get(name)
        if wrapped is None:
            raise Shredded(name)
        return self._wrap.decrypt(wrapped)

    def destroy(self, name: str) -> None:
        self.store.destroy(name)
        if name.startswith(LOOKUP + "-"):
            self._lookups = None
        batch = self._batch
        if batch is not None and batch[0] == name:
            self._batch = None

    # -- sealing ------------------------------------------------------------------
    def new_sealer(self, kind: str):
        """A new key's name and its sealer, without reading back the key just stored."""
        name, key = self._new(kind)
        return name, _sealer(name, key)

    def batch_sealer(self):
        """The sealer for queued texts: under the batch key this process made less than
        SHARE_BATCH_KEY ago (by the router's clock), else under a new one."""
        now = self.clock()
        with self._lock:
            batch = self._batch
            if batch is None or not timedelta(0) <= now - batch[1] < SHARE_BATCH_KEY:
                name, seal = self.new_sealer(TEXTS)
                self._batch = batch = (name, now, seal)
        return batch[2]

    def open(self, token: bytes) -> str:
        return self.opener()(token)

    def opener(self):
        """`open` for a batch of values (the sender's claim): each key is read from the
        store and unwrapped once, not once a value; the batch's rows share a few keys."""
        fernets: dict[str, Fernet] = {}

        def open_(token: bytes) -> str:
            token = bytes(token)
            name = key_of(token)
            if name is None:
                return self._legacy.decrypt(token).decode()
            if name not in fernets:
                fernets[name] = Fernet(base64.urlsafe_b64encode(self._key(name)))
            return fernets[name].decrypt(token[len(MARK) + len(name) + 1:]).decode()
        return open_

    # -- finding a conversation by number --------------------------------------------
    def lookup(self, number: str) -> str:
        """The tag a new conversation is stored under: the newest lookup key's."""
        keys = self._lookup_keys()
        if not keys:
            name, key = self._new(LOOKUP)
            keys = [(name, key)]
        return _tag(*keys[0], number)

    def lookups(self, number: str) -> list[str]:
        """Every tag this number may be stored under right now."""
        tags = [_tag(name, key, number) for name, key in self._lookup_keys()]
        return tags + [hmac.new(self._legacy_mac, number.encode(), hashlib.sha256).hexdigest()]

    def _lookup_keys(self) -> list[tuple[str, bytes]]:
        """The lookup keys, newest first, listed and unwrapped at most once a
        LOOKUP_KEYS_FOR: every text asks for them twice."""
        cached = self._lookups
        if cached is not None and time.monotonic() - cached[0] < LOOKUP_KEYS_FOR:
            return cached[1]
        listed_at, keys = time.monotonic(), []
        for name in self.lookup_keys():
            try:
                keys.append((name, self._key(name)))
            except InvalidToken:  # destroyed meanwhile, or wrapped under an older secret
                continue
        self._lookups = (listed_at, keys)
        return keys

    def lookup_keys(self, names: dict | None = None) -> list[str]:
        names = self.store.names(LOOKUP + "-") if names is None else names
        return sorted((n for n in names if n.startswith(LOOKUP + "-")),
                      key=lambda n: (names[n], n), reverse=True)


def _tag(name: str, key: bytes, number: str) -> str:
    digest = hmac.new(key, number.encode(), hashlib.sha256).hexdigest()
    return f"{tag_key(name)}:{digest[:52]}"  # fits the 64-character column


def _sealer(name: str, key: bytes):
    """Seals many values under one key (a batch of queued texts seals two or three a row)."""
    fernet, prefix = Fernet(base64.urlsafe_b64encode(key)), MARK + name.encode() + b":"
    return lambda text: prefix + fernet.encrypt(text.encode())


def key_of(token: bytes) -> str | None:
    """The name of the key a sealed value needs (None: sealed the old way)."""
    token = bytes(token)
    if not token.startswith(MARK):
        return None
    return token[len(MARK):].split(b":", 1)[0].decode()


def tag_key(name: str) -> str:
    """The part of a lookup key's name that prefixes its tags."""
    return name.removeprefix(LOOKUP + "-")[:8]


def instance_secret(instance: Path) -> str:
    """The dev/test fallback: a random secret kept in the instance folder (mode 0600)."""
    path = instance / "secret.key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(base64.urlsafe_b64encode(os.urandom(32)).decode())
    log.warning("HOTLINE_SECRET_KEY is not set: generated one in the instance folder. "
                "Set it explicitly in production so every process shares it.")
    return path.read_text().strip()
