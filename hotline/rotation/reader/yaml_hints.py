"""Plain words for YAML's parse errors.

The parser speaks of tokens and block ends; a coordinator editing the file at night
needs to hear what to change. Each hint names the common cause of one parser message;
the parser's own words follow in brackets for whoever knows YAML.
"""
from __future__ import annotations

import yaml

# (what the parser says, what to tell the coordinator), first match wins
HINTS = (
    ("found character '\\t'",
     "this line is indented with a tab; YAML needs spaces, so replace the tab with spaces "
     "(2 per level, like the lines around it)"),
    ("mapping values are not allowed here",
     "there is a second ': ' on this line; put a value that contains ': ' in quotes, "
     "e.g. message: \"Note: call 988\", and write times in quotes, e.g. from: \"18:00\""),
    ("could not find expected ':'",
     "a key here has no ': ' after it; write a space after every colon (name: Alice), "
     "and check that the line above is complete"),
    ("expected <block end>",
     "this line is indented differently from the lines above it; line it up with the "
     "other entries of the same list or section, using spaces"),
    ("expected ',' or '}'",
     "a { ... } is not closed, or a quote on this line or the one above is missing; "
     "every opening quote and brace needs its closing one"),
    ("expected ',' or ']'",
     "a [ ... ] list is not closed, or a quote on this line or the one above is missing; "
     "every opening quote and bracket needs its closing one"),
    ("found unexpected end of stream",
     "a quote or bracket opened here is never closed"),
    ("found undefined alias",
     "'*' starts a YAML alias; put a value that begins with * in quotes"),
    ("found character '@' that cannot start any token",
     "a value cannot begin with @ unquoted; put it in quotes"),
    ("found character '`' that cannot start any token",
     "a value cannot begin with ` unquoted; put it in quotes"),
)
FALLBACK = "check the indentation (spaces, not tabs) and that every quote and bracket is closed"


def explain(exc: yaml.YAMLError) -> str:
    """The message for a file YAML could not read, plain words first."""
    said = " ".join(filter(None, (getattr(exc, "context", None), getattr(exc, "problem", None))))
    said = said or str(exc)
    hint = next((words for cause, words in HINTS if cause in said), FALLBACK)
    return f"not valid YAML: {hint} (the parser said: {said})"
