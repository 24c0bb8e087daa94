"""AppTest helpers: run any page as a seeded, signed-in user against a demo clinic.

In a test module::

    from tests.apptest_support import demo_clinic_template, demo_clinic_url, page_test  # noqa: F401

    def test_caseload_lists_patients(demo_clinic_url):
        at = page_test("pages/caseload.py", "therapist", demo_clinic_url).run()
        assert not at.exception

``page_test`` runs the page file on its own (as dashboard.py would after
validating the session), with ``st.session_state["current_user"]`` seeded, the
database pointed at ``database_url`` and the clinic's today pinned to
``DEMO_AS_OF``: the environment is set only while the app runs.
"""
from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from unittest.mock import patch

import pytest
import streamlit as st
from sqlalchemy import select
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1 import app_test as app_test_module

from db.demo import DEMO_ACCOUNTS, ensure_demo_accounts, generate_demo
from db.engine import make_engine, session_factory
from db.migrate import upgrade
from db.models import Staff
from ui.access import CURRENT_USER_KEY, CurrentUser

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEMO_AS_OF = date(2026, 11, 27)
DEMO_SEED = 11
DEMO_PATIENTS = 60
# A valid key for runs that are not in demo mode (DATABASE_URL set); tests only.
TEST_COOKIE_KEY = "tests-only-3f9b1c7d2e8a4f6b0c5d9e1a7b3c8f2d4e6a"
DEMO_PASSWORDS = {a.username: a.password for a in DEMO_ACCOUNTS}
ROLE_ACCOUNTS = {a.role: a.username for a in DEMO_ACCOUNTS}


def build_demo_clinic(path: Path, *, patients: int = DEMO_PATIENTS, seed: int = DEMO_SEED,
                      as_of: date = DEMO_AS_OF) -> str:
    """A migrated SQLite demo clinic with the demo accounts at ``path``; returns its URL."""
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    try:
        upgrade(engine)
        with session_factory(engine)() as session:
            generate_demo(session, patients=patients, seed=seed, as_of=as_of)
            ensure_demo_accounts(session)
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        engine.dispose()
    return url


@pytest.fixture(scope="session")
def demo_clinic_template(tmp_path_factory) -> Path:
    """Built once per test run; tests get copies. Under pytest-xdist the workers share
    one (it costs tens of seconds): the first builds it under a lock in the run's
    common temporary folder, the others wait and reuse it."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        path = tmp_path_factory.mktemp("demo-template") / "clinic.db"
        build_demo_clinic(path)
        return path
    shared = tmp_path_factory.getbasetemp().parent / "demo-template"
    shared.mkdir(exist_ok=True)
    path = shared / "clinic.db"
    with open(shared / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            building = shared / "building" / "clinic.db"
            building.parent.mkdir(exist_ok=True)
            build_demo_clinic(building)
            os.replace(building, path)
    return path


@pytest.fixture(scope="module")
def demo_clinic_url(demo_clinic_template, tmp_path_factory) -> str:
    """A module's own copy of the demo clinic (60 patients, seed 11, as of DEMO_AS_OF)."""
    path = tmp_path_factory.mktemp("demo-clinic") / "clinic.db"
    shutil.copy(demo_clinic_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def fresh_demo_clinic_url(demo_clinic_template, tmp_path) -> str:
    """A test's own copy, for tests that change accounts or sessions."""
    path = tmp_path / "clinic.db"
    shutil.copy(demo_clinic_template, path)
    return f"sqlite:///{path}"


@contextmanager
def app_environment(database_url: str, today: date | None = DEMO_AS_OF) -> Iterator[None]:
    """DATABASE_URL (and KAP_TODAY) set for the duration of the block only."""
    saved = {k: os.environ.get(k) for k in ("DATABASE_URL", "KAP_TODAY")}
    os.environ["DATABASE_URL"] = database_url
    if today is not None:
        os.environ["KAP_TODAY"] = today.isoformat()
    else:
        os.environ.pop("KAP_TODAY", None)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class _SteadyStatePagesManager(PagesManager):
    """The server's pages manager once any session has called st.navigation.

    Because pages/ sits beside dashboard.py, Streamlit starts in its old
    "pages folder" mode, which runs a requested page file without the main
    script; the first st.navigation call switches that off for the whole
    process, for good. AppTest resets the switch before every run, so without
    this every run after a page switch would skip dashboard.py (and with it
    the session check) in a way the real server never does.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        PagesManager.uses_pages_directory = False


class ClinicAppTest(AppTest):
    """An AppTest whose every run sees the given database and today."""

    database_url: str = ""
    today: date | None = DEMO_AS_OF

    def _run(self, widget_state=None, timeout=None):
        with app_environment(self.database_url, self.today), \
                patch.object(app_test_module, "PagesManager", _SteadyStatePagesManager):
            return super()._run(widget_state, timeout)


def clinic_app(script: str, database_url: str, *, today: date | None = DEMO_AS_OF,
               timeout: float = 60, cookie_key: str | None = TEST_COOKIE_KEY) -> ClinicAppTest:
    """An AppTest of ``script`` (relative to the project root) against ``database_url``.

    With DATABASE_URL set the app is not in demo mode, so it needs a cookie
    key: ``cookie_key`` is put into ``at.secrets`` (None leaves it out).
    """
    st.cache_data.clear()
    st.cache_resource.clear()
    at = ClinicAppTest(PROJECT_ROOT / script, default_timeout=timeout)
    at.database_url = database_url
    at.today = today
    if cookie_key is not None:
        at.secrets["auth"] = {"cookie_key": cookie_key}
    return at


def user_for(database_url: str, who: str | CurrentUser) -> CurrentUser:
    """A CurrentUser from the database: a role (its demo account, else its first active
    account) or a username."""
    if isinstance(who, CurrentUser):
        return who
    engine = make_engine(database_url)
    try:
        with session_factory(engine)() as session:
            staff = session.scalar(select(Staff).where(Staff.username == who))
            if staff is None:
                staff = session.scalar(select(Staff).where(Staff.username == ROLE_ACCOUNTS.get(who, "")))
            if staff is None:
                staff = session.scalar(
                    select(Staff).where(Staff.role == who, Staff.active.is_(True)).order_by(Staff.id))
            if staff is None:
                raise LookupError(f"no staff account or role {who!r} in {database_url}")
            return CurrentUser(staff.id, staff.username, staff.full_name, staff.role)
    finally:
        engine.dispose()


def page_test(page_path: str, user: str | CurrentUser | None, database_url: str, *,
              today: date | None = DEMO_AS_OF, timeout: float = 60) -> ClinicAppTest:
    """An AppTest of one page file with ``user`` (a role, a username or a CurrentUser;
    None for signed out) seeded as dashboard.py would after validating the session."""
    at = clinic_app(page_path, database_url, today=today, timeout=timeout)
    if user is not None:
        at.session_state[CURRENT_USER_KEY] = user_for(database_url, user)
    return at


def sign_in(at: AppTest, username: str, password: str | None = None) -> AppTest:
    """Fill and submit dashboard.py's real sign-in form."""
    password = DEMO_PASSWORDS[username] if password is None else password
    inputs = {t.label: t for t in at.text_input}
    inputs["Username"].input(username)
    inputs["Password"].input(password)
    next(b for b in at.button if b.label == "Sign in").click()
    return at.run()


def shown(markdown: str) -> str:
    """The text a person reads in an element whose body went through ui.text.md_escape."""
    import re

    return re.sub(r"\\(.)", r"\1", markdown).replace("\u2060", "")
