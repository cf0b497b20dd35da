"""The rotation file as the running app sees it: reloaded when it changes,
never replaced by a broken edit.

A coordinator saving a typo at 3 a.m. must not take the line down, so a file
that fails validation is refused and the last good rotation keeps serving. The
last good file is also copied to the instance folder, so a process that starts
while the file is broken still knows whom to ring.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from hotline.rotation.reader import ConfigError, load
from hotline.rotation.model import Config
from hotline.schedule import Schedule

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Loaded:
    config: Config
    schedule: Schedule
    loaded_at: datetime
    origin: str  # the file it was read from


@dataclass
class Status:
    path: str
    valid: bool = False
    problems: list[str] = field(default_factory=list)
    checked_at: datetime | None = None


class NoRotation(RuntimeError):
    """Neither the rotation file nor a last good copy could be read."""


class RotationSource:
    def __init__(self, path: str | os.PathLike, last_good: str | os.PathLike | None = None,
                 check_every: float = 2.0):
        self.path = Path(path)
        self.last_good = Path(last_good) if last_good else None
        self.check_every = check_every
        self.status = Status(str(self.path))
        self._loaded: Loaded | None = None
        self._stamp: tuple[int, int] | None = None
        self._next_check = 0.0
        self._lock = threading.Lock()
        self._listeners: list = []
        self.refresh(force=True)
        if self._loaded is None and self.last_good and self.last_good.exists():
            self._load_last_good()

    def current(self) -> Loaded:
        """The rotation to route with now; re-reads the file at most every `check_every` s."""
        if time.monotonic() >= self._next_check:
            self.refresh()
        if self._loaded is None:
            raise NoRotation(f"no valid rotation: {'; '.join(self.status.problems)}")
        return self._loaded

    def on_reload(self, listener) -> None:
        """Call `listener(loaded)` after every new rotation takes effect (not the first)."""
        self._listeners.append(listener)

    @property
    def last_loaded(self) -> Loaded | None:
        return self._loaded

    def refresh(self, force: bool = False) -> bool:
        """Reload if the file changed. Returns True when a new rotation took effect."""
        with self._lock:
            self._next_check = time.monotonic() + self.check_every
            try:
                st = self.path.stat()
                stamp = (st.st_mtime_ns, st.st_size)
            except OSError:
                stamp = None
            if not force and stamp == self._stamp:
                return False
            self._stamp = stamp
            self.status.checked_at = datetime.now(timezone.utc)
            try:
                config = load(self.path)
            except ConfigError as exc:
                self.status.valid = False
                self.status.problems = [str(p) for p in exc.problems]
                # Problem texts never contain phone numbers, so they are safe to log.
                log.error("rotation file refused, still serving the last good rotation:\n%s",
                          "\n".join(self.status.problems))
                return False
            self._loaded = Loaded(config, Schedule(config), datetime.now(timezone.utc),
                                  str(self.path))
            self.status.valid = True
            self.status.problems = []
            self._save_last_good()
            log.info("rotation loaded from %s", self.path)
        for listener in self._listeners:
            try:
                listener(self._loaded)
            except Exception:  # noqa: BLE001 - an audit failure must not stop a reload
                log.exception("a rotation reload listener failed")
        return True

    def _save_last_good(self) -> None:
        if not self.last_good:
            return
        try:
            self.last_good.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.last_good.with_suffix(".tmp")
            # 0600: the file names every peer and their phone number.
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(self.path.read_bytes())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.last_good)
        except OSError as exc:
            log.warning("could not keep a copy of the last good rotation: %s", exc.strerror)

    def _load_last_good(self) -> None:
        try:
            config = load(self.last_good)
        except ConfigError:
            log.error("the last good rotation copy is unreadable too")
            return
        self._loaded = Loaded(config, Schedule(config), datetime.now(timezone.utc),
                              str(self.last_good))
        log.warning("serving the last good rotation copy until %s is fixed", self.path)


def source_of(app) -> RotationSource:
    """The app's rotation source (create_app puts it in app.extensions)."""
    return app.extensions["hotline.rotation"]
