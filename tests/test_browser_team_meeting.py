"""The team meeting screen in a real Chromium at 1920x1080, signed in as the wall display.

Saves screenshots under test-artifacts/ and checks what a visitor could read:
no patient's first name, last name or chart number anywhere on the page.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import select

from db.engine import make_engine, session_factory
from db.models import Patient, Staff
from tests.apptest_support import DEMO_PASSWORDS, TEST_COOKIE_KEY, build_demo_clinic
from tests.browser_support import (  # noqa: F401 - fixture
    ARTIFACTS,
    browser,
    require_chromium,
    start_server,
    stop_server,
)

# Enough patients for a typical clinic's active caseload on the screen.
PATIENTS = 400

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module", autouse=True)
def _chromium_first():
    """Skip (or fail in CI) before building a 400-patient clinic for nothing."""
    require_chromium()

HOSTILE_LINK = "](http://example.invalid/x)"
HOSTILE_AUTOLINK = "www.example.invalid"


@pytest.fixture(scope="module")
def clinic(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("team-meeting-browser") / "clinic.db"
    return build_demo_clinic(path, patients=PATIENTS)


@pytest.fixture(scope="module")
def hostile_clinic(tmp_path_factory) -> str:
    """A small clinic whose every therapist's first name is a Markdown link and
    an autolink: the screen must show them as typed (st.table renders Markdown)."""
    path = tmp_path_factory.mktemp("team-meeting-hostile") / "clinic.db"
    url = build_demo_clinic(path, patients=40)
    engine = make_engine(url)
    try:
        with session_factory(engine)() as s:
            for staff in s.scalars(select(Staff).where(Staff.role == "therapist")):
                words = staff.full_name.split()
                at = 1 if words[0] in ("Dr.", "Dr") else 0
                words[at] = f"[{words[at]}{HOSTILE_LINK}"
                words.append(HOSTILE_AUTOLINK)
                staff.full_name = " ".join(words)
            s.commit()
    finally:
        engine.dispose()
    return url


@contextmanager
def _serve(database_url: str, workdir: Path) -> Iterator[str]:
    """``streamlit run dashboard.py`` against ``database_url`` (not demo mode: a cookie key)."""
    (workdir / "secrets.toml").write_text(f'[auth]\ncookie_key = "{TEST_COOKIE_KEY}"\n')
    server = start_server(workdir, env={"DATABASE_URL": database_url})
    try:
        yield server.url
    finally:
        stop_server(server.process)


@pytest.fixture(scope="module")
def server(clinic, tmp_path_factory) -> Iterator[str]:
    with _serve(clinic, tmp_path_factory.mktemp("server")) as url:
        yield url


@pytest.fixture(scope="module")
def hostile_server(hostile_clinic, tmp_path_factory) -> Iterator[str]:
    with _serve(hostile_clinic, tmp_path_factory.mktemp("hostile-server")) as url:
        yield url


def _settle(page) -> None:
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']",
                           timeout=30_000)
    page.wait_for_timeout(1200)


def _sign_in(page, url: str, username: str) -> None:
    # The first sign-in after a start can be lost to the cookie component's
    # rerun (stack notes): try again rather than assume.
    for _ in range(3):
        page.goto(url)
        _settle(page)
        page.get_by_role("textbox", name="Username").fill(username)
        page.get_by_role("textbox", name="Password").fill(DEMO_PASSWORDS[username])
        page.get_by_role("button", name="Sign in").click()
        _settle(page)
        try:
            page.get_by_role("button", name="Sign out").wait_for(timeout=15_000)
            _settle(page)
            return
        except Exception:  # noqa: BLE001 - retried below
            continue
    raise AssertionError(f"could not sign in as {username}")


def _identifiers(url: str) -> tuple[list[tuple[str, str, str]], set[str]]:
    engine = make_engine(url)
    try:
        with session_factory(engine)() as s:
            patients = [tuple(r) for r in s.execute(
                select(Patient.first_name, Patient.last_name, Patient.patient_id))]
            staff = {w for n in s.scalars(select(Staff.full_name)) for w in re.findall(r"\w+", n)}
    finally:
        engine.dispose()
    return patients, staff


def _leaks(text: str, patients, staff_words: set[str]) -> list[str]:
    found = []
    for first, last, chart in patients:
        if re.search(rf"(?<!\w){re.escape(chart)}(?!\w)", text):
            found.append(chart)
        for name in (first, last):
            # Words of two letters or fewer match initials and codes by chance; a
            # patient who shares a name with a member of staff (shown by design as
            # therapist or in the sidebar) cannot be told apart from them.
            if len(name) <= 2 or name in staff_words:
                continue
            if re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text, re.IGNORECASE):
                found.append(name)
    return found


def test_wall_display_fits_and_names_nobody(server, browser, clinic):
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    try:
        _sign_in(page, server, "teamscreen")
        page.get_by_text("Needs discussion").first.wait_for(timeout=15_000)
        _settle(page)
        page.screenshot(path=str(ARTIFACTS / "team-meeting-1920x1080.png"))
        body = page.inner_text("body")
        assert "Team meeting" in body and "data last read at" in body
        patients, staff_words = _identifiers(clinic)
        assert len(patients) == PATIENTS
        assert _leaks(body, patients, staff_words) == []
        # Read from across the room: the whole screen without scrolling.
        main_overflow = page.evaluate(
            "() => { const m = document.querySelector('[data-testid=stMain]');"
            " return m.scrollHeight - m.clientHeight; }")
        assert main_overflow <= 2
        # The figures are big enough to read from three metres.
        value_px = page.evaluate(
            "() => parseFloat(getComputedStyle(document.querySelector("
            "'[data-testid=stMetricValue] p')).fontSize)")
        cell_px = page.evaluate(
            "() => parseFloat(getComputedStyle(document.querySelector("
            "'[data-testid=stTable] td p')).fontSize)")
        assert value_px >= 48 and cell_px >= 24
        # No drill-down: nothing on the screen links anywhere.
        assert page.locator("[data-testid=stMain] a[href]").count() == 0
    finally:
        context.close()


def test_therapist_screen_at_laptop_size(server, browser, clinic):
    """The clinic's screen, smaller: the same figures as the query, nobody named,
    nothing cut off sideways and every tile's label on one line."""
    from db.queries.team_meeting import team_meeting
    from tests.apptest_support import DEMO_AS_OF
    from ui.team_meeting_view import _percent

    engine = make_engine(clinic)
    try:
        with session_factory(engine)() as s:
            meeting = team_meeting(s, DEMO_AS_OF)
    finally:
        engine.dispose()
    h = meeting.headline
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    try:
        _sign_in(page, server, "therapist")
        page.get_by_role("link", name="Team meeting").click()
        _settle(page)
        page.get_by_text("Needs discussion").first.wait_for(timeout=15_000)
        _settle(page)
        body = page.inner_text("body")
        assert f"Team meeting · {DEMO_AS_OF.strftime('%A %-d %B')}" in body
        assert f"Needs discussion ({len(meeting.discussion)})" in body
        assert f"Wins ({len(meeting.wins)})" in body
        values = [v.strip() for v in page.get_by_test_id("stMetricValue").all_inner_texts()]
        assert values == [str(h.active_series), _percent(h.compliance_rate), str(h.at_risk),
                          str(h.stalled), str(h.infusions_this_week), str(h.sessions_this_week),
                          str(h.completed_this_week)]
        patients, staff_words = _identifiers(clinic)
        assert _leaks(body, patients, staff_words) == []
        sideways = page.evaluate(
            "() => { const m = document.querySelector('[data-testid=stMain]');"
            " return m.scrollWidth - m.clientWidth; }")
        assert sideways <= 2
        cut = page.evaluate(
            "() => [...document.querySelectorAll('[data-testid=stMetricLabel] p')]"
            ".filter(p => p.scrollWidth > p.clientWidth + 1).map(p => p.innerText)")
        assert cut == []
        assert page.locator("[data-testid=stVegaLiteChart]").first.bounding_box()["height"] > 100
        page.screenshot(path=str(ARTIFACTS / "team-meeting-1366x768.png"), full_page=True)
    finally:
        context.close()


