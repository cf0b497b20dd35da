"""The baseline for bench/webhooks.py: a bare Flask endpoint answering fixed TwiML.

Served by gunicorn with the same settings as the router, so the difference is
the router's own work (signature check, database, routing, REST sends).
"""
from flask import Flask, Response

app = Flask(__name__)
TWIML = ('<?xml version="1.0" encoding="UTF-8"?><Response><Say>Please hold.</Say>'
         '<Dial callerId="+12625550100"><Number>+12625550101</Number></Dial></Response>')


@app.get("/health")
def health():
    return "ok"


@app.post("/voice/incoming")
@app.post("/sms/incoming")
def fixed():
    return Response(TWIML, mimetype="text/xml")
