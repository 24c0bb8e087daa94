"""Rules read off the source: no HTML built from data, cached reads keyed on the
user's scope and never on who is signed in, every CSV through the one writer."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APP_FILES = sorted([ROOT / "dashboard.py", *(ROOT / "ui").glob("*.py"), *(ROOT / "pages").glob("*.py")])
# Raw HTML goes to the browser through these; their content must be fixed text.
HTML_CALLS = {"html"}  # st.html, components.html
# What counts as "the user's scope" in a cached function's arguments.
SCOPE_PARAMS = {"therapist_id", "user_id", "user_role", "patient_ids", "scope"}
# Cached reads with no scope, and why that is safe: they hold no patient data.
UNSCOPED_OK = {
    ("ui/caseload_data.py", "load_therapists"): "therapist names for the director's picker",
    ("ui/compliance_data.py", "therapist_options"): "therapist names for the director's picker",
    ("ui/database.py", "_engine_for"): "the database engine",
}


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _module_constants(path: Path, seen: set[Path] | None = None) -> dict[str, bool]:
    """Module-level names -> whether their value is fixed text (constants only,
    f-strings of constants included, names imported from project modules followed)."""
    seen = seen or set()
    if path in seen or not path.exists():
        return {}
    seen.add(path)
    tree = _tree(path)
    known: dict[str, bool] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 \
                and node.module.split(".")[0] in ("ui", "db"):
            other = _module_constants(ROOT / (node.module.replace(".", "/") + ".py"), seen)
            for alias in node.names:
                if alias.name in other:
                    known[alias.asname or alias.name] = other[alias.name]
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name) and node.value is not None:
                    known[target.id] = _is_fixed(node.value, known)
    return known


def _is_fixed(node: ast.AST, known: dict[str, bool]) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, (str, int, float))
    if isinstance(node, ast.Name):
        return known.get(node.id, False)
    if isinstance(node, ast.JoinedStr):
        return all(_is_fixed(v, known) for v in node.values)
    if isinstance(node, ast.FormattedValue):
        return _is_fixed(node.value, known)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _is_fixed(node.left, known) and _is_fixed(node.right, known)
    return False


def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield node


def _name(func: ast.AST) -> str:
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


@pytest.mark.parametrize("path", APP_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_html_is_built_from_data(path):
    constants = _module_constants(path)
    for call in _calls(_tree(path)):
        where = f"{path.relative_to(ROOT)}:{call.lineno}"
        for kw in call.keywords:
            if kw.arg == "unsafe_allow_html" and not (isinstance(kw.value, ast.Constant) and kw.value.value is False):
                assert call.args and _is_fixed(call.args[0], constants), \
                    f"{where}: unsafe_allow_html with text that is not a fixed literal"
        if _name(call.func) in HTML_CALLS and isinstance(call.func, ast.Attribute):
            assert call.args and _is_fixed(call.args[0], constants), \
                f"{where}: raw HTML from something other than fixed text"


def test_the_html_check_catches_data():
    """The check above must fail on the mistakes it is there for."""
    bad = ast.parse('import streamlit as st\nname = row.name\nst.markdown(f"<b>{name}</b>", unsafe_allow_html=True)\n'
                    'st.html("<i>" + patient.first_name + "</i>")\n')
    constants = {"name": False}
    flagged = [c for c in _calls(bad) if (_name(c.func) == "markdown" or _name(c.func) == "html")
               and not _is_fixed(c.args[0], constants)]
    assert len(flagged) == 2
    assert _is_fixed(ast.parse('f"<style>{K}</style>"').body[0].value, {"K": True})


def _cached_functions():
    for path in sorted((ROOT / "ui").glob("*.py")):
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.FunctionDef):
                for deco in node.decorator_list:
                    target = deco.func if isinstance(deco, ast.Call) else deco
                    if _name(target) in ("cache_data", "cache_resource"):
                        yield path, node, _name(target)


CACHED = list(_cached_functions())


def test_there_are_cached_reads_to_check():
    assert sum(kind == "cache_data" for _, _, kind in CACHED) >= 5


@pytest.mark.parametrize("path, func, kind", CACHED,
                         ids=[f"{p.name}:{f.name}" for p, f, _ in CACHED])
def test_cached_reads_take_the_scope_and_never_ask_who_is_signed_in(path, func, kind):
    rel = str(path.relative_to(ROOT))
    params = {a.arg for a in func.args.args + func.args.kwonlyargs}
    if (rel, func.name) not in UNSCOPED_OK:
        assert params & SCOPE_PARAMS, f"{rel}:{func.name} is cached without the user's scope"
    for node in ast.walk(func):
        if isinstance(node, ast.Call):
            assert _name(node.func) not in ("current_user", "require_role", "require_page_access"), \
                f"{rel}:{func.name} reads the signed-in user inside a cache"
        if isinstance(node, ast.Attribute) and node.attr in ("session_state", "context"):
            raise AssertionError(f"{rel}:{func.name} reads session state inside a cache")


def test_every_csv_is_written_through_csv_safety():
    writers = []
    for path in sorted([*(ROOT / "db").rglob("*.py"), *APP_FILES]):
        if path.name == "csv_safety.py" or "migrations" in path.parts:
            continue
        for call in _calls(_tree(path)):
            name = _name(call.func)
            if name in ("to_csv", "DictWriter") or (name == "writer" and isinstance(call.func, ast.Attribute)
                                                     and _name(call.func.value) == "csv"):
                writers.append(f"{path.relative_to(ROOT)}:{call.lineno}")
    assert not writers, f"CSV written outside db.csv_safety: {writers}"
