"""A texter's pictures, where the program relays them (rotation file: `sms: {pictures:
relay}`; the default refuses them, hotline/text/webhooks.py).

A relayed picture is not copied: the relay to the peer names the media URLs of the
texter's own message at Twilio, and Twilio fetches them when it sends the relay. So the
texter's message (deleting a message deletes its media) must stay at Twilio until every
relay of it has landed, and not a moment longer than needed:

- while a relay waits in the outbox, its row names the texter's message (`media_of`);
- once Twilio has taken it, a MediaRelay row joins the relay's SID to that message;
- the relay's status callback (delivered, undelivered, failed) drops its MediaRelay row,
  and when no relay of the message is left, its deletion is due as for any text;
- whatever happens (no status callback configured, a lost callback, a relay that never
  left), the deletion is due HOLD_AT_MOST after the picture arrived.

Media URLs hold only account, message and media SIDs, but like bodies they are sealed
while queued and never logged.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, exists, select, update

from hotline.records.retention import SETTLE
from hotline.store import MediaRelay, Outbox, ProviderRecord

# Longer than the outbox's retries of a relay (twelve tries, backoff up to 5 minutes:
# about 40 minutes) and a carrier's usual delivery report; short enough that a picture
# does not sit at Twilio past the night it was sent.
HOLD_AT_MOST = timedelta(hours=2)
MAX_MEDIA = 10  # Twilio's limit per message, in and out
# Twilio's own media host: a signed webhook only ever names these, and we pass on nothing else.
TWILIO_MEDIA = "https://api.twilio.com/"
LANDED = {"delivered", "undelivered", "failed"}


def media_urls(form) -> tuple[str, ...]:
    """The MediaUrl0..N of an incoming MMS that point at Twilio."""
    count = min(int(form.get("NumMedia") or 0), MAX_MEDIA)
    urls = (form.get(f"MediaUrl{i}") or "" for i in range(count))
    return tuple(u for u in urls if u.startswith(TWILIO_MEDIA))


def hold(db, inbound_sid: str, now: datetime) -> None:
    """Inside the webhook's transaction, after the message was queued for deletion: keep
    it at Twilio until its relays land, HOLD_AT_MOST at the latest."""
    db.execute(update(ProviderRecord).where(ProviderRecord.sid == inbound_sid)
               .values(next_try_at=now + HOLD_AT_MOST))


def taken(db, outbound_sid: str, inbound_sid: str) -> None:
    """Twilio has taken a relay (in the transaction that records sent texts)."""
    db.add(MediaRelay(outbound_sid=outbound_sid, inbound_sid=inbound_sid))


def landed(db, outbound_sid: str | None, status: str, now: datetime) -> None:
    """A status callback: a relay that landed lets its picture go, once it was the last."""
    if not outbound_sid or status not in LANDED:
        return
    inbound = db.scalar(select(MediaRelay.inbound_sid)
                        .where(MediaRelay.outbound_sid == outbound_sid))
    if inbound is None:
        return
    db.execute(delete(MediaRelay).where(MediaRelay.outbound_sid == outbound_sid))
    waiting = db.scalar(select(exists().where(MediaRelay.inbound_sid == inbound))) or \
        db.scalar(select(exists().where(Outbox.media_of == inbound)))
    if not waiting:  # the same settling time as any message: Twilio is done with it
        db.execute(update(ProviderRecord).where(ProviderRecord.sid == inbound)
                   .values(next_try_at=now + SETTLE["message"]))
