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
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

log = logging.getLogger(__name__)

MARK = b"k1:"  # a sealed value: MARK + key name + ":" + Fernet token
CONVERSATION, TEXTS, LOOKUP, CALLOUT = "conv", "text", "lookup", "callout"


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

    # -- keys ---------------------------------------------------------------------
    def new_key(self, kind: str) -> str:
        name = f"{kind}-{os.urandom(12).hex()}"
        self.store.put(name, self._wrap.encrypt(os.urandom(32)), self.clock())
        return name

    def _key(self, name: str) -> bytes:
        wrapped = self.store.get(name)
        if wrapped is None:
            raise Shredded(name)
        return self._wrap.decrypt(wrapped)

    def destroy(self, name: str) -> None:
        self.store.destroy(name)

    # -- sealing ------------------------------------------------------------------
    def seal(self, text: str, key: str) -> bytes:
        return self.sealer(key)(text)

    def sealer(self, key: str):
        """Seals many values under one key with one read of the key store (a batch of
        queued texts seals two or three values a row)."""
        fernet, prefix = Fernet(base64.urlsafe_b64encode(self._key(key))), MARK + key.encode() + b":"
        return lambda text: prefix + fernet.encrypt(text.encode())

    def open(self, token: bytes) -> str:
        token = bytes(token)
        name = key_of(token)
        if name is None:
            return self._legacy.decrypt(token).decode()
        fernet = Fernet(base64.urlsafe_b64encode(self._key(name)))
        return fernet.decrypt(token[len(MARK) + len(name) + 1:]).decode()

    # -- finding a conversation by number --------------------------------------------
    def lookup(self, number: str) -> str:
        """The tag a new conversation is stored under: the newest lookup key's."""
        for name in self.lookup_keys():
            try:
                return self._tag(name, number)
            except InvalidToken:  # destroyed meanwhile, or wrapped under an older secret
                continue
        return self._tag(self.new_key(LOOKUP), number)

    def lookups(self, number: str) -> list[str]:
        """Every tag this number may be stored under right now."""
        tags = []
        for name in self.lookup_keys():
            try:
                tags.append(self._tag(name, number))
            except InvalidToken:
                continue  # replaced meanwhile, or wrapped under an older secret
        return tags + [hmac.new(self._legacy_mac, number.encode(), hashlib.sha256).hexdigest()]

    def lookup_keys(self, names: dict | None = None) -> list[str]:
        names = self.store.names(LOOKUP + "-") if names is None else names
        return sorted((n for n in names if n.startswith(LOOKUP + "-")),
                      key=lambda n: (names[n], n), reverse=True)

    def _tag(self, name: str, number: str) -> str:
        digest = hmac.new(self._key(name), number.encode(), hashlib.sha256).hexdigest()
        return f"{tag_key(name)}:{digest[:52]}"  # fits the 64-character column


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
