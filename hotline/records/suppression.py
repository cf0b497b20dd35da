"""Which counts of the statistics to hide, so none can point at a person.

Pure: names and counts in, the names to hide out. hotline/records/stats.py builds the
report's counts and lines and prints what this module leaves shown.

So that "one contact in March" can never point at a person, no figure may let
a reader work out a count from 1 to k-1, by reading it or by arithmetic on the
other figures. The rule:

1. A count from 1 to k-1 is hidden.
2. Counts come in lines that add up: a month's calls and texts make its
   total, the months make each column's total, and the ways contacts ended
   (answered, by a peer or the clinical director; the fallback; ended early)
   make all contacts. In a line with a hidden count, at least two counts are
   hidden, and if the line's total is shown, its hidden counts add up to k or
   more. Where that does not hold yet, the smallest other non-zero count of
   the line is hidden too (its total only when nothing else is left).
3. A check then does all the arithmetic a reader could, knowing that a hidden
   count is never 0, and hides one more count beside any count from 1 to k-1
   that could still be worked out (could_work_out). Rules 2 and 3 are
   repeated until neither hides anything more.
4. Every hidden figure is printed the same way, "hidden", whether it was small
   or hides a small one: a "<3" beside an unmarked hidden 40 would tell a
   reader which is which, and that is enough to pin some of them down.

If the total of all contacts itself is hidden, so is every other count. A
percentage is shown only when its count, the rest of its whole and the whole
are all shown: it gives all three away. A median or percentile only when the
number of contacts it is taken over is shown and is k or more. Zero is always
shown: it points at nobody. Every output (Markdown, CSV, JSON, the chart, the
dashboard) prints the same cells, so none of them gives away what another hides.
"""
from __future__ import annotations

HIDDEN = "hidden"

Line = tuple[tuple[str, ...], str]  # (the parts, their total), by count name
GRAND_TOTAL = "all/total"
NEVER_PRINTED = frozenset({"peer", "other outcome"})  # follow from printed figures


def hide(counts: dict[str, int], lines: list[Line], k: int) -> set[str]:
    """The names of the counts to hide, by the rules of the module docstring."""
    hidden = {name for name, n in counts.items() if 0 < n < k}
    while True:
        more = _next_to_hide(counts, lines, hidden, k)
        if more is None and GRAND_TOTAL in hidden:
            # Hidden, the grand total would tie the month table and the outcomes into one
            # knot that could_work_out cannot follow. It is hidden when the period has
            # fewer than k contacts (or, rarely, to protect such a count): a report that
            # small has nothing safe to say anyway.
            return {name for name, n in counts.items() if n > 0}
        if more is None:
            more = _protect_pinned(counts, lines, hidden, k)
        if more is None:
            return hidden
        hidden.add(more)


def _next_to_hide(counts: dict[str, int], lines: list[Line], hidden: set[str],
                  k: int) -> str | None:
    """Rule 2: the next count a line needs hidden, if any."""
    for parts, total in lines:
        hid = [name for name in (*parts, total) if name in hidden]
        if not hid:
            continue
        if len(hid) >= 2 and (total in hidden or sum(counts[name] for name in hid) >= k):
            continue
        more = _cheapest(counts, parts, total, hidden)
        if more is not None:
            return more
    return None


def _cheapest(counts: dict[str, int], parts, total: str, hidden: set[str]) -> str | None:
    """The smallest shown non-zero part, else the total. Hiding a zero protects nothing:
    a reader could tell it from the line."""
    others = [p for p in parts if p not in hidden and counts[p] > 0]
    if others:
        return min(others, key=counts.__getitem__)
    return total if total not in hidden and counts[total] > 0 else None


def _protect_pinned(counts: dict[str, int], lines: list[Line], hidden: set[str],
                    k: int) -> str | None:
    """Rule 3: if a reader could still work out a hidden count from 1 to k-1, the next
    count to hide beside it (everything, should its lines have nothing left)."""
    pinned = could_work_out(counts, lines, hidden, k)
    if pinned is None:
        return None
    for parts, total in lines:
        if pinned in (*parts, total) and (more := _cheapest(counts, parts, total, hidden)):
            return more
    return next(name for name, n in counts.items() if n > 0 and name not in hidden)


def could_work_out(counts: dict[str, int], lines: list[Line], hidden: set[str],
                   k: int) -> str | None:
    """A hidden count from 1 to k-1 that the shown figures pin down, or None.

    The reader knows every shown count, that every line adds up, and that a printed
    hidden count is at least 1. Each hidden count sits in one or two lines: think of
    it as an edge between them (or between its one line and "outside"), and of a line
    as a node whose edges must keep their sum. Another set of values fits everything
    the reader knows exactly when one more contact can go round a cycle of edges, up
    along some and down along others, never taking a count below its floor. So a
    count is pinned when no such cycle passes through it.
    """
    ends: dict[str, list[tuple[object, int]]] = {}
    for i, (parts, total) in enumerate(lines):
        for name, sign in [(p, 1) for p in parts] + [(total, -1)]:
            if name in hidden:
                ends.setdefault(name, []).append((i, sign))
    if any(len(e) > 2 for e in ends.values()):
        raise ValueError("a hidden count in more than two lines: not a network")
    # Turn some lines' equations over so that each edge has a -1 end (its tail) and a
    # +1 end (its head); then one more contact round a cycle is a flow, and conserved.
    turn: dict[int, int] = {}
    links = [e for e in ends.values() if len(e) == 2]
    for first in range(len(lines)):
        if first in turn:
            continue
        turn[first], todo = 1, [first]
        while todo:
            line = todo.pop()
            for (a, sa), (b, sb) in links + [e[::-1] for e in links]:
                if a != line:
                    continue
                want = -turn[a] * sa * sb
                if b not in turn:
                    turn[b] = want
                    todo.append(b)
                elif turn[b] != want:
                    raise ValueError("the lines cannot be turned into a network")
    arcs: dict[object, list[tuple[str, object]]] = {}
    edges = {}
    for name, at in ends.items():
        signed = [(line, turn[line] * sign) for line, sign in at]
        if len(signed) == 1:
            signed.append(("outside", -signed[0][1]))
        (tail, _), (head, _) = sorted(signed, key=lambda node: node[1])
        edges[name] = tail, head
        floor = 0 if name in NEVER_PRINTED else 1
        arcs.setdefault(tail, []).append((name, head))  # one more: always possible
        if counts[name] > floor:
            arcs.setdefault(head, []).append((name, tail))  # one fewer

    def reaches(source, target, without: str) -> bool:
        seen, todo = {source}, [source]
        while todo:
            node = todo.pop()
            if node == target:
                return True
            for name, to in arcs.get(node, ()):
                if name != without and to not in seen:
                    seen.add(to)
                    todo.append(to)
        return False

    for name in (n for n in counts if n in ends and 0 < counts[n] < k):
        tail, head = edges[name]
        floor = 0 if name in NEVER_PRINTED else 1
        if not (reaches(head, tail, name) or counts[name] > floor and reaches(tail, head, name)):
            return name
    return None
