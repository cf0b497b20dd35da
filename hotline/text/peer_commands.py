"""What a text from a peer or the clinical director means.

Commands (any case, the '#' before a code optional): YES/Y [n] takes, PASS [n]
hands on, DONE [n] closes, CALL [n] rings the peer then the texter, HELP lists
these, REVEAL n then REVEAL n CONFIRM (clinical director only, urgent or escalated
conversations: text/reveal.py) returns a texter's number; URGENT n pages the
clinician on call, CONSULT n asks them to join, ACK n acknowledges a page (clinicians).
The code may follow the word with or without a space ("YES 7", "yes7", "Y #7") or come
first ("#7 yes"). Words after "DONE #7" (with the '#') belong to the command
and are never relayed. "#n text" writes to conversation n; plain text goes to
the conversation the peer last took or wrote to.

Peers also write ordinary words to texters, so a text is read as a command only
when it cannot be a message: a code without '#' that names nothing this person
was told about ("call 911", "yes 2") is relayed to their latest conversation if
they have one; "yes" alone from an owner answers their texter unless a text is
also waiting for them, when the router asks which they meant. A peer who owns
nothing and writes something else is reaching out for support themselves and
is treated as a texter (their own phone is never notified); while that
conversation is open, their command words without a code go to it too.

Callouts (hotline/callout/): CALLOUT <message> starts one (people the file allows),
CLOSE ends it (its initiator or the clinical director), and a peer asked answers
YES, NO or YES 40 (minutes away). An answer that could also mean a conversation
(a notice waiting for them, or one they own) is not guessed: the router asks, and
CALLOUT YES 40 / YES #7 say which. `callout_text` below has the whole rule.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from flask import current_app, request
from sqlalchemy import select, update

from hotline.callout import service as callouts
from hotline.callout.tally import Answer, Close, Refusal, parse_answer, parse_command
from hotline.paging import pages
from hotline.text import consult
from hotline.availability import commands as availability
from hotline.text import conversations as tx
from hotline.rotation.model import CLINICAL_DIRECTOR, Person
from hotline.text.keywords import START_WORDS, STOP_WORDS
from hotline.text.outbox import Bridge, Text
from hotline.text import reveal as revealing
from hotline.store import Conversation
from hotline.records.workload import count_handled
from hotline.webhooks import link

# Up to 9 digits: a code never gets near that, and a longer number ("call 18005550123")
# is ordinary text, not a code too big for the database's integer column.
_WORDS = r"(yes|y|pass|done|call|help|reveal)"
_WORDS = _WORDS[:-1] + "|urgent|consult|ack)"  # clinician pages and consults (paging.py)
_END = r"[\s.!?]*"
_WORD_ALONE = re.compile(rf"\s*{_WORDS}{_END}", re.I)
_WORD_CODE = re.compile(rf"\s*{_WORDS}[\s:,.-]*(#)?\s*(\d{{1,9}})(.*)", re.I | re.S)
_CODE_WORD = re.compile(rf"\s*(#)?\s*(\d{{1,9}})[\s:,.-]*({_WORDS}{_END})", re.I)
_AFTER_HASH_CODE = re.compile(r"(?:[\s.!?,:;-]+(.*))?", re.S)
_CONFIRM = re.compile(rf"[\s:,.-]*confirm{_END}", re.I)
PREFIXED = re.compile(r"\s*#\s*(\d{1,9})\s*[:,-]?\s*(.*)", re.S)
# One text (under 320 characters, two segments): every command a peer may need at 3 a.m.
HELP = ("Peer line: YES 7 takes #7, PASS 7 hands it on, DONE 7 closes it, CALL 7 rings you, "
        "then them (the # is optional). \"#7 your text\" writes to #7; plain text goes to "
        "the one you last wrote to. URGENT 7 pages the clinician on call; CONSULT 7 asks "
        "them to join #7. OFF / ON steps you out and back; WHO, STATUS.")
MORE = "Text HELP for the commands."


@dataclass(frozen=True)
class Command:
    word: str  # yes, pass, done, call, help or reveal
    code: int | None = None
    marked: bool = False  # the code was written "#7": unmistakably a conversation code
    said: str = ""  # for "#7 yes": the words after the code, relayed if #7 is theirs
    rest: str = ""  # words after "DONE #7": part of the command, never relayed
    confirm: bool = False  # "REVEAL #7 CONFIRM" (text/reveal.py)


def parse(body: str) -> Command | None:
    """The command in a peer's text, or None when it is not one."""
    if m := _WORD_ALONE.fullmatch(body):
        return Command(_canonical(m.group(1)))
    if m := _WORD_CODE.fullmatch(body):
        word, marked, code, tail = m.groups()
        if _canonical(word) == "reveal" and _CONFIRM.fullmatch(tail):
            return Command("reveal", int(code), bool(marked), confirm=True)
        if marked:
            after = _AFTER_HASH_CODE.fullmatch(tail)
            if after is None:
                return None  # "#7thanks": not a command
            return Command(_canonical(word), int(code), True, rest=after.group(1) or "")
        if re.fullmatch(_END, tail):
            return Command(_canonical(word), int(code))
        return None  # "yes 7 years on the job" is a sentence
    if m := _CODE_WORD.fullmatch(body):
        marked, code, said, word = m.groups()
        return Command(_canonical(word), int(code), bool(marked), said=said.strip())
    return None


