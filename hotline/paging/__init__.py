"""Clinician pages: an urgent contact reaches a clinician who acknowledges.

`plan` decides (pure: whom to page next, or that nobody acknowledged), `pages` acts
(the page row, the call and text, acknowledgement, failures, the clock's re-page),
`answer` is the blueprint the paged phone talks to.
"""
