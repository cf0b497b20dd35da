"""Where the keys of open conversations live: never in the database they unlock.

A dead row, a WAL page or a backup of the database brings back ciphertext, never a
key; destroying a key therefore forgets everything sealed under it, wherever copies
of the ciphertext went (crypto-shredding, README "Privacy"). Two stores:

- `FileKeyStore`: one file per key in the instance folder (`keys/`, mode 0700, files
  0600), overwritten before unlink. For a single host (`make run`, one VM).
- `RedisKeyStore` (HOTLINE_KEYSTORE_URL=redis://...): shared by the web workers and
  the clock on several hosts. Run that Redis without persistence (no RDB, no AOF), so
  a key it deletes exists nowhere; docs/deploying.md says what a restart costs.

The store keeps opaque bytes (crypto.Vault wraps every key under HOTLINE_SECRET_KEY
first) and when each was made, which the clock's sweep needs to tell a key whose
transaction is still in flight from an orphan.
"""
from __future__ import annotations

import os
import re
from datetime import datetime, timezone
from pathlib import Path

_NAME = re.compile(r"[a-z]+-[0-9a-f]{8,64}")
LOOKUP_DIR = "lookup"  # crypto.LOOKUP: the lookup-hash keys live in a folder of their own


def _check(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise ValueError(f"bad key name {name!r}")
    return name


def _encode(value: bytes, created: datetime) -> bytes:
    return f"{created.timestamp():.3f}\n".encode() + value


def _decode(raw: bytes) -> tuple[datetime, bytes]:
    stamp, _, value = raw.partition(b"\n")
    return datetime.fromtimestamp(float(stamp), timezone.utc), value


class FileKeyStore:
    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)
        # Every text asks for the few lookup keys; beside one file per open conversation,
        # listing them all would cost each text time in proportion to the open ones.
        self.lookup = self.folder / LOOKUP_DIR
        self.lookup.mkdir(mode=0o700, exist_ok=True)
        os.chmod(self.lookup, 0o700)
        for name in os.listdir(self.folder):  # an instance from before the subfolder
            if name.startswith(LOOKUP_DIR + "-"):
                try:
                    os.rename(self.folder / name, self.lookup / name)
                except FileNotFoundError:
                    pass  # another process moved it first

    def _path(self, name: str) -> Path:
        _check(name)
        return (self.lookup if name.startswith(LOOKUP_DIR + "-") else self.folder) / name

    def put(self, name: str, value: bytes, created: datetime) -> None:
        path = self._path(name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(_encode(value, created))
            fh.flush()
            os.fsync(fh.fileno())

    def get(self, name: str) -> bytes | None:
        try:
            return _decode(self._path(name).read_bytes())[1]
        except (FileNotFoundError, ValueError):
            return None

    def destroy(self, name: str) -> None:
        """Overwrite, sync, then unlink: on most file systems the old blocks no longer
        hold the key (journaling or copy-on-write ones may keep a copy; README)."""
        path = self._path(name)
        try:
            with open(path, "r+b") as fh:
                size = os.fstat(fh.fileno()).st_size
                fh.write(os.urandom(size))
                fh.flush()
                os.fsync(fh.fileno())
            path.unlink()
        except FileNotFoundError:
            pass

    def names(self, prefix: str = "") -> dict[str, datetime]:
        """{name: when made} of the keys whose names start with `prefix`."""
        found = {}
        folders = [self.lookup] if prefix.startswith(LOOKUP_DIR + "-") else (
            [self.folder] if prefix else [self.folder, self.lookup])
        for folder in folders:
            with os.scandir(folder) as entries:
                names = [e.name for e in entries if e.name.startswith(prefix) and e.is_file()]
            for name in names:
                if _NAME.fullmatch(name):
                    try:
                        found[name] = _decode((folder / name).read_bytes())[0]
                    except (FileNotFoundError, ValueError):
                        continue  # destroyed meanwhile, or half written: not a key
        return found


class RedisKeyStore:
    def __init__(self, url: str):
        import redis  # only deployments with several hosts need it

        # "redis://host:6379/0#name" keeps this line's keys apart from another's.
        url, _, namespace = url.partition("#")
        self.PREFIX = f"hotline:{namespace or 'key'}:"
        # Short timeouts: a webhook must still answer within Twilio's 15 s.
        self.redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)

    def put(self, name: str, value: bytes, created: datetime) -> None:
        if not self.redis.set(self.PREFIX + _check(name), _encode(value, created), nx=True):
            raise FileExistsError(name)

    def get(self, name: str) -> bytes | None:
        raw = self.redis.get(self.PREFIX + _check(name))
        return None if raw is None else _decode(raw)[1]

    def destroy(self, name: str) -> None:
        self.redis.delete(self.PREFIX + _check(name))

    def names(self, prefix: str = "") -> dict[str, datetime]:
        found = {}
        for key in self.redis.scan_iter(match=self.PREFIX + prefix + "*", count=500):
            name = key.decode().removeprefix(self.PREFIX)
            raw = self.redis.get(key)
            if raw is not None and _NAME.fullmatch(name):
                found[name] = _decode(raw)[0]
        return found


def open_store(url: str | None, instance: Path):
    """HOTLINE_KEYSTORE_URL: unset or file:... for the instance folder, redis://... shared."""
    if url and url.startswith(("redis://", "rediss://", "unix://")):
        return RedisKeyStore(url)
    if url and url.startswith("file:"):
        return FileKeyStore(Path(url.removeprefix("file:").removeprefix("//")))
    return FileKeyStore(instance / "keys")
