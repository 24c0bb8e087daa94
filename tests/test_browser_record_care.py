"""Real browser: a therapist books an integration session, marks it attended,
and sees the count against the minimum change on Record care and on the
caseload; screenshots of Record care, Users and Import at two sizes."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from db.engine import make_engine, session_factory
from db.models import Staff
from db.protocol import compute_compliance
from db.queries.patient import find_patient, patient_header, search_patients
from tests.apptest_support import DEMO_AS_OF, demo_clinic_template  # noqa: F401 (fixture)
from tests.browser_support import ARTIFACTS as ROOT_ARTIFACTS
from tests.browser_support import app_server, browser, sign_in, wait_settled  # noqa: F401

# A folder of our own: other modules may clear test-artifacts/ itself.
ARTIFACTS = ROOT_ARTIFACTS / "record-care"
SIZES = {"1366x768": (1366, 768), "1920x1080": (1920, 1080)}

pytestmark = pytest.mark.browser


def settled(page) -> None:
    wait_settled(page)


def signed_in(browser, base: str, username: str, size=(1366, 768)):
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = context.new_page()
    for _ in range(3):  # the first sign-in after start can be lost (stack notes)
        page.goto(base)
        if sign_in(page, username):
            return context, page
    context.close()
    pytest.fail(f"could not sign in as {username}")


def open_page(page, title: str) -> None:
    page.get_by_role("link", name=title).first.click()
    settled(page)


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


BROWSER_CHART = "KAP-BROWSER"


def _patient_short_of_the_minimum(db_url: str):
    """The therapist's patient whose series started and who has attended fewer
    integration sessions than required; built through db.recording once, so the
    test does not depend on what the demo generator happens to produce."""
    from datetime import timedelta

    from db.recording import (
        Actor,
        add_habit,
        add_patient,
        book_infusion,
        book_session,
        save_habit_week,
        set_infusion_status,
        start_series,
        week_of,
    )
    from tests.apptest_support import app_environment

    engine = make_engine(db_url)
    with app_environment(db_url), session_factory(engine)() as s:
        therapist = s.scalar(select(Staff).where(Staff.username == "therapist"))
        ref = find_patient(s, BROWSER_CHART)
        if ref is None:
            me = Actor(therapist.id, therapist.username, therapist.role)
            pk = add_patient(s, me, patient_id=BROWSER_CHART, first_name="Brooke",
                             last_name="Browser", date_of_birth=DEMO_AS_OF.replace(year=1985),
                             intake_date=DEMO_AS_OF - timedelta(days=30)).id
            book_session(s, me, pk, kind="preparation", on=DEMO_AS_OF - timedelta(days=2),
                         status="attended")
            series = start_series(s, me, pk)
            infusion = book_infusion(s, me, series.id, on=DEMO_AS_OF)
            set_infusion_status(s, me, infusion.id, "completed", infusion.version,
                                dose_mg_per_kg=0.5, route="IV")
            monday = week_of(DEMO_AS_OF)
            for name, target, days in (("Walk", 3, (0, 2)), ("Journal", 5, (0, 1, 3))):
                habit = add_habit(s, me, pk, name=name, target_per_week=target,
                                  start_date=DEMO_AS_OF - timedelta(days=21))
                save_habit_week(s, me, pk, monday,
                                {habit.id: {monday + timedelta(days=d) for d in days}},
                                {habit.id: habit.version})
        else:
            pk = ref.pk
        [sc] = [c for c in compute_compliance(s, DEMO_AS_OF, patient_ids=[pk]) if c.is_current]
        header = patient_header(s, pk, DEMO_AS_OF)
        assert sc.integration_attended < sc.integration_required
    engine.dispose()
    return sc, header


def test_book_attend_and_see_the_caseload_change(app_server, browser):
    base, db_url = app_server.url, app_server.database_url
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
        # On two busy cores the rerun for the chosen patient can land after
        # the page first settles: wait for its figure rather than read once.
        metric = page.get_by_test_id("stMetricValue").first
        expect(metric).to_have_text(before, timeout=60_000)
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


def _fits_across(page) -> None:
    """Nothing on the screen is cut off sideways: no horizontal scrolling at this size."""
    overflow = page.evaluate("() => { const m = document.querySelector('[data-testid=stMain]');"
                             " return m.scrollWidth - m.clientWidth; }")
    assert overflow <= 2, f"the main area scrolls sideways by {overflow}px"


def _grid_cells(page) -> list[str]:
    # The grid draws on a canvas; its accessible cells carry the text.
    return [c.strip() for c in
            page.locator("[data-testid='stDataFrame'] [role='gridcell']").all_inner_texts()]


@pytest.mark.parametrize("size", sorted(SIZES))
def test_screenshots(app_server, browser, size):
    """Each screenshot is taken once what it shows has been checked (issue 16)."""
    from db.demo import DEMO_ACCOUNTS
    from tests.apptest_support import app_environment

    base, db_url = app_server.url, app_server.database_url
    sc, header = _patient_short_of_the_minimum(db_url)
    context, page = signed_in(browser, base, "therapist", SIZES[size])
    try:
        open_page(page, "Record care")
        page.get_by_label("Patient", exact=True).click()
        page.get_by_role("option", name=re.compile(re.escape(header.chart))).click()
        settled(page)
        # The chosen patient, and their count against the minimum.
        expect(page.get_by_role("combobox", name="Patient")).to_have_value(
            re.compile(re.escape(header.chart)), timeout=60_000)
        expect(page.get_by_test_id("stMetricValue").first).to_have_text(
            f"{sc.integration_attended} of {sc.integration_required}", timeout=60_000)
        _fits_across(page)
        shot(page, f"record_care_therapist_{size}")
        # Each tab with what the patient was given: the series, the two habits, scores.
        for tab, shows in (("Infusions", ["Series"]), ("Habits", ["tick the days", "Walk", "Journal"]),
                           ("Scores", ["Total score"])):
            page.get_by_role("tab", name=tab).click()
            page.wait_for_timeout(500)
            panel = page.get_by_role("tabpanel").filter(visible=True)
            for text in shows:
                expect(panel.get_by_text(text).first).to_be_visible(timeout=20_000)
            panel.get_by_text(shows[0]).first.evaluate("el => el.scrollIntoView({block: 'start'})")
            page.wait_for_timeout(300)
            _fits_across(page)
            shot(page, f"record_care_{tab.lower()}_{size}")
    finally:
        context.close()
    engine = make_engine(db_url)
    with app_environment(db_url), session_factory(engine)() as s:
        found = {r.chart for r in search_patients(s, "a", therapist_id=None)}
    engine.dispose()
    assert found
    context, page = signed_in(browser, base, "director", SIZES[size])
    try:
        open_page(page, "Record care")
        page.get_by_placeholder("name or chart number").fill("a")
        page.keyboard.press("Enter")
        settled(page)
        # A patient found by the search is open, with their count against the minimum.
        expect(page.get_by_role("combobox", name="Patient")).to_have_value(
            re.compile("|".join(map(re.escape, found))), timeout=60_000)
        expect(page.get_by_test_id("stMetricValue").first).to_have_text(
            re.compile(r"^\d+ of \d+$"), timeout=20_000)
        _fits_across(page)
        shot(page, f"record_care_director_{size}")
    finally:
        context.close()
    context, page = signed_in(browser, base, "admin", SIZES[size])
    try:
        open_page(page, "Users")
        # Every account is listed (the grid's cells are its screen-reader mirror: attached,
        # not visible).
        expect(page.locator("[data-testid='stDataFrame'] [role='gridcell']").first) \
            .to_be_attached(timeout=20_000)
        cells = _grid_cells(page)
        assert {a.username for a in DEMO_ACCOUNTS} <= set(cells), cells
        _fits_across(page)
        shot(page, f"users_admin_{size}")
        open_page(page, "Import")
        page.locator("input[type=file]").set_input_files(files=[{
            "name": "patients.csv", "mimeType": "text/csv", "buffer": BROKEN_PATIENTS}])
        settled(page)
        page.get_by_role("button", name="1. Check the files (dry run)").click()
        page.get_by_text("problem(s) found").wait_for(timeout=20_000)
        settled(page)
        # The two broken lines, each with the column at fault; nothing imported.
        expect(page.get_by_text(re.compile(r"problem\(s\) found.*Nothing was changed"))) \
            .to_be_visible()
        cells = _grid_cells(page)
        problems = {(cells[i + 1], cells[i + 2]) for i in range(0, len(cells) - 3, 4)
                    if cells[i] == "patients.csv"}
        assert {("2", "date_of_birth"), ("3", "therapist")} <= problems, cells
        _fits_across(page)
        shot(page, f"import_problems_admin_{size}")
    finally:
        context.close()
    engine = make_engine(db_url)
    with session_factory(engine)() as s:
        assert find_patient(s, "K-1") is None and find_patient(s, "K-2") is None
    engine.dispose()
