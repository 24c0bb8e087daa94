"""The layers' rules, read from the code's syntax trees (issue 16).

pages -> ui -> db: ``db/`` is plain Python (never imports streamlit, ui, pages
or dashboard), ``ui/`` never imports a page, every file in ``pages/`` is in the
page registry, and pages are wiring only: they never open a database session
or run SQL (no sqlalchemy, no ``db.engine``, no ``ui.database.db_session``, no
``.execute``/``.scalars``/``.scalar`` call). Imports are read with ``ast``, so
a word in a docstring or a comment never counts.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from ui.pages import all_page_paths

ROOT = Path(__file__).resolve().parent.parent
DB_FILES = sorted((ROOT / "db").rglob("*.py"))
UI_FILES = sorted((ROOT / "ui").rglob("*.py"))
PAGE_FILES = sorted(p for p in (ROOT / "pages").glob("*.py") if p.name != "__init__.py")

# What a page may not import: the engine, the session, SQL.
SESSION_MODULES = ("sqlalchemy", "db.engine")
SESSION_NAMES = {("ui.database", "db_session")}
SQL_METHODS = {"execute", "scalars", "scalar", "exec_driver_sql"}
# Pages that still open a session themselves: each flips to a failure (strict)
# once it is fixed, so the list can only shrink.
STILL_OPENING_SESSIONS: dict[str, str] = {}  # file name -> reason naming its issue


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def imported_modules(tree: ast.Module) -> set[str]:
    """Every absolute module a file imports (``from x import y`` gives x and x.y)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _under(module: str, roots: tuple[str, ...]) -> bool:
    return any(module == r or module.startswith(f"{r}.") for r in roots)


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def session_work(tree: ast.Module) -> list[str]:
    """What in a page opens a session or runs SQL, as (line: what) strings."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [f"{node.lineno}: import {a.name}" for a in node.names
                      if _under(a.name, SESSION_MODULES + ("ui.database",))]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if _under(node.module, SESSION_MODULES):
                found.append(f"{node.lineno}: from {node.module} import ...")
            found += [f"{node.lineno}: from {node.module} import {a.name}" for a in node.names
                      if (node.module, a.name) in SESSION_NAMES]
        elif isinstance(node, ast.Attribute) and node.attr == "db_session":
            found.append(f"{node.lineno}: .db_session")
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr in SQL_METHODS):
            found.append(f"{node.lineno}: .{node.func.attr}(...)")
    return found


def test_the_rules_see_what_they_look_for():
    """The checks themselves, on code that breaks each rule (so they can fail)."""
    bad = ast.parse("import streamlit as st\nfrom ui.pages import REGISTRY\n"
                    "from ui.database import db_session\nimport sqlalchemy\n"
                    "with db_session() as s:\n    s.execute(q)\n"
                    "'''import streamlit in a docstring'''\n")
    assert {"streamlit", "ui.pages", "ui.database.db_session", "sqlalchemy"} <= \
        imported_modules(bad)
    assert [w.split(": ")[1] for w in session_work(bad)] == [
        "from ui.database import db_session", "import sqlalchemy", ".execute(...)"]
    assert session_work(ast.parse("from ui.database import guard_database\n"
                                  "'''session.execute(x)'''\n")) == []


@pytest.mark.parametrize("path", DB_FILES, ids=_rel)
def test_db_never_imports_streamlit_ui_or_pages(path):
    upward = sorted(m for m in imported_modules(_tree(path))
                    if _under(m, ("streamlit", "ui", "pages", "dashboard")))
    assert upward == [], f"{_rel(path)} imports {upward}"


@pytest.mark.parametrize("path", UI_FILES, ids=_rel)
def test_ui_never_imports_a_page(path):
    upward = sorted(m for m in imported_modules(_tree(path)) if _under(m, ("pages", "dashboard")))
    assert upward == [], f"{_rel(path)} imports {upward}"


def test_every_page_file_is_registered():
    assert PAGE_FILES, "no pages found"
    assert {_rel(p) for p in PAGE_FILES} == set(all_page_paths())


@pytest.mark.parametrize("path", [
    pytest.param(p, marks=pytest.mark.xfail(strict=True, reason=STILL_OPENING_SESSIONS[p.name]))
    if p.name in STILL_OPENING_SESSIONS else p
    for p in PAGE_FILES], ids=_rel)
def test_pages_never_open_a_session_or_run_sql(path):
    assert session_work(_tree(path)) == [], f"{_rel(path)} does session work itself"
