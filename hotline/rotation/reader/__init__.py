"""Read and validate the rotation file.

Coordinators edit this file by hand, often in a hurry. So every problem is
reported with file, line, column and what to do, all problems at once, and
nothing is half-applied: `load` either returns a complete `Config` or raises
`ConfigError`.

Scalars are read from their source text rather than through YAML's implicit
typing, because YAML 1.1 turns `18:00` into the number 1080 and `no` into
False. Messages never repeat a phone number: they end up in logs.
"""
from __future__ import annotations

from pathlib import Path

import yaml

from hotline.rotation.model import Config, Reminders, SmsSettings, VoiceSettings
from hotline.rotation.reader.notices import read_coordinators, read_reminders
from hotline.rotation.reader.escalation import read_escalation
from hotline.rotation.reader.nodes import ConfigError, NodeReader, Problem
from hotline.rotation.reader.people import read_peers, read_person, read_program, read_unique_numbers
from hotline.rotation.reader.rotations import read_overrides, read_rotations
from hotline.rotation.reader.settings import read_sms, read_voice

__all__ = ["ConfigError", "Problem", "load", "parse"]


def load(path: str | Path) -> Config:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([Problem(str(path), 0, 0, f"cannot read the file: {exc.strerror}")])
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[:exc.start].count(b"\n") + 1
        raise ConfigError([Problem(str(path), line, 0, "the file is not UTF-8 text; save it "
                                   "as UTF-8 in your editor")])
    return parse(text, str(path))


def parse(text: str, filename: str = "<config>") -> Config:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        reason = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([Problem(filename, line, col,
                                   f"not valid YAML ({reason}); check indentation and quotes")])
    reader = NodeReader(filename)
    config = read_config(reader, root)
    if reader.problems or config is None:
        raise ConfigError(sorted(reader.problems, key=lambda p: (p.line, p.column)))
    return config


def read_config(r: NodeReader, root) -> Config | None:
    if root is None:
        r.error(None, "the file is empty; start from config/rotation.yaml in the repository")
        return None
    top = r.mapping(root, "the rotation file",
                       ("program", "clinical_director", "peers", "rotations", "escalation"),
                       ("overrides", "voice", "sms", "coordinators", "reminders"))
    if top is None:
        return None
    program = read_program(r, top.get("program"))
    director = read_person(r, top.get("clinical_director"), "clinical_director", director=True)
    peers = read_peers(r, top.get("peers"))
    rotations = read_rotations(r, top.get("rotations"), peers)
    if isinstance(top.get("rotations"), yaml.MappingNode):
        r.declared = {k.value for k, _ in top["rotations"].value}
    overrides = read_overrides(r, top.get("overrides"), peers, rotations)
    escalation = read_escalation(r, top.get("escalation"), peers, rotations)
    voice = read_voice(r, top["voice"]) if "voice" in top else VoiceSettings()
    sms = read_sms(r, top["sms"]) if "sms" in top else SmsSettings()
    coordinators = read_coordinators(r, top["coordinators"]) if "coordinators" in top else ()
    reminders = read_reminders(r, top["reminders"]) if "reminders" in top else Reminders()
    read_unique_numbers(r, program, director, peers)
    if r.problems or None in (program, director, escalation, voice, sms, reminders):
        return None
    return Config(program=program, clinical_director=director, peers=peers,
                  rotations=rotations, overrides=overrides, escalation=escalation,
                  source=r.filename, voice=voice, sms=sms, coordinators=coordinators,
                  reminders=reminders)
