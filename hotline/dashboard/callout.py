"""The Callout page (/dashboard/callout): the open callout's tally by name, live, and for
coordinators a form to start one (with a confirmation naming who will be texted) or
close it. Routes on the dashboard blueprint, so its login, CSRF token and headers
apply. Texts go out the way a webhook's do: staged with the decision, sent after it.
"""
from __future__ import annotations

from flask import abort, current_app, g, redirect, render_template, request, url_for

from hotline.callout import service
from hotline.callout.tally import Refusal, recipients, send_seconds
from hotline.dashboard.views import bp, _now, _rotation
from hotline.rotation.model import CLINICAL_DIRECTOR
from hotline.text import conversations as tx
from hotline.text.outbox import stage


def _coordinator() -> None:
    if g.dashboard_user.role != "coordinator":
        abort(403, description="Only coordinators can start or close a callout.")


def _choices(config):
    tags = sorted({t for p in config.peers.values() for t in p.tags})
    people = [(CLINICAL_DIRECTOR, config.clinical_director.name)] + \
        [(p.id, p.name) for p in config.peers.values()]
    return tags, people


@bp.get("/callout")
def callout():
    loaded, problem = _rotation()
    status = None
    if loaded:
        with current_app.extensions["hotline.sessions"]() as db:
            status = service.status(current_app, db, loaded.config)
    tz = loaded.config.program.timezone if loaded else None
    tags, people = _choices(loaded.config) if loaded else ([], [])
    return render_template(
        "dashboard/callout.html", problem=problem, status=status, tags=tags, people=people,
        default_tag=loaded.config.callout.tag if loaded else None, error=request.args.get("error"),
        started=status.started_at.astimezone(tz).strftime("%a %d %b %H:%M") if status else None,
        can_act=g.dashboard_user.role == "coordinator")


@bp.post("/callout/start")
def callout_start():
    _coordinator()
    loaded, problem = _rotation()
    if loaded is None:
        abort(503, description=problem)
    config = loaded.config
    message = request.form.get("message", "")[:1000]
    tag = request.form.get("tag") or service.EVERYONE
    initiator = request.form.get("initiator") or CLINICAL_DIRECTOR
    if request.form.get("confirm") != "yes":
        try:
            people = recipients(config, None if tag == service.EVERYONE else tag, initiator)
        except Refusal as exc:
            return redirect(url_for(".callout", error=str(exc)))
        rate = int(current_app.config.get("HOTLINE_SEND_RATE") or 0)
        return render_template("dashboard/callout_confirm.html", message=message, tag=tag,
                               initiator=initiator, names=[p.name for p in people],
                               seconds=send_seconds(len(people), rate),
                               tally_to=config.person(initiator).name
                               if initiator in (CLINICAL_DIRECTOR, *config.peers) else initiator)
    now, out = _now(), []
    try:
        with current_app.extensions["hotline.sessions"]() as db, db.begin():
            service.start(current_app, db, config, message, tag, initiator, now, out)
            out = stage(current_app, db, out, now)
    except Refusal as exc:
        return redirect(url_for(".callout", error=str(exc)))
    tx.deliver(current_app, out, now)
    return redirect(url_for(".callout"))


@bp.post("/callout/close")
def callout_close():
    _coordinator()
    loaded, problem = _rotation()
    if loaded is None:
        abort(503, description=problem)
    if request.form.get("confirm") != "yes":
        return render_template("dashboard/callout_confirm.html", closing=True,
                               note=request.form.get("note", "")[:300])
    now, out = _now(), []
    try:
        with current_app.extensions["hotline.sessions"]() as db, db.begin():
            service.close(current_app, db, loaded.config, now, out,
                          request.form.get("note", "")[:300])
            out = stage(current_app, db, out, now)
    except Refusal as exc:
        return redirect(url_for(".callout", error=str(exc)))
    tx.deliver(current_app, out, now)
    return redirect(url_for(".callout"))
