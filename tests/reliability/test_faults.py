"""Faults under a running app: PostgreSQL stopped mid-session and started again,
the SQLite file read-only or missing, a query that takes too long. Each time a
calm message, no traceback, no connection details, and the app recovers by
itself (same process, same signed-in session)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import text

from db.demo import ensure_demo_accounts, generate_demo
from db.engine import make_engine, session_factory
from db.migrate import upgrade
from tests.apptest_support import DEMO_AS_OF, clinic_app, demo_clinic_template, sign_in  # noqa: F401
from tests.reliability.private_pg import private_postgres  # noqa: F401 (fixture)

pytestmark = [pytest.mark.faults, pytest.mark.slow]
OUTAGE_TITLE = "The clinic database is not reachable"
SECRETS_IN_TEXT = ("postgresql", "psycopg", "sqlite", "127.0.0.1", "Traceback", "OperationalError",
                   "clinic.db", "password")


def shown(at) -> str:
    parts = []
    for kind in ("title", "markdown", "caption", "text", "error", "info", "warning", "exception",
                 "success", "code"):
        for el in getattr(at, kind, []):
            parts.append(str(getattr(el, "value", "")))
    return "\n".join(parts)


def assert_calm(at) -> None:
    assert not at.exception, f"a traceback reached the page: {at.exception}"
    page = shown(at)
    assert OUTAGE_TITLE in page, page
    for leak in SECRETS_IN_TEXT:
        assert leak.lower() not in page.lower(), f"{leak!r} shown on the outage page"
    assert any(b.label == "Retry" for b in at.button)


def retry(at):
    next(b for b in at.button if b.label == "Retry").click()
    return at.run()


def signed_in_page(at) -> bool:
    return not at.exception and any(b.label == "Sign out" for b in at.button) \
        and OUTAGE_TITLE not in shown(at)


@pytest.fixture(scope="module")
def pg_clinic(private_postgres):
    engine = make_engine(private_postgres.url)
    upgrade(engine)
    with session_factory(engine)() as s:
        generate_demo(s, patients=12, seed=3, as_of=DEMO_AS_OF)
        ensure_demo_accounts(s)
    engine.dispose()
    return private_postgres


def test_postgres_stopped_mid_session_and_started_again(pg_clinic):
    at = clinic_app("dashboard.py", pg_clinic.url).run()
    sign_in(at, "therapist")
    assert signed_in_page(at), shown(at)
    caseload = [t.value for t in at.title]

    pg_clinic.stop()
    try:
        at.run()  # the next click, with the server gone
        assert_calm(at)
        retry(at)  # still gone: the same calm page, not an error
        assert_calm(at)
    finally:
        pg_clinic.start()
    retry(at)
    assert signed_in_page(at), "not back after the server returned: " + shown(at)
    assert [t.value for t in at.title] == caseload  # same user, same page, no new sign-in


def test_slow_query_is_cut_off_calmly_and_the_next_run_recovers(pg_clinic, monkeypatch):
    """A statement the server cancels (statement_timeout) gives the calm page, not a traceback."""
    from db.queries import caseload as cq

    real = cq.caseload

    def slow(session, *args, **kwargs):
        session.execute(text("SET LOCAL statement_timeout = '200ms'"))
        session.execute(text("SELECT pg_sleep(3)"))
        return real(session, *args, **kwargs)

    at = clinic_app("dashboard.py", pg_clinic.url).run()
    sign_in(at, "therapist")
    assert signed_in_page(at)
    monkeypatch.setattr(cq, "caseload", slow)
    import streamlit as st
    st.cache_data.clear()
    at.run()
    assert_calm(at)
    monkeypatch.setattr(cq, "caseload", real)
    retry(at)
    assert signed_in_page(at)


@pytest.fixture
def sqlite_clinic(demo_clinic_template, tmp_path) -> Path:
    folder = tmp_path / "clinic"
    folder.mkdir()
    shutil.copy(demo_clinic_template, folder / "clinic.db")
    return folder / "clinic.db"


def test_sqlite_file_read_only(sqlite_clinic):
    """Opened read-only (as when a disk or mount turns read-only): sign-in needs a
    write, which fails calmly."""
    url = f"sqlite:///file:{sqlite_clinic}?mode=ro&uri=true"
    at = clinic_app("dashboard.py", url).run()
    assert not at.exception, at.exception
    sign_in(at, "therapist")
    assert_calm(at)


def test_sqlite_folder_missing_and_uncreatable(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the database folder should be")
    at = clinic_app("dashboard.py", f"sqlite:///{blocker}/clinic.db").run()
    assert_calm(at)


def test_sqlite_file_removed_mid_session(sqlite_clinic):
    """The database file disappears under a signed-in user: they are not shown an
    empty clinic as if nothing happened, and nothing crashes."""
    url = f"sqlite:///{sqlite_clinic}"
    at = clinic_app("dashboard.py", url).run()
    sign_in(at, "therapist")
    assert signed_in_page(at)
    moved = sqlite_clinic.with_suffix(".moved")
    for suffix in ("", "-wal", "-shm"):
        src = Path(f"{sqlite_clinic}{suffix}")
        if src.exists():
            src.rename(f"{moved}{suffix}")
    at.run()
    assert not at.exception
    assert OUTAGE_TITLE in shown(at), shown(at)
    for suffix in ("", "-wal", "-shm"):
        src = Path(f"{moved}{suffix}")
        if src.exists():
            src.rename(f"{sqlite_clinic}{suffix}")
    retry(at)
    assert signed_in_page(at)
