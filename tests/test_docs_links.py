"""The documentation stands on its own in a clone of this repository: README.md and
docs/*.md link only to files that are in the repository, and never name a path outside
it, such as a sibling folder (`../shared/...`) or a folder on one machine (`/work/...`),
which a reader of the clone does not have."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

# [text](target "title") and reference definitions `[name]: target`
LINK = re.compile(r"\[[^\]]*\]\(\s*<?([^)\s>]+)>?[^)]*\)|^ {0,3}\[[^\]]+\]:\s*<?([^\s>]+)", re.M)
# ../anything, anywhere in the text (links, code spans, prose)
PARENT_PATH = re.compile(r"(?:\.\./)+[\w.-][\w./-]*")
# an absolute path on somebody's machine
MACHINE_PATH = re.compile(
    r"(?<![\w.:/~-])/(?:work|home|root|Users|tmp|mnt|srv|opt|var)/[\w./-]*")
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)  # https:, mailto:, ...


def _lines(doc: Path):
    for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), start=1):
        yield f"{doc.relative_to(ROOT)}:{number}", line


def _in_a_clone(doc: Path, target: str) -> bool:
    """Whether a relative path, read from `doc`'s folder, names a file of the repository."""
    path = (doc.parent / target.split("#", 1)[0].split("?", 1)[0]).resolve()
    return (path == ROOT or ROOT in path.parents) and path.exists()


def test_the_docs_name_no_path_outside_the_repository():
    outside = []
    for doc in DOCS:
        for where, line in _lines(doc):
            outside += [f"{where}: {m.group(0)}" for m in MACHINE_PATH.finditer(line)]
            outside += [f"{where}: {m.group(0)}" for m in PARENT_PATH.finditer(line)
                        if not _in_a_clone(doc, m.group(0))]
    assert outside == [], ("say what those files say instead; a clone has only this "
                           "repository:\n" + "\n".join(outside))


def test_every_relative_link_in_the_docs_opens_a_file_of_the_repository():
    broken = []
    for doc in DOCS:
        for where, line in _lines(doc):
            for match in LINK.finditer(line):
                target = match.group(1) or match.group(2)
                if EXTERNAL.match(target) or target.startswith("#"):
                    continue
                if not _in_a_clone(doc, target):
                    broken.append(f"{where}: {target}")
    assert broken == [], "links to nothing in a clone:\n" + "\n".join(broken)


def test_the_link_check_itself_catches_what_it_is_for():
    """The checks above would pass on a regex that matches nothing; make sure they bite."""
    assert not _in_a_clone(ROOT / "README.md", "../shared/TWILIO-NOTES.md")
    assert _in_a_clone(ROOT / "docs" / "simulator.md", "../README.md#hotline")
    assert not _in_a_clone(ROOT / "docs" / "simulator.md", "../shared/TWILIO-NOTES.md")
    assert PARENT_PATH.search("(see `../shared/TWILIO-NOTES.md`)").group(0) == \
        "../shared/TWILIO-NOTES.md"
    assert MACHINE_PATH.search("see /work/shared/TWILIO-NOTES.md)")
    assert not MACHINE_PATH.search("https://example.org/work/x and docs/work/y")
    links = [m.group(1) or m.group(2) for m in LINK.finditer(
        "[a](docs/x.md#part) [b](https://x.org) [c]: ../up.md\n[d]: text-line.md")]
    assert links == ["docs/x.md#part", "https://x.org", "text-line.md"]