def _canonical(word: str) -> str:
    word = word.lower()
    return "yes" if word == "y" else word


def peer_message(db, loaded, person: Person, body: str, now: datetime, out: list[Text],
                 replies: list[str]) -> bool:
    """Handle a text from someone in the rotation. False: treat it as a texter's."""
    if " ".join(body.split()).upper() in STOP_WORDS | START_WORDS:
        # Twilio acts on these for the sender's own phone. Relayed to their texter they
        # would read as "STOP" from the peer; as a texter, their own peer must hear.
        return False
    if callout_text(db, loaded, person, body, now, out, replies):
        return True
    if loaded.config.is_clinical(person.id) and \
            consult.consultant_message(db, loaded, person, body, now, out, replies):
        return True
    # OFF, ON, BUSY, STATUS, WHO, REMIND (availability/commands.py), unless this peer is
    # texting for support themselves: then, like YES or HELP, the words are for their peer.
    if availability.is_command(loaded, body, now) and not (
            _owned(db, person) is None and _texting(db, person)):
        return availability.handle(db, loaded, person, body, now, out, replies)
    cmd = parse(body)
    if cmd is not None:
        return _command(db, loaded, person, cmd, body, now, out, replies)
    m = PREFIXED.fullmatch(body)
    if m:
        code, text = int(m.group(1)), m.group(2)
        conv = _owned(db, person, code)
        if conv is None:
            if _owned(db, person) is None and _texting(db, person):
                return False
            replies.append(_not_yours(db, person, code, "so nothing was sent"))
            return True
        if not text.strip():
            replies.append(f"Nothing was sent: write \"#{code} your text\".")
            return True
        return _relay(loaded, conv, text, now, out)
    conv = _owned(db, person)
    if conv is None:
        return False
    return _relay(loaded, conv, body, now, out)


def _command(db, loaded, person: Person, cmd: Command, body: str, now: datetime,
             out: list[Text], replies: list[str]) -> bool:
    code = cmd.code
    if code is None:
        if _owned(db, person) is None and _texting(db, person):
            return False  # a peer texting for support: "yes", "help" are for their own peer
        HANDLERS[cmd.word](db, loaded, person, None, body, now, out, replies)
        return True
    if cmd.word == "yes" and cmd.said:
        conv = _owned(db, person, code)
        if conv is not None:  # "#7 yes" answers texter 7
            return _relay(loaded, conv, cmd.said, now, out)
    if not cmd.marked and not _concerns(db, person, code):
        # "call 911", "yes 2": a number this person was never told about is part of a
        # sentence for their texter, or for their own peer when they are the texter.
        latest = _owned(db, person)
        if latest is not None:
            return _relay(loaded, latest, body, now, out)
        if _texting(db, person):
            return False
    if cmd.word == "reveal":
        reveal(db, loaded, person, code, body, now, out, replies, confirm=cmd.confirm)
    else:
        HANDLERS[cmd.word](db, loaded, person, code, body, now, out, replies)
    if cmd.rest.strip() and cmd.word not in WITH_WORDS:
        replies[-1] += f" The words after {cmd.word.upper()} #{code} were not sent."
    return True


