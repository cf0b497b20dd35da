"""The local phone simulator (`make run` without Twilio credentials): /simulator.

One page with a phone for an officer and one for each peer and the clinical
director of the rotation file. The simulator plays Twilio: it posts signed
webhooks to the router, executes the TwiML it gets back, and serves the part
of Twilio's REST API the router sends through (TWILIO_API_BASE). See
docs/simulator.md. Registered only when HOTLINE_SIMULATOR is on.
"""
from hotline.simulator.views import bp

__all__ = ["bp"]
