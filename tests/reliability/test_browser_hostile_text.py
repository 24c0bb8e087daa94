"""Hostile text in every free-text field (patient names, intentions, habit names,
a staff name), stored through the plain functions, then opened in a real
browser: caseload, patient, record care and team meeting show it as literal
text, no script runs (a ``window.__pwned`` canary), no element is injected,
and the page does not grow sideways."""
from __future__ import annotations

import shutil
from datetime import date
from urllib.parse import quote

import pytest
from sqlalchemy import select, update

from db import recording
from db.engine import make_engine, session_factory
from db.models import Patient, Staff
from db.recording import Actor
from tests.apptest_support import DEMO_AS_OF, demo_clinic_template  # noqa: F401 (fixture)
from tests.browser_support import browser, require_chromium, screenshot, sign_in, start_server, stop_server, wait_settled  # noqa: F401,E501

pytestmark = pytest.mark.browser

# (first name, last name) of five of the therapist's patients; each under 100 characters.
NAMES = [
    ("<script>window.__pwned=1</script>", '<img src=x onerror="window.__pwned=2">'),
    ("**Bold** _it_ $x^2$ `code`", "[click](javascript:window.__pwned=3)"),
    ("مرحبا \u202eevil\u202c שלום", "👩\u200d⚕️🧘🏽\u200d♀️✨ Zoë"),
    ("W" * 100, "\\(x\\) # Heading &amp; &lt;b&gt;"),
    # Streamlit's own Markdown: an icon, colour, a badge and an emoji (issue 15).
    (":material/warning: :red[ALERT]", ":smile: :blue-badge[y] :small[z]"),
]
INTENTIONS = ('<iframe src="javascript:window.__pwned=4"></iframe>\n# Not a heading\n'
              "$$\\int_0^1 x\\,dx$$ <style>body{display:none}</style> " + "long" * 300)
HABITS = ["<svg onload=window.__pwned=5>", "\u202eesrever " + "y" * 80, "🏃‍♀️ run **fast**"]
STAFF_NAME = ('<b onmouseover="window.__pwned=6">Eve</b> <script>window.__pwned=7</script> '
              "**Eve** [x](javascript:window.__pwned=8) &amp; eve@example.org")
# What must be seen, literally, somewhere on each page (inner text of the page).
INJECTED = """() => document.querySelectorAll(
    'img[src="x"], iframe[src^="javascript"], svg[onload], [onerror], [onmouseover], '
    + 'a[href^="javascript"], [data-testid="stMain"] style, [data-testid="stMain"] script').length"""


@pytest.fixture(scope="module")
def hostile_server(demo_clinic_template, tmp_path_factory):
    require_chromium()
    data_dir = tmp_path_factory.mktemp("hostile-app")
    shutil.copy(demo_clinic_template, data_dir / "clinic.db")
    url = f"sqlite:///{data_dir / 'clinic.db'}"
    engine = make_engine(url)
    charts = []
    try:
        factory = session_factory(engine)
        with factory() as s:
            me = s.scalar(select(Staff).where(Staff.username == "therapist"))
            actor = Actor(me.id, me.username, me.role)
            patients = s.scalars(select(Patient).where(Patient.therapist_id == me.id)
                                 .order_by(Patient.id).limit(len(NAMES))).all()
            rows = [(p.id, p.version, p.date_of_birth, p.intake_date, p.patient_id) for p in patients]
        import os
        os.environ["KAP_TODAY"] = DEMO_AS_OF.isoformat()
        try:
            for (pk, version, born, intake, chart), (first, last) in zip(rows, NAMES):
                with factory() as s:
                    recording.update_patient(s, actor, pk, version, first_name=first, last_name=last,
                                             date_of_birth=born, intake_date=intake, intentions=INTENTIONS)
                charts.append(chart)
            for name in HABITS:
                with factory() as s:
                    recording.add_habit(s, actor, rows[0][0], name=name, target_per_week=3,
                                        start_date=max(rows[0][3], date(2026, 10, 1)))
        finally:
            os.environ.pop("KAP_TODAY", None)
        with factory() as s:
            # No function renames a staff member (the Users page cannot either); set it here.
            s.execute(update(Staff).where(Staff.username == "therapist").values(full_name=STAFF_NAME))
            s.commit()
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        engine.dispose()
    server = start_server(data_dir)
    try:
        yield server, charts
    finally:
        stop_server(server.process)


def _check(page, name: str, must_show: list[str]) -> None:
    wait_settled(page)
    assert page.evaluate("() => window.__pwned") is None, f"{name}: a payload ran"
    assert page.evaluate(INJECTED) == 0, f"{name}: an element was injected"
    assert not page.locator("[data-testid='stException']").count(), f"{name}: an exception is shown"
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"{name}: the page grew sideways {widths}"
    main = page.evaluate("() => { const m = document.querySelector('[data-testid=\"stMain\"]');"
                         " return [m.scrollWidth, m.clientWidth]; }")
    assert main[0] <= main[1] + 1, f"{name}: the main area scrolls sideways {main}"
    # The invisible word joiner that stops autolinking is not part of what is read.
    text = page.inner_text("body").replace("\u2060", "")
    cells = " ".join(page.locator("[role='gridcell']").all_inner_texts()).replace("\u2060", "")
    cells += " ".join(page.evaluate("() => [...document.querySelectorAll('input, textarea')].map(e => e.value)"))
    for literal in must_show:
        assert literal in text or literal in cells, f"{name}: {literal!r} is not shown literally"
    screenshot(page, f"hostile-{name}")


def test_hostile_text_shows_literally_and_runs_nothing(hostile_server, browser):
    server, charts = hostile_server
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    # A dialog would mean a payload ran; fail loudly rather than hang.
    page.on("dialog", lambda d: (_ for _ in ()).throw(AssertionError(f"dialog: {d.message}")))
    try:
        page.goto(server.url)
        assert sign_in(page, "therapist")
        # The sidebar shows the staff name: literal, inert.
        _check(page, "caseload", [STAFF_NAME])

        for chart, (first, last) in zip(charts, NAMES):
            page.goto(f"{server.url}/patient?patient={quote(chart)}")
            _check(page, f"patient-{chart}", [first, last] + (HABITS[:1] if chart == charts[0] else []))
            if first.startswith(":material/"):
                # Drawn as an icon, the name would read "warning"; as a directive, "ALERT" in red.
                header = page.locator("[data-testid='stMain'] h1").first
                assert ":material/warning: :red[ALERT]" in header.inner_text()
                assert header.locator("[data-testid='stIconMaterial'], span[style*='color']").count() == 0

        for chart, (first, last) in list(zip(charts, NAMES))[:2]:
            page.goto(f"{server.url}/record_care?patient={quote(chart)}")
            _check(page, f"record-care-{chart}", [first, last])
        page.get_by_role("tab", name="Patient").click()
        _check(page, "record-care-details", ["<iframe src=\"javascript:window.__pwned=4\"></iframe>"])
        page.goto(f"{server.url}/record_care?patient={quote(charts[0])}")
        wait_settled(page)
        page.get_by_role("tab", name="Habits").click()
        _check(page, "record-care-habits", HABITS)

        page.goto(f"{server.url}/team_meeting")
        _check(page, "team-meeting", [])
    finally:
        context.close()
