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

from dataclasses import replace
from pathlib import Path

import yaml

from hotline.rotation.model import (CalloutSettings, Clinical, Config, MenuOption, Reminders,
                                    Services, SmsSettings, VoiceSettings)
from hotline.rotation.reader.callout import read_callout
from hotline.rotation.reader.clinical import read_clinical
from hotline.rotation.reader.notices import read_coordinators, read_reminders
from hotline.rotation.reader.escalation import read_escalation
from hotline.rotation.reader.nodes import ConfigError, NodeReader, Problem
from hotline.rotation.reader.people import read_peers, read_person, read_program, read_unique_numbers
from hotline.rotation.reader.rotations import read_overrides, read_rotations
from hotline.rotation.reader.services import check_menu_needs, read_services
from hotline.rotation.reader.settings import read_sms, read_voice
from hotline.rotation.reader.yaml_hints import explain

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
        raise ConfigError([Problem(filename, line, col, explain(exc))])
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
                       ("overrides", "voice", "sms", "callout", "services", "clinical",
                        "coordinators", "reminders"))
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
    callout = read_callout(r, top["callout"], peers) if "callout" in top else CalloutSettings()
    services = read_services(r, top["services"]) if "services" in top else Services()
    if voice is not None and services is not None and voice.menu:
        menu_node = next(v for k, v in top["voice"].value if k.value == "menu")
        check_menu_needs(r, menu_node, voice, services)
    clinical = read_clinical(r, top["clinical"], peers) if "clinical" in top else Clinical()
    if clinical is not None:
        everyone = {**peers, **{p.id: p for p in clinical.people}}
        read_unique_numbers(r, program, director, everyone)
    if voice is not None and clinical is not None and clinical.menu_digit:
        voice = with_clinician_choice(r, top["clinical"], voice, clinical)
    coordinators = read_coordinators(r, top["coordinators"]) if "coordinators" in top else ()
    reminders = read_reminders(r, top["reminders"]) if "reminders" in top else Reminders()
    if r.problems or None in (program, director, escalation, voice, sms, callout, services,
                              clinical, reminders):
        return None
    return Config(program=program, clinical_director=director, peers=peers,
                  rotations=rotations, overrides=overrides, escalation=escalation,
                  source=r.filename, voice=voice, sms=sms, callout=callout, services=services,
                  clinical=clinical, coordinators=coordinators, reminders=reminders)


def with_clinician_choice(r: NodeReader, node, voice: VoiceSettings,
                          clinical: Clinical) -> VoiceSettings:
    """The caller's "press 9 for the clinician" joins the voice menu, after the others."""
    if any(o.digit == clinical.menu_digit for o in voice.menu):
        r.error(node, f"clinical menu digit {clinical.menu_digit} is already a voice menu "
                "digit; choose another")
        return voice
    option = MenuOption(digit=clinical.menu_digit, key="clinician", say=clinical.menu_say,
                        label=clinical.title, clinician=True)
    prompt = " ".join(p for p in (voice.menu_prompt, clinical.menu_say) if p)
    return replace(voice, menu=voice.menu + (option,), menu_prompt=prompt)
