"""What callers and texters hear: the voice and sms wording, and the voice menu."""
from __future__ import annotations

import yaml

from hotline.rotation.model import (BRIDGE_MODES, MENU_KINDS, PICTURE_MODES, MenuOption, SmsSettings,
                                    VoiceSettings)
from hotline.rotation.reader.nodes import NodeReader


def read_voice(r: NodeReader, node) -> VoiceSettings | None:
    texts = ("greeting", "menu_prompt", "whisper", "hold", "goodbye", "voice", "language")
    m = r.mapping(node, "voice", (), texts + ("menu", "voicemail", "bridge"))
    if m is None:
        return None
    values: dict = {k: r.text(m[k], f"voice {k}") for k in texts if k in m}
    if "voicemail" in m:
        flag = (r.text(m["voicemail"], "voice voicemail") or "").lower()
        if flag not in ("true", "false", "yes", "no", "on", "off"):
            r.error(m["voicemail"], "voicemail should be true or false")
        values["voicemail"] = flag in ("true", "yes", "on")
    if "bridge" in m:
        mode = (r.text(m["bridge"], "voice bridge") or "").lower()
        if mode not in BRIDGE_MODES:
            r.error(m["bridge"], "voice bridge should be direct or conference (direct: the peer "
                    "is dialled straight to the caller; conference: caller and peer meet in a "
                    "conference a clinician can join as a coach)")
            return None
        values["bridge"] = mode
    if "menu" in m:
        values["menu"] = read_menu(r, m["menu"])
        if values["menu"] and "menu_prompt" not in values:
            values["menu_prompt"] = " ".join(o.say for o in values["menu"])
    if any(v is None for v in values.values()):
        return None
    return VoiceSettings(**values)


def read_sms(r: NodeReader, node) -> SmsSettings | None:
    texts = ("welcome", "urgent", "joined", "fallback", "new_peer", "calling", "closed",
             "idle_closed", "menu_prompt", "no_pictures", "pictures_relayed")
    m = r.mapping(node, "sms", (), texts + ("urgent_phrases", "pictures"))
    if m is None:
        return None
    values: dict = {k: r.text(m[k], f"sms {k}") for k in texts if k in m}
    if "urgent_phrases" in m:
        phrases = tuple(v.lower() for v, _ in r.names(m["urgent_phrases"], "urgent_phrases"))
        if not phrases:
            r.error(m["urgent_phrases"], "urgent_phrases should list at least one phrase")
            return None
        values["urgent_phrases"] = phrases
    if "pictures" in m:
        mode = (r.text(m["pictures"], "sms pictures") or "").lower()
        if mode not in PICTURE_MODES:
            r.error(m["pictures"], f"sms pictures should be {' or '.join(PICTURE_MODES)} "
                    f"(refuse: texters are told pictures are not passed on; relay: passed "
                    f"to the peer, then deleted at Twilio)")
            return None
        values["pictures"] = mode
    if any(v is None for v in values.values()):
        return None
    return SmsSettings(**values)


def read_menu(r: NodeReader, node) -> tuple[MenuOption, ...]:
    if not isinstance(node, yaml.SequenceNode):
        r.error(node, "voice menu should be a list of '- {digit: 2, key: ..., say: ...}' lines")
        return ()
    options = []
    for item in node.value:
        m = r.mapping(item, "a voice menu option", ("digit", "key", "say"),
                         ("languages", "tags", "kind", "label", "reply"))
        if m is None or len(m) < 3:
            continue
        digit = r.text(m["digit"], "menu digit")
        if digit not in tuple("23456789"):
            r.error(m["digit"], "menu digit should be one of 2-9 (1 is kept for peers)")
            continue
        if any(o.digit == digit for o in options):
            r.error(m["digit"], f"menu digit {digit} is used twice")
            continue
        langs = tuple(v.lower() for v, _ in r.names(m["languages"], "languages")) if "languages" in m else ()
        tags = tuple(v.lower() for v, _ in r.names(m["tags"], "tags")) if "tags" in m else ()
        kind = (r.text(m["kind"], "menu kind") or "").lower() if "kind" in m else "peer"
        if kind not in MENU_KINDS:
            r.error(m["kind"], f"unknown menu kind '{kind}'; use one of {', '.join(MENU_KINDS)}")
            continue
        if kind == "family" and not tags:
            tags = ("family",)  # peers tagged for family support come first
        if kind == "peer" and not langs and not tags:
            r.error(item, "a menu option needs languages or tags to prefer (or a kind: "
                    "family, concern, ask, resources or office)")
            continue
        key = r.text(m["key"], "menu key") or digit
        label = r.text(m["label"], "menu label") if "label" in m else None
        reply = r.text(m["reply"], "menu reply") if "reply" in m else DEFAULT_REPLIES.get(kind)
        options.append(MenuOption(digit=digit, key=key, say=r.text(m["say"], "menu say") or "",
                                  languages=langs, tags=tags, kind=kind,
                                  label=label or DEFAULT_LABELS.get(kind, key),
                                  reply=reply or ""))
    return tuple(options)


# What the peer's notice and whisper say was asked for, and what the texter or caller is
# told once they chose, unless the file says otherwise. Short: texts and a whisper.
DEFAULT_LABELS = {"family": "family member", "concern": "concern about a colleague",
                  "ask": "a peer by name", "resources": "resources",
                  "office": "program office"}
DEFAULT_REPLIES = {
    "family": ("Thank you for reaching out. Families are part of this program: a peer who "
               "supports police families will be with you shortly."),
    "concern": ("Thank you for looking out for a colleague. A peer will be with you shortly. "
                "You do not need to give their name."),
}
