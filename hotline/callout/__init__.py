"""Critical-incident callouts: page the team, count who can come.

`tally.py` is pure (what a text means, who is asked, the counts and their wording);
`service.py` opens, answers and closes the one open callout inside the caller's
transaction; `pages.py` is the phone page a peer who has not answered gets;
`clock.py` is what the clock process does for callouts (phone pages, the debounced
tally, closing a forgotten callout). README "Critical-incident callouts" is the manual.
"""