def _owned(db, person: Person, code: int | None = None) -> Conversation | None:
    """Theirs with that code, or the one they last took or wrote to."""
    q = select(Conversation).where(Conversation.owner == person.id)
    if code is not None:
        q = q.where(Conversation.code == code)
    return db.scalar(q.order_by(Conversation.owner_activity_at.desc(), Conversation.id.desc())
                     .limit(1))


def _concerns(db, person: Person, code: int) -> bool:
    """Has this person seen conversation `code` (owns it, or was told about it)?"""
    conv = db.scalar(select(Conversation).where(Conversation.code == code))
    return conv is not None and (person.id in (conv.owner, CLINICAL_DIRECTOR)
                                 or person.id in tx.notified(conv))


def _texting(db, person: Person) -> bool:
    """Is this person in an open conversation of their own, as a texter?"""
    return tx.find_open(db, current_app, person.phone) is not None


def _not_yours(db, person: Person, code: int, what: str = "") -> str:
    codes = sorted(c.code for c in db.scalars(
        select(Conversation).where(Conversation.owner == person.id)))
    text = f"You do not have #{code} open" + (f", {what}" if what else "") + "."
    if codes:
        return text + " Yours: " + ", ".join(f"#{c}" for c in codes) + "."
    return text + " " + MORE


def _waiting(db, person: Person, code: int | None) -> Conversation | None:
    """An untaken conversation this person was told about (the director may take any)."""
    q = select(Conversation).where(Conversation.owner.is_(None))
    if code is not None:
        q = q.where(Conversation.code == code)
    for conv in db.scalars(q.order_by(Conversation.id.desc())):
        if person.id == CLINICAL_DIRECTOR or person.id in tx.notified(conv):
            return conv
    return None


def _taken(db, person: Person, code: int | None) -> int | None:
    """The code of a conversation this person was told about that someone else took."""
    q = select(Conversation).where(Conversation.owner.is_not(None),
                                   Conversation.owner != person.id)
    if code is not None:
        q = q.where(Conversation.code == code)
    for conv in db.scalars(q.order_by(Conversation.id.desc())):
        if person.id == CLINICAL_DIRECTOR or person.id in tx.notified(conv):
            return conv.code
    return None


def _relay(loaded, conv: Conversation, body: str, now: datetime, out: list[Text]) -> bool:
    conv.last_activity_at = conv.owner_activity_at = now
    texter = tx.texter_of(current_app, conv)
    for part in tx.pieces("", body):  # within Twilio's 1,600 characters
        out.append(Text(texter, part, urgent=conv.urgent, conversation_id=conv.id,
                        to_texter=True))
    consult.copy_to_consultant(loaded.config, conv, conv.owner, body, out)
    return True


