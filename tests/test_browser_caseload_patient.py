"""Real browser: the therapist's caseload and a patient's record on the demo
clinic, at 1366x768 and 1920x1080, with screenshots for people to look at.

Checks what a screenshot cannot prove by itself: the caseload table needs no
sideways scrolling, selecting a row opens that patient, a link to someone
else's patient is refused, and nothing on either page overflows its width.
"""
from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from db.engine import make_engine, session_factory
from db.models import AuditEvent, Patient, Staff
from db.queries.caseload import caseload, filter_rows
from tests.apptest_support import DEMO_AS_OF, demo_clinic_template  # noqa: F401 - fixture
from tests.browser_support import (  # noqa: F401 - fixtures
    ARTIFACTS,
    app_server,
    browser,
    sign_in,
    wait_settled,
)

pytestmark = pytest.mark.browser

SIZES = {"1366x768": (1366, 768), "1920x1080": (1920, 1080)}


def _open_rows(database_url: str, username: str):
    engine = make_engine(database_url)
    try:
        with session_factory(engine)() as s:
            tid = s.scalar(select(Staff.id).where(Staff.username == username))
            rows = filter_rows(caseload(s, DEMO_AS_OF, therapist_id=tid))
            other = s.scalar(select(Patient.patient_id).where(Patient.therapist_id != tid)
                             .order_by(Patient.patient_id))
            return rows, other
    finally:
        engine.dispose()


def _last_view_route(database_url: str, chart: str) -> str | None:
    engine = make_engine(database_url)
    try:
        with session_factory(engine)() as s:
            detail = s.scalar(select(AuditEvent.detail)
                              .where(AuditEvent.action == "patient.view",
                                     AuditEvent.patient_ref == chart)
                              .order_by(AuditEvent.id.desc()).limit(1))
            return json.loads(detail)["route"] if detail else None
    finally:
        engine.dispose()


def _overflow(page) -> dict:
    """Widths that would mean sideways scrolling: the page's main area and each
    table's own scroller."""
    return page.evaluate("""() => {
        const main = document.querySelector('[data-testid="stMain"]');
        const grids = [...document.querySelectorAll('[data-testid="stMain"] .dvn-scroller')]
            .filter(g => g.offsetParent !== null)
            .map(g => [g.scrollWidth, g.clientWidth]);
        return {main: [main.scrollWidth, main.clientWidth], grids: grids};
    }""")


def _no_sideways_scrolling(page) -> None:
    widths = _overflow(page)
    assert widths["main"][0] <= widths["main"][1] + 1, widths
    for scroll, client in widths["grids"]:
        assert scroll <= client + 1, widths


def _shoot(page, name: str, size: str) -> None:
    """The screen as the user sees it, and the whole page (the viewport grown to it)."""
    ARTIFACTS.mkdir(exist_ok=True)
    width, height = SIZES[size]
    page.screenshot(path=str(ARTIFACTS / f"{name}-{size}.png"))
    full = page.evaluate("document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": width, "height": max(height, full)})
    page.wait_for_timeout(800)
    page.screenshot(path=str(ARTIFACTS / f"{name}-{size}-full.png"))
    page.set_viewport_size({"width": width, "height": height})


@pytest.mark.parametrize("size", list(SIZES))
def test_therapist_caseload_then_patient(app_server, browser, size):
    rows, other_chart = _open_rows(app_server.database_url, "therapist")
    assert rows, "the demo therapist needs open series for this test"
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    try:
        page.goto(app_server.url)
        assert sign_in(page, "therapist")
        # The therapist lands on My caseload.
        page.get_by_role("heading", name="My caseload").wait_for()
        wait_settled(page)
        page.wait_for_timeout(800)
        _no_sideways_scrolling(page)
        _shoot(page, "caseload-therapist", size)

        # Select the first row (the one most in need): its patient opens.
        grid = page.locator('[data-testid="stDataFrame"]').first
        box = grid.bounding_box()
        page.mouse.click(box["x"] + 18, box["y"] + 40 + 40)
        page.wait_for_url(re.compile(r"/patient\?patient="), timeout=30_000)
        wait_settled(page)
        first = rows[0]
        assert f"patient={first.chart}" in page.url
        page.get_by_role("heading", name=first.name).wait_for()
        page.get_by_role("heading", name="Series timeline").wait_for()
        page.wait_for_timeout(1500)  # charts draw after the script settles
        _no_sideways_scrolling(page)
        _shoot(page, "patient-therapist", size)
        assert _last_view_route(app_server.database_url, first.chart) == "caseload"

        # A link to another therapist's patient is refused in plain words.
        page.goto(f"{app_server.url}/patient?patient={other_chart}")
        wait_settled(page)
        page.get_by_text("only the records of patients on your own caseload").wait_for()
        assert page.get_by_role("heading", name="Series timeline").count() == 0
    finally:
        context.close()


def test_record_of_a_patient_mid_series(app_server, browser):
    """The record a README reader should see: a series under way, with sessions
    booked, habits and scores (the demo clinic has such a patient)."""
    rows, _ = _open_rows(app_server.database_url, "therapist")
    mid = sorted((r for r in rows if r.status in ("on_track", "at_risk", "compliant")),
                 key=lambda r: (-r.habits_counted, r.phq9_latest is None,
                                -r.integration_upcoming))
    assert mid, "the demo therapist should have a series under way"
    width, height = SIZES["1366x768"]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    try:
        page.goto(app_server.url)
        assert sign_in(page, "therapist")
        page.goto(f"{app_server.url}/patient?patient={mid[0].chart}")
        wait_settled(page)
        page.get_by_role("heading", name=mid[0].name).wait_for()
        page.get_by_role("heading", name="Habits").wait_for()
        page.wait_for_timeout(1500)
        _no_sideways_scrolling(page)
        _shoot(page, "patient-mid-series", "1366x768")
    finally:
        context.close()


def test_director_sees_all_caseloads(app_server, browser):
    width, height = SIZES["1366x768"]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    try:
        page.goto(app_server.url)
        assert sign_in(page, "director")
        page.get_by_role("link", name="Caseloads").click()
        wait_settled(page)
        page.get_by_role("heading", name="Caseloads").wait_for()
        page.wait_for_timeout(800)
        _no_sideways_scrolling(page)
        _shoot(page, "caseload-director-all", "1366x768")
    finally:
        context.close()
