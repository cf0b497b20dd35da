"""Acting on a texter's choice (hotline/text/texter_menu.py parses it): answer a
request for resources or the office without opening a conversation, word the first
reply, and steer a conversation already waiting for a peer.
"""
from __future__ import annotations

from datetime import datetime

from hotline.routing import PREFERENCE_ROUND, Contact, Ring, next_ring
from hotline.records.requests import request_event
from hotline.store import Conversation
from hotline.text import conversations as tx
from hotline.text import texter_menu
from hotline.text.outbox import Text


def answer_request(db, config, choice: texter_menu.Choice | None, now: datetime,
                   replies: list[str]) -> bool:
    """INFO or the office: answered at once, nobody paged, no number kept; only an
    anonymous count of the request. False if the choice is not such a request."""
    if choice is None or choice.option.kind not in ("resources", "office"):
        return False
    replies.append(texter_menu.resources_text(config) if choice.option.kind == "resources"
                   else texter_menu.office_text(config, now))
    db.add(request_event(config, "text", choice.option, now))
    return True


def first_reply(config, choice: texter_menu.Choice | None) -> str:
    """The welcome; then the menu (nothing chosen yet) or the chosen option's words."""
    welcome = config.sms.welcome
    if choice is not None and choice.option.kind == "ask":
        return f"{welcome} {texter_menu.ask_reply(config, choice)}"
    if texter_menu.applies(config, choice):
        return f"{welcome} {choice.option.reply}".strip()
    prompt = texter_menu.menu_prompt(config)
    return f"{welcome} {prompt}".strip()


def choose_later(app, loaded, conv: Conversation, texter: str, choice: texter_menu.Choice,
                 now: datetime, out: list[Text], replies: list[str]) -> bool:
    """A choice texted while nobody has the conversation yet (and none was made): the
    peers already told hear what was asked for, and the preference round's peers not
    yet told get a notice now, as part of the current step. False: not a choice here."""
    config = loaded.config
    if conv.owner or conv.preference or conv.asked_for:
        return False
    if choice.option.kind == "ask":
        replies.append(texter_menu.ask_reply(config, choice))
    if not texter_menu.applies(config, choice):
        return choice.option.kind == "ask"  # answered; nothing more to steer
    conv.preference, conv.asked_for = texter_menu.chosen(config, choice)
    option, c = choice.option, conv.code
    if choice.option.kind != "ask":
        replies.append(option.reply or f"OK, we are finding you a peer: {option.label}.")
    for pid in tx.notified(conv, current_only=True):
        label = texter_menu.tag(option, conv.asked_for, pid).strip() or f"({option.label})"
        out.append(Text(config.person(pid).phone, f"#{c} {label}: the texter chose this."
                        f"{' ' + choice.rest if choice.rest else ''}", urgent=conv.urgent,
                        conversation_id=conv.id))
    contact = Contact(started_at=conv.started_at, caller=texter, next_attempt=PREFERENCE_ROUND,
                      tried=tuple((a, p) for a, p in conv.tried), preference=option,
                      asked_for=conv.asked_for)
    decision = next_ring(config, loaded.schedule, contact, frozenset(), now)
    if not isinstance(decision, Ring) or decision.attempt != PREFERENCE_ROUND:
        return True  # everyone who fits has been told already
    notice = (f"Peer line #{c}: a texter is waiting for a peer. "
              f"{choice.rest + ' ' if choice.rest else ''}- reply YES to take #{c}")
    conv.tried = conv.tried + [[conv.attempt, p.id] for p in decision.people]
    if conv.escalate_at is not None:  # the new peers get a step's wait to answer
        conv.escalate_at = max(conv.escalate_at, now + decision.wait)
    for p in decision.people:
        out.append(Text(p.phone, texter_menu.tagged(notice, c, option, conv.asked_for, p.id),
                        urgent=conv.urgent, conversation_id=conv.id, peer_id=p.id,
                        attempt=conv.attempt))
    return True