def take(db, loaded, person, code, body, now, out, replies) -> None:
    conv = _waiting(db, person, code)
    mine = _owned(db, person) if code is None else None
    if conv is None:
        if mine is not None:
            _relay(loaded, mine, body, now, out)  # "yes" was an answer to their texter
        elif code is not None and _owned(db, person, code) is not None:
            replies.append(f"You already have #{code}.")
        elif taken := _taken(db, person, code):
            replies.append(f"#{taken} was already taken. Thank you.")
        elif code is not None:
            replies.append(f"#{code} is not waiting for you (it is closed, or was never sent "
                           f"to you). {MORE}")
        else:
            replies.append(f"Nothing is waiting for you. {MORE}")
        return
    if mine is not None:
        # "yes" could answer their texter or take the new one; guessing wrong would
        # leave one texter without their answer and the other with a peer by mistake.
        replies.append(f"You have #{mine.code} open and #{conv.code} is waiting. Text "
                       f"\"YES {conv.code}\" to take #{conv.code}, or \"#{mine.code} yes\" "
                       f"to answer #{mine.code}. Nothing was sent.")
        return
    config = loaded.config
    # First YES wins: the row changes only while nobody owns it. On PostgreSQL a
    # concurrent YES waits for this one to commit, then finds owner set and loses.
    won = db.execute(
        update(Conversation)
        .where(Conversation.id == conv.id, Conversation.owner.is_(None))
        .values(owner=person.id, accepted_at=now, owner_activity_at=now, last_activity_at=now,
                accepted_step=tx.accepted_step(config, conv, person.id), escalate_at=None)
        .execution_options(synchronize_session=False)).rowcount == 1
    if not won:
        replies.append(f"#{conv.code} was already taken. Thank you.")
        return
    db.refresh(conv)
    count_handled(db, person.id, now, config.program.timezone)
    pages.acknowledge_by_text(current_app, db, loaded, conv, person.id, now, out)
    if conv.consultant == person.id:
        conv.consultant = None  # they have it outright now
    c = conv.code
    replies.append(f"You have #{c}. Text here to write to them; DONE #{c} closes it, "
                   f"PASS #{c} hands it on.")
    out.append(Text(tx.texter_of(current_app, conv), config.sms.joined, urgent=conv.urgent,
                    conversation_id=conv.id, to_texter=True))
    others = [pid for pid in tx.notified(conv) if pid != person.id]
    tx.tell(config, others, f"#{c} was taken by another peer. Thank you.", conv, out)


def pass_on(db, loaded, person, code, body, now, out, replies) -> None:
    conv = _owned(db, person, code) or _waiting(db, person, code)
    if conv is None:
        replies.append(f"#{code} is not yours to pass (it is closed, or was never sent to "
                       f"you). {MORE}" if code else f"Nothing to pass. {MORE}")
        return
    c, config = conv.code, loaded.config
    texter = tx.texter_of(current_app, conv)
    if conv.owner == person.id:
        conv.owner, conv.accepted_at, conv.accepted_step = None, None, None
        out.append(Text(texter, config.sms.new_peer, urgent=conv.urgent,
                        conversation_id=conv.id, to_texter=True))
    elif [conv.attempt, person.id] not in conv.tried:
        replies.append(f"OK, you passed #{c}.")  # the escalation has already moved on
        return
    replies.append(f"OK, #{c} goes to the next peer. Thank you.")
    conv.gave_up = False
    tx.advance(current_app, loaded, conv, texter, now, out, next_attempt=conv.attempt + 1,
               busy=frozenset({person.id}))


def done(db, loaded, person, code, body, now, out, replies) -> None:
    conv = _owned(db, person, code)
    if conv is None:
        replies.append(_not_yours(db, person, code) if code else f"You have nothing open. {MORE}")
        return
    replies.append(f"#{conv.code} is closed. Thank you.")
    if conv.consultant:
        tx.tell(loaded.config, [conv.consultant], f"#{conv.code} was closed by the peer. "
                "Thank you.", conv, out)
    tx.close(current_app, db, loaded, conv, out, loaded.config.sms.closed)


def call(db, loaded, person, code, body, now, out, replies) -> None:
    """Ring the peer, then (once they press 1) the texter; both see the program number."""
    conv = _owned(db, person, code)
    if conv is None:
        replies.append(_not_yours(db, person, code) if code else f"You have nothing open. {MORE}")
        return
    conv.last_activity_at = conv.owner_activity_at = now
    base = current_app.config.get("HOTLINE_PUBLIC_URL") or request.url_root
    url = base.rstrip("/") + link("voice.bridge", conv=conv.id, peer=person.id)
    out.append(Bridge(person.phone, url, status_callback=base.rstrip("/") + link("voice.status")))
    out.append(Text(tx.texter_of(current_app, conv), loaded.config.sms.calling,
                    urgent=conv.urgent, conversation_id=conv.id, to_texter=True))
    replies.append(f"Calling you now for #{conv.code}; press 1 to be connected.")