@pytest.mark.slow
def test_the_screen_refreshes_in_place(server, browser):
    """After a minute the fragment has re-read the data without reloading the page."""
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    try:
        _sign_in(page, server, "teamscreen")
        page.get_by_text("Needs discussion").first.wait_for(timeout=15_000)
        page.evaluate("() => { window.__stillHere = true; }")
        stamp = page.get_by_text("data last read at").first.inner_text()
        page.wait_for_function(
            "s => !document.body.innerText.includes(s)", arg=stamp, timeout=75_000)
        assert page.evaluate("() => window.__stillHere === true")  # no full reload
        assert "Needs discussion" in page.inner_text("body")
    finally:
        context.close()


def test_markdown_in_names_shows_as_typed(hostile_server, browser):
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    try:
        _sign_in(page, hostile_server, "teamscreen")
        page.get_by_text("Needs discussion").first.wait_for(timeout=15_000)
        _settle(page)
        # The page breaks autolinks with an invisible word joiner (U+2060).
        body = page.inner_text("body").replace("\u2060", "")
        assert HOSTILE_LINK in body
        links = page.locator("[data-testid=stMain] a[href]")
        assert links.count() == 0, [links.nth(i).evaluate("a => a.outerHTML") for i in range(min(3, links.count()))]
    finally:
        context.close()
