"""A texter's words that never reached the peer who has their conversation.

Each part relayed to the owning peer is sent as a tracked notice (Notice row, the
`attempt` RELAY_ATTEMPT), so its status callback or Twilio's refusal at send time
can tell both sides: the texter that their last message did not arrive and what to
do now, the peer that something from their texter is missing. The body is never
kept to do this: the texter is asked to send it again. A notice's status only
moves forward (text/webhooks.py), so a repeated callback tells nobody twice.

Only the owner's relay is tracked: while nobody has the conversation the texter's
words go to several peers at once, and one phone missing a copy is not a message
lost (an unreachable step is escalated instead).
"""
from __future__ import annotations

import logging
from hotline.rotation.model import Config
from hotline.store import Conversation, Notice
from hotline.text.outbox import Text

log = logging.getLogger(__name__)

# Outbox/Notice `attempt` of a texter's words relayed to their peer: apart from the
# escalation's steps (0 up, the clinician round -3) and a clinician's page (-1).
RELAY_ATTEMPT = -2
# One GSM-7 segment: no character here needs UCS-2.
TO_TEXTER = ("Your last message did not reach your peer; we are telling them. Please send "
             "it again or call this number. 988 is there any time; emergency: 911.")


def to_peer(code: int) -> str:
    return (f"#{code}: a message from your texter did not reach your phone. They have been "
            "told; ask them to send it again.")


def relay(config: Config, conv: Conversation, parts: list[str], out: list[Text]) -> None:
    """The texter's words (in parts) to the peer who has the conversation, tracked."""
    phone = config.person(conv.owner).phone
    for part in parts:
        out.append(Text(phone, part, urgent=conv.urgent, conversation_id=conv.id,
                        peer_id=conv.owner, attempt=RELAY_ATTEMPT))


def is_relay(text_or_notice: Text | Notice) -> bool:
    return text_or_notice.attempt == RELAY_ATTEMPT and text_or_notice.peer_id is not None


def tell_both(app, db, config: Config, conversation_id: int | None, peer_id: str,
              out: list[Text]) -> None:
    """Inside a transaction: the texter's note, and the peer's if they still have the
    conversation. Neither is tracked as a relay, so a failure here cannot loop."""
    conv = db.get(Conversation, conversation_id) if conversation_id is not None else None
    if conv is None or conv.closed:
        return  # closed meanwhile: the texter's number is gone, nobody to tell
    texter = app.extensions["hotline.vault"].open(conv.texter_enc)
    out.append(Text(texter, TO_TEXTER, urgent=conv.urgent, conversation_id=conv.id,
                    to_texter=True))
    if conv.owner == peer_id:
        try:
            phone = config.person(peer_id).phone
        except KeyError:  # left the rotation file meanwhile
            phone = None
        if phone:
            out.append(Text(phone, to_peer(conv.code), urgent=conv.urgent,
                            conversation_id=conv.id))
    log.info("text #%s: a relayed message did not reach its peer; both told", conv.code)


def notes_for_refused(app, refused: list[Text]) -> list[Text]:
    """The notes to send when Twilio refused relays at send time (too long, a bad
    number, the peer's STOP): the caller sends them, untracked."""
    # The parts of one long text are refused together: one note per conversation.
    relays = list({t.conversation_id: t for t in refused if is_relay(t)}.values())
    if not relays:
        return []
    config = app.extensions["hotline.rotation"].current().config
    notes: list[Text] = []
    with app.extensions["hotline.sessions"]() as db:
        for t in relays:
            tell_both(app, db, config, t.conversation_id, t.peer_id, notes)
    return notes