def help_(db, loaded, person, code, body, now, out, replies) -> None:
    replies.append(HELP)


def reveal(db, loaded, person, code, body, now, out, replies, confirm=False) -> None:
    """A texter's number for a welfare check: narrow, confirmed, audited (text/reveal.py)."""
    if person.id != CLINICAL_DIRECTOR:
        replies.append(f"REVEAL is for the clinical director only. {MORE}")
        return
    if code is None:
        replies.append("Which one? Text REVEAL 7 for #7.")
        return
    conv = db.scalar(select(Conversation).where(Conversation.code == code))
    if conv is None:
        replies.append(f"#{code} is not open.")
        return
    revealing.reveal(current_app, db, loaded, conv, confirm, now, replies)


HANDLERS = {"yes": take, "pass": pass_on, "done": done, "call": call, "help": help_,
            "reveal": reveal}


# -- callouts -------------------------------------------------------------------------

def callout_text(db, loaded, person: Person, body: str, now: datetime, out: list[Text],
                 replies: list[str]) -> bool:
    """CALLOUT, CLOSE and callout answers. False: not about a callout, read it as usual.

    A conversation is never lost to a callout answer: "YES #7" always takes #7 (it never
    gets here), and a plain YES / NO / YES 40 answers the callout only when the sender
    was asked in the open one and it could not also mean a conversation (a notice
    waiting for them, one they own); when both could apply the router asks, and
    "CALLOUT YES 40" answers the callout whatever else is open. A peer texting the line
    for their own support keeps their words for their own peer."""
    config = loaded.config
    ans = parse_answer(body)
    if ans is not None:
        return _callout_answer(db, config, person, ans, now, replies)
    cmd = parse_command(body)
    if cmd is None:
        return False
    open_ = callouts.open_callout(db)
    if isinstance(cmd, Close):
        if open_ is None or person.id not in (open_.initiator, CLINICAL_DIRECTOR):
            if _owned(db, person) is not None or _texting(db, person):
                return False  # "close" was a word to their texter
            replies.append("No callout of yours is open. " + MORE if open_ is None else
                           "Only the person who started the callout, or the clinical "
                           "director, can close it.")
            return True
        result = callouts.close(current_app, db, config, now, out, cmd.note, closer=person.id)
        replies.append(result.text(final=True) + " Those who said yes have the closing text.")
        return True
    if person.id not in config.callout.allowed:
        if _owned(db, person) is not None or _texting(db, person):
            return False  # "callout tonight was rough" was for their texter
        # Said plainly, with the way on: a peer who wanted support for themselves is
        # never left at a dead end by a word that happens to be a command.
        replies.append("CALLOUT is only for the people the rotation file allows (callout "
                       "allowed). Nothing was sent. To reach a peer yourself, text again "
                       "without the word CALLOUT first.")
        return True
    try:
        _, asked = callouts.start(current_app, db, config, cmd.message, cmd.tag, person.id,
                                  now, out)
    except Refusal as exc:
        replies.append(str(exc))
        return True
    replies.append(f"Callout sent to {asked} peers. You will get a running tally; text CLOSE "
                   "to end it.")
    return True


