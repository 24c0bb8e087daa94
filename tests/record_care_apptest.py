"""AppTest helpers for the Record care, Users and Import pages: run a page file
against a migrated SQLite clinic with a user already signed in.

The shell's sign-in is tested by the shell's own tests; here the page is run
directly with ``current_user`` seeded, as dashboard.py leaves it after sign-in.
"""
from __future__ import annotations

import atexit
import shutil
import tempfile
from functools import cache
from pathlib import Path

from streamlit.testing.v1 import AppTest

from db.engine import make_engine
from db.migrate import upgrade
from tests.apptest_support import user_for
from ui.access import CURRENT_USER_KEY, CurrentUser
from ui.forms import RecordScope
from tests.apptest_support import shown

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 30


@cache
def _migrated_template() -> Path:
    """One migrated SQLite file per test process (migrating costs most of a second on
    busy cores, copying the file almost nothing)."""
    folder = Path(tempfile.mkdtemp(prefix="kap-migrated-"))
    atexit.register(shutil.rmtree, folder, True)
    template = folder / "clinic.db"
    engine = make_engine(f"sqlite:///{template}")
    upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return template


def migrated_sqlite(path: Path) -> str:
    """An empty clinic at ``path``: the schema as the migrations build it (a copy of
    one migrated file); returns its URL."""
    shutil.copy(_migrated_template(), path)
    return f"sqlite:///{path}"


def run_page(page: str, user: str | CurrentUser, monkeypatch, url: str, **state) -> AppTest:
    """``user``: a username (looked up as the other page tests do) or a CurrentUser."""
    monkeypatch.setenv("DATABASE_URL", url)
    at = AppTest.from_file(str(ROOT / page), default_timeout=TIMEOUT)
    at.session_state[CURRENT_USER_KEY] = user_for(url, user)
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def patient_key(name: str, patient_pk: int) -> str:
    """A Record care widget's key for one patient, as ui.forms.RecordScope builds it."""
    return RecordScope("patient", patient_pk, "").key(name)


def form_errors(at: AppTest) -> list[str]:
    return [shown(e.value) for e in at.error]
