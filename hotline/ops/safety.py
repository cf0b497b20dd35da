"""Settings that are fine on a laptop and dangerous on a real line.

HOTLINE_SIMULATOR lets anyone who reaches the app text as the clinical director and
move the router's clock; HOTLINE_INSECURE_DEV turns off Twilio's signature check; the
local token `make run` signs with is public (it is in this repository). Each is
refused at start-up when the router looks deployed, and `hotline doctor` names it.

"Looks deployed" is any one of: a public https HOTLINE_PUBLIC_URL, a real-looking
Twilio account SID (not the all-zero one of the simulator and tests), gunicorn
running the app, or a real-looking TWILIO_AUTH_TOKEN (32 hex digits, as Twilio's are).
"""
from __future__ import annotations

import ipaddress
import os
import re
import sys
from urllib.parse import urlsplit

LOCAL_TOKEN = "local-simulator-token"  # make run's; published, so never for a real line
_REAL_SID = re.compile(r"AC[0-9a-f]{32}")
_REAL_TOKEN = re.compile(r"[0-9a-f]{32}")
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    host = host.strip("[]").lower()
    if host in LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def deployed_signs(config) -> list[str]:
    """Why this process looks like a real line (empty: a laptop or a test)."""
    signs = []
    url = config.get("HOTLINE_PUBLIC_URL") or ""
    parts = urlsplit(url)
    if parts.scheme == "https" and not is_loopback(parts.hostname):
        signs.append(f"HOTLINE_PUBLIC_URL is a public https address ({parts.hostname})")
    sid = config.get("TWILIO_ACCOUNT_SID") or ""
    if _REAL_SID.fullmatch(sid) and set(sid[2:]) != {"0"}:
        signs.append("TWILIO_ACCOUNT_SID is a real-looking Twilio account")
    if _under_gunicorn():
        signs.append("the app runs under gunicorn")
    if any(_REAL_TOKEN.fullmatch(t or "") for t in config.get("TWILIO_AUTH_TOKENS") or []):
        signs.append("TWILIO_AUTH_TOKEN is a real-looking Twilio token")
    return signs


def _under_gunicorn() -> bool:
    return ("gunicorn" in os.environ.get("SERVER_SOFTWARE", "")
            or os.path.basename(sys.argv[0] if sys.argv else "").startswith("gunicorn")
            or "gunicorn.arbiter" in sys.modules)


def unsafe_settings(config) -> list[str]:
    """Each setting that must not be on while the router looks deployed, explained."""
    found = []
    if config.get("HOTLINE_SIMULATOR"):
        found.append("HOTLINE_SIMULATOR is on: anyone reaching /simulator could text as the "
                     "clinical director, read a texter's number and move the router's clock")
    if config.get("HOTLINE_INSECURE_DEV"):
        found.append("HOTLINE_INSECURE_DEV is on: Twilio's signatures would not be checked, "
                     "so anyone could post fake calls and texts")
    if LOCAL_TOKEN in (config.get("TWILIO_AUTH_TOKENS") or []):
        found.append(f"TWILIO_AUTH_TOKEN is make run's public '{LOCAL_TOKEN}': anyone could "
                     "sign webhooks; set the account's real auth token")
    return found


def refusal(config) -> str | None:
    """The start-up error for an unsafe setting on a deployed router, or None."""
    signs, unsafe = deployed_signs(config), unsafe_settings(config)
    if signs and not config.get("HOTLINE_PUBLIC_URL"):
        # Without it the signature is checked against the request's Host header, so a
        # request Twilio signed for another app on the same account would pass here.
        unsafe.append("HOTLINE_PUBLIC_URL is not set: signatures would be checked against "
                      "the Host header the request brings; set the address Twilio calls")
    if not (signs and unsafe):
        return None
    return ("Refusing to start: this router looks deployed (" + "; ".join(signs) + "), and "
            + "; ".join(unsafe) + ". Unset it for a real line; it is for a laptop only.")