def _callout_answer(db, config, person: Person, ans: Answer, now: datetime,
                    replies: list[str]) -> bool:
    row = callouts.asked(db, person.id)
    if row is None:
        if ans.explicit:
            replies.append("No callout is open for you right now. Thank you.")
            return True
        return False  # an ordinary YES / NO
    if _texting(db, person) and _owned(db, person) is None and not ans.explicit:
        return False  # their own conversation as a texter comes first
    if not ans.explicit:
        waiting = _waiting(db, person, None) if ans.yes else None
        if ans.minutes is not None and _concerns(db, person, ans.minutes):
            waiting = db.scalar(select(Conversation).where(Conversation.code == ans.minutes))
        mine = _owned(db, person)
        if waiting is not None or mine is not None:
            ways = ["\"CALLOUT YES 40\" (or CALLOUT NO) answers the callout"]
            if waiting is not None:
                verb = "takes" if waiting.owner is None else "is for"
                ways.append(f"\"YES #{waiting.code}\" {verb} #{waiting.code}")
            if mine is not None:
                ways.append(f"\"#{mine.code} {_body_word(ans)}\" writes to #{mine.code}")
            replies.append("Did you mean the callout or a conversation? " + "; ".join(ways)
                           + ". Nothing was sent.")
            return True
    replies.append(callouts.answer(db, config, person.id, ans.yes, ans.minutes, now))
    return True


def _body_word(ans: Answer) -> str:
    return "yes" if ans.yes else "no"
# -- clinician pages and consults ------------------------------------------------------
# URGENT #7 and CONSULT #7 come from the peer with #7; ACK #7 from a paged clinician.
# Words after URGENT #7 are the page's context, so they are not reported as unsent.
WITH_WORDS = ("urgent",)
_AFTER = re.compile(r"\s*\w+[\s:,.-]*#?\s*\d{1,9}[\s.!?,:;-]*(.*)", re.S)


def _mine_or_latest(db, person: Person, code: int | None, replies: list[str]):
    conv = _owned(db, person, code)
    if conv is None:
        replies.append(_not_yours(db, person, code) if code else f"You have nothing open. {MORE}")
    return conv


def urgent(db, loaded, person, code, body, now, out, replies) -> None:
    """The peer judges the officer in danger: page the clinician with the conversation's
    context. The texter is not told; the peer tells them if they choose."""
    conv = _mine_or_latest(db, person, code, replies)
    if conv is None:
        return
    config, c = loaded.config, conv.code
    m = _AFTER.fullmatch(body) if code is not None else None
    said = tx.short(m.group(1), 300) if m and m.group(1).strip() else ""
    conv.urgent = True
    context = f"{person.name} (peer) says the officer may be in danger" + (f": {said}" if said else "")
    page = pages.raise_page(current_app, db, loaded, conv, pages.PEER_URGENT, person.id,
                            context, tx.texter_of(current_app, conv), now, out)
    title = config.clinical.title
    if page is None or page.acknowledged_by:
        who = conv.consultant or (page.acknowledged_by if page else None)
        replies.append(f"#{c}: a {title} is already with this conversation"
                       + (f" ({config.person(who).name})." if who else "."))
        return
    replies.append(f"Paging the {title} on call for #{c} now (call and text until they "
                   f"answer). The texter has not been told. If they are in danger this "
                   f"minute, call 911.")


def consult_(db, loaded, person, code, body, now, out, replies) -> None:
    conv = _mine_or_latest(db, person, code, replies)
    if conv is None:
        return
    clinician = consult.invite(db, loaded, conv, person.id, now, out)
    if clinician is None:
        replies.append(f"No {loaded.config.clinical.title} can be asked to join #{conv.code}.")
        return
    replies.append(f"{clinician.name} ({loaded.config.clinical.title}) is asked to join "
                   f"#{conv.code} and will see its messages from now on. The texter has not "
                   "been told.")


def ack(db, loaded, person, code, body, now, out, replies) -> None:
    if code is None and not loaded.config.is_clinical(person.id):
        latest = _owned(db, person)
        if latest is not None:  # a peer's "ack" is a word to their texter
            _relay(loaded, latest, body, now, out)
            return
    q = select(Conversation)
    if code is not None:
        q = q.where(Conversation.code == code)
    for conv in db.scalars(q.order_by(Conversation.id.desc())):
        told = pages.acknowledge_by_text(current_app, db, loaded, conv, person.id, now, out)
        if told is not None:
            replies.append(told)
            return
    replies.append(f"No page is waiting for you{f' about #{code}' if code else ''}. {MORE}")


HANDLERS.update({"urgent": urgent, "consult": consult_, "ack": ack})
