"""Real browser: a link to a patient survives sign-in (issue 19, "Links and sign-in").

Opening ``/patient?patient=<chart>`` signed out shows the sign-in form and no
"Page not found"; signing in lands on that patient's record, also after an idle
logoff; a therapist asking for another therapist's patient lands on the refusal,
which is audited.
"""
from __future__ import annotations

import shutil

import pytest
from sqlalchemy import select

from db.engine import make_engine, session_factory
from db.models import AuditEvent, Patient, Staff
from tests.apptest_support import TEST_COOKIE_KEY, demo_clinic_template  # noqa: F401 (fixture)
from tests.browser_support import (  # noqa: F401 (fixtures)
    app_server,
    browser,
    is_signed_in,
    require_chromium,
    screenshot,
    sign_in,
    start_server,
    stop_server,
    wait_settled,
)

pytestmark = pytest.mark.browser

NOT_FOUND = "Page not found"


def _charts(database_url: str) -> tuple[str, str, str]:
    """A chart on the demo therapist's caseload, its patient's name, and another therapist's chart."""
    engine = make_engine(database_url)
    try:
        with session_factory(engine)() as s:
            tid = s.scalar(select(Staff.id).where(Staff.username == "therapist"))
            mine = s.execute(select(Patient.patient_id, Patient.first_name, Patient.last_name)
                             .where(Patient.therapist_id == tid)
                             .order_by(Patient.patient_id.desc())).first()
            other = s.scalar(select(Patient.patient_id).where(Patient.therapist_id != tid)
                             .order_by(Patient.patient_id))
            return mine[0], f"{mine[1]} {mine[2]}", other
    finally:
        engine.dispose()


def _denials(database_url: str, chart: str) -> list[AuditEvent]:
    engine = make_engine(database_url)
    try:
        with session_factory(engine)() as s:
            return list(s.scalars(select(AuditEvent).where(
                AuditEvent.action == "patient.view_denied", AuditEvent.patient_ref == chart)))
    finally:
        engine.dispose()


def _open_signed_out(ctx, url: str):
    page = ctx.new_page()
    page.goto(url)
    wait_settled(page)
    page.get_by_role("textbox", name="Username").wait_for()
    assert page.get_by_text(NOT_FOUND).count() == 0, "Streamlit's page-not-found message is shown"
    # Not the page file run on its own (Streamlit's pages-folder mode on a fresh server),
    # which listed every page and skipped the sign-in.
    assert page.locator("[data-testid='stSidebarNav']").count() == 0
    assert page.get_by_text("Please sign in to see this page").count() == 0
    assert not is_signed_in(page)
    return page


def _on_record(page, chart: str, name: str) -> None:
    page.get_by_role("heading", name="Series timeline").wait_for()
    assert page.get_by_role("heading", name=name).count() == 1
    assert page.get_by_text(f"Chart {chart} ·").count() == 1
    assert f"/patient?patient={chart}" in page.url
    assert page.get_by_text(NOT_FOUND).count() == 0


def test_a_patient_link_opened_signed_out_lands_on_that_record(app_server, browser):
    chart, name, _ = _charts(app_server.database_url)
    ctx = browser.new_context(viewport={"width": 1366, "height": 768})
    try:
        page = _open_signed_out(ctx, f"{app_server.url}/patient?patient={chart}")
        screenshot(page, "links-signed-out-patient-link")
        assert sign_in(page, "therapist")
        _on_record(page, chart, name)
        screenshot(page, "links-after-sign-in")
    finally:
        ctx.close()


def test_another_therapists_patient_lands_on_the_refusal(app_server, browser):
    _, _, other = _charts(app_server.database_url)
    before = len(_denials(app_server.database_url, other))
    ctx = browser.new_context(viewport={"width": 1366, "height": 768})
    try:
        page = _open_signed_out(ctx, f"{app_server.url}/patient?patient={other}")
        assert sign_in(page, "therapist")
        page.get_by_text("only the records of patients on your own caseload").wait_for()
        assert page.get_by_role("heading", name="Series timeline").count() == 0
        assert f"/patient?patient={other}" in page.url
    finally:
        ctx.close()
    # Audited on each run of the refused page, as a link opened signed in is (the
    # cookie's confirmation reruns it once after sign-in).
    denials = _denials(app_server.database_url, other)[before:]
    assert denials and all(d.actor == "therapist" for d in denials)


def test_a_page_the_role_may_not_open_is_refused_after_sign_in(app_server, browser):
    ctx = browser.new_context(viewport={"width": 1366, "height": 768})
    try:
        page = _open_signed_out(ctx, f"{app_server.url}/audit_log")
        assert sign_in(page, "therapist")
        assert "/audit_log" in page.url
        page.locator("[data-testid='stAlertContentError']").first.wait_for()
    finally:
        ctx.close()


def test_unknown_parameters_and_bad_charts_are_not_carried(app_server, browser):
    chart, name, _ = _charts(app_server.database_url)
    ctx = browser.new_context(viewport={"width": 1366, "height": 768})
    try:
        page = _open_signed_out(
            ctx, f"{app_server.url}/patient?patient={chart}&next=https%3A%2F%2Fevil.example%2F")
        assert sign_in(page, "therapist")
        _on_record(page, chart, name)
        assert "evil.example" not in page.url and "next=" not in page.url
    finally:
        ctx.close()


def test_after_an_idle_logoff_sign_in_returns_to_the_record(demo_clinic_template, browser, tmp_path):
    # A fresh server whose first visitor opens a patient link (see dashboard.py's
    # PagesManager note), then an idle logoff on that record.
    require_chromium()
    shutil.copy(demo_clinic_template, tmp_path / "clinic.db")
    # 0.25 minutes = 15 s idle; the idle watch looks every 5 s.
    (tmp_path / "secrets.toml").write_text(
        f'[auth]\ncookie_key = "{TEST_COOKIE_KEY}"\nidle_minutes = 0.25\n')
    server = start_server(tmp_path, env={"DATABASE_URL": f"sqlite:///{tmp_path / 'clinic.db'}"})
    try:
        chart, name, _ = _charts(server.database_url)
        ctx = browser.new_context(viewport={"width": 1366, "height": 768})
        page = _open_signed_out(ctx, f"{server.url}/patient?patient={chart}")
        assert sign_in(page, "therapist")
        _on_record(page, chart, name)
        # Nobody touches the screen: it gives way to sign-in by itself, under the same link.
        page.get_by_role("textbox", name="Username").wait_for(timeout=60_000)
        wait_settled(page)
        assert not is_signed_in(page)
        assert page.get_by_text("without activity").is_visible()
        assert page.get_by_text(NOT_FOUND).count() == 0
        screenshot(page, "links-idle-signed-out")
        assert sign_in(page, "therapist")
        _on_record(page, chart, name)
        ctx.close()
    finally:
        stop_server(server.process)
