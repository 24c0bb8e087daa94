"""Real browser: a therapist books an integration session, marks it attended,
and sees the count against the minimum change on Record care and on the
caseload; screenshots of Record care, Users and Import at two sizes."""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from db.engine import make_engine, session_factory
from db.protocol import compute_compliance
from db.models import Staff
from sqlalchemy import select
from tests.apptest_support import DEMO_AS_OF, DEMO_PASSWORDS, TEST_COOKIE_KEY, build_demo_clinic

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts" / "record-care"
SIZES = {"1366x768": (1366, 768), "1920x1080": (1920, 1080)}

pytestmark = pytest.mark.browser


def _needs_browser() -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} is missing and REQUIRE_BROWSER=1")
        pytest.skip(f"no Chromium at {CHROMIUM}: browser tests skipped")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[tuple[str, str]]:
    """A Streamlit server on a fresh demo clinic; yields (base URL, database URL)."""
    _needs_browser()
    folder = tmp_path_factory.mktemp("browser-record-care")
    db_url = build_demo_clinic(folder / "clinic.db")
    secrets = folder / "secrets.toml"
    secrets.write_text(f'[auth]\ncookie_key = "{TEST_COOKIE_KEY}"\n')
    port = _free_port()
    env = os.environ | {"DATABASE_URL": db_url, "KAP_TODAY": DEMO_AS_OF.isoformat()}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "dashboard.py", "--server.headless=true",
         f"--server.port={port}", "--server.address=127.0.0.1",
         "--browser.gatherUsageStats=false", f"--secrets.files={secrets}"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("streamlit did not start")
        yield base, db_url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture(scope="module")
def browser():
    _needs_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield b
        b.close()


def settled(page) -> None:
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']",
                           timeout=30_000)
    page.wait_for_timeout(400)
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']",
                           timeout=30_000)


def signed_in(browser, base: str, username: str, size=(1366, 768)):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = context.new_page()
    sign_out = page.get_by_role("button", name="Sign out")
    for _ in range(3):  # the first sign-in after start can be lost (stack notes)
        page.goto(base)
        settled(page)
        if sign_out.count():
            return context, page
        page.get_by_role("textbox", name="Username").fill(username)
        page.get_by_role("textbox", name="Password").fill(DEMO_PASSWORDS[username])
        page.get_by_role("button", name="Sign in").click()
        try:
            sign_out.wait_for(timeout=15_000)
            settled(page)
            return context, page
        except PlaywrightTimeout:
            continue
    context.close()
    pytest.fail(f"could not sign in as {username}")


def open_page(page, title: str) -> None:
    page.get_by_role("link", name=title).first.click()
    settled(page)


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _patient_short_of_the_minimum(db_url: str):
    """A demo patient of the therapist, current series started, fewer attended than required."""
    engine = make_engine(db_url)
    with session_factory(engine)() as s:
        tid = s.scalar(select(Staff.id).where(Staff.username == "therapist"))
        rows = [sc for sc in compute_compliance(s, DEMO_AS_OF, therapist_id=tid)
                if sc.is_current and sc.series_status == "active" and sc.infusions_completed
                and sc.integration_attended < sc.integration_required
                and sc.window_end and sc.window_end >= DEMO_AS_OF]
        from db.queries.patient import patient_header
        header = patient_header(s, rows[0].patient_pk, DEMO_AS_OF)
    engine.dispose()
    return rows[0], header


def test_book_attend_and_see_the_caseload_change(server, browser):
    base, db_url = server
    sc, header = _patient_short_of_the_minimum(db_url)
    before, after = f"{sc.integration_attended} of {sc.integration_required}", \
        f"{sc.integration_attended + 1} of {sc.integration_required}"
    context, page = signed_in(browser, base, "therapist")
    try:
        open_page(page, "Record care")
        picker = page.get_by_label("Patient", exact=True)
        picker.click()
        page.get_by_role("option", name=re.compile(re.escape(header.chart))).click()
        settled(page)
        metric = page.get_by_test_id("stMetricValue").first
        assert metric.inner_text() == before
        # Book an integration session for today, as upcoming.
        form = page.get_by_test_id("stForm").filter(has_text="Book a session")
        form.get_by_role("button", name="Book session").click()
        settled(page)
        page.get_by_text("Integration session on").wait_for(timeout=20_000)
        # Record it as attended.
        record = page.get_by_test_id("stForm").filter(has_text="Record how a booked session went")
        record.get_by_text("Attended", exact=True).click()
        record.get_by_role("button", name="Save outcome").click()
        settled(page)
        page.get_by_text(f"Now {after} integration sessions attended").wait_for(timeout=20_000)
        assert page.get_by_test_id("stMetricValue").first.inner_text() == after
        shot(page, "record_care_after_attended_1366x768")
        # The caseload shows the new count at once.
        open_page(page, "My caseload")
        page.get_by_placeholder("Name or chart number").fill(header.chart)
        page.keyboard.press("Enter")
        settled(page)
        shot(page, "caseload_after_attended_1366x768")
        # The grid draws on a canvas; its accessible cells carry the text.
        cells = page.locator("[data-testid='stDataFrame'] [role='gridcell']").all_inner_texts()
        assert any(c.strip().startswith(after) for c in cells), cells
    finally:
        context.close()


BROKEN_PATIENTS = (b"patient_id,first_name,last_name,date_of_birth,therapist,intake_date,intentions\n"
                   b"K-1,Ann,One,1980-13-03,therapist,2026-01-05,\n"
                   b"K-2,Ben,Two,1975-07-08,nobody,2026-02-01,\n")


@pytest.mark.parametrize("size", sorted(SIZES))
def test_screenshots(server, browser, size):
    base, db_url = server
    _, header = _patient_short_of_the_minimum(db_url)
    context, page = signed_in(browser, base, "therapist", SIZES[size])
    try:
        open_page(page, "Record care")
        page.get_by_label("Patient", exact=True).click()
        page.get_by_role("option", name=re.compile(re.escape(header.chart))).click()
        settled(page)
        shot(page, f"record_care_therapist_{size}")
        for tab, anchor in (("Infusions", "Series"), ("Habits", "tick the days"),
                            ("Scores", "Total score")):
            page.get_by_role("tab", name=tab).click()
            page.wait_for_timeout(500)
            page.get_by_text(anchor).first.evaluate("el => el.scrollIntoView({block: 'start'})")
            page.wait_for_timeout(300)
            shot(page, f"record_care_{tab.lower()}_{size}")
    finally:
        context.close()
    context, page = signed_in(browser, base, "director", SIZES[size])
    try:
        open_page(page, "Record care")
        page.get_by_placeholder("name or chart number").fill("a")
        page.keyboard.press("Enter")
        settled(page)
        shot(page, f"record_care_director_{size}")
    finally:
        context.close()
    context, page = signed_in(browser, base, "admin", SIZES[size])
    try:
        open_page(page, "Users")
        shot(page, f"users_admin_{size}")
        open_page(page, "Import")
        page.locator("input[type=file]").set_input_files(files=[{
            "name": "patients.csv", "mimeType": "text/csv", "buffer": BROKEN_PATIENTS}])
        settled(page)
        page.get_by_role("button", name="1. Check the files (dry run)").click()
        page.get_by_text("problem(s) found").wait_for(timeout=20_000)
        settled(page)
        shot(page, f"import_problems_admin_{size}")
    finally:
        context.close()
