"""Keys for the texter's number: Fernet to store it, a keyed hash to find it.

Both keys are derived from HOTLINE_SECRET_KEY with HKDF (one secret to manage,
two independent keys). When the setting is absent, create_app falls back to a
key generated once into the instance folder (dev and tests); production sets
HOTLINE_SECRET_KEY so the web workers and the clock process share it.
Losing the key only loses open conversations: closed ones left nothing behind.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
from pathlib import Path

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

log = logging.getLogger(__name__)


def _derive(secret: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"hotline-text-line",
                info=purpose).derive(secret)


class Vault:
    def __init__(self, secret: str):
        if len(secret) < 16:
            raise RuntimeError("HOTLINE_SECRET_KEY is too short; use at least 32 random characters")
        raw = secret.encode()
        self._fernet = Fernet(base64.urlsafe_b64encode(_derive(raw, b"fernet")))
        self._mac = _derive(raw, b"lookup-hmac")

    def seal(self, text: str) -> bytes:
        return self._fernet.encrypt(text.encode())

    def open(self, token: bytes) -> str:
        return self._fernet.decrypt(bytes(token)).decode()

    def lookup(self, number: str) -> str:
        """Same number, same hash: finds an open conversation without storing the number."""
        return hmac.new(self._mac, number.encode(), hashlib.sha256).hexdigest()


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
