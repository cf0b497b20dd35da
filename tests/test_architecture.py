"""The layout keeps its promises: the pure core stays pure, and no two modules
import each other (directly or round a longer circle)."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "hotline"
PURE = ["hotline.schedule", "hotline.routing", "hotline.rotation.model",
        "hotline.rotation.durations", "hotline.rotation.reader", "hotline.callout.tally",
        "hotline.paging.plan", "hotline.rotation.gaps", "hotline.rotation.shifts",
        "hotline.rotation.availability"]
SHELL_LIBRARIES = ("flask", "werkzeug", "sqlalchemy", "twilio", "requests", "apscheduler",
                   "psycopg")
CLOCK_READS = {("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"),
               ("date", "today"), ("time", "time"), ("time", "monotonic"),
               ("time", "time_ns"), ("time", "localtime"), ("time", "gmtime")}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts}


def imports_of(name: str) -> set[str]:
    """Every module this one imports, at the top or inside a function."""
    found = set()
    package = name if MODULES[name].name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(MODULES[name].read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[:len(package.split(".")) - node.level + 1]
            module = ".".join(base + [node.module] if node.level else [node.module]) \
                if node.module else ".".join(base)
            found.add(module)
            found |= {f"{module}.{a.name}" for a in node.names if f"{module}.{a.name}" in MODULES}
    return found


def hotline_imports(name: str) -> set[str]:
    return {m for m in imports_of(name) if m in MODULES and m != name}


def closure(roots: list[str]) -> set[str]:
    seen, todo = set(), [r for r in roots if r in MODULES]
    todo += [m for m in MODULES for r in roots if m.startswith(r + ".")]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += hotline_imports(name)
    return seen


def test_the_pure_core_imports_no_web_database_or_twilio_library():
    offenders = {name: sorted(m for m in imports_of(name) if m.split(".")[0] in SHELL_LIBRARIES)
                 for name in closure(PURE)}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_pure_core_never_reads_the_clock():
    reads = []
    for name in closure(PURE):
        for node in ast.walk(ast.parse(MODULES[name].read_text())):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and (node.value.id, node.attr) in CLOCK_READS):
                reads.append(f"{name}:{node.lineno} {node.value.id}.{node.attr}")
    assert reads == []


def test_importing_the_pure_core_loads_no_shell_library():
    """The same promise, checked by Python itself rather than by reading the source."""
    code = ("import sys\n" + "".join(f"import {m}\n" for m in PURE)
            + f"print(sorted(m for m in sys.modules if m.split('.')[0] in {SHELL_LIBRARIES!r}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_no_two_modules_import_each_other_even_round_a_circle():
    graph = {name: hotline_imports(name) for name in MODULES}
    # A package's __init__ importing its own modules is how a package exposes them.
    graph = {n: {m for m in deps if not n.startswith(m + ".") or MODULES[m].name != "__init__.py"}
             for n, deps in graph.items()}
    circles, state = [], {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                circles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert circles == []


@pytest.mark.parametrize("room", ["rotation", "voice", "text", "availability", "records", "ops",
                                  "cli", "paging", "dashboard", "simulator", "callout"])
def test_every_room_has_its_tests_beside_the_others(room):
    tests = Path(__file__).resolve().parent / room
    assert any(tests.glob("test_*.py")), f"tests/{room}/ should mirror hotline/{room}/"
