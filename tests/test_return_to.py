"""The page and patient asked for before sign-in (issue 19, "Links and sign-in"): kept in the
session's state across the sign-in and an idle logoff, and only registered pages and known,
valid parameters (ui/return_to.py)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from db.engine import make_engine, session_factory
from db.limits import IDENTIFIER_MAX
from db.models import AuditEvent, AuthSession, Patient, Staff
from tests.apptest_support import (  # noqa: F401 (fixtures)
    clinic_app,
    demo_clinic_template,
    fresh_demo_clinic_url,
    sign_in,
)
from ui.pages import AUDIT_LOG, PATIENT, RECORD_CARE, all_page_paths
from ui.return_to import RETURN_KEY, Requested, requested


def _charts(url: str) -> tuple[str, str, str]:
    """The demo therapist's first chart, that patient's name, another therapist's chart."""
    engine = make_engine(url)
    try:
        with session_factory(engine)() as s:
            tid = s.scalar(select(Staff.id).where(Staff.username == "therapist"))
            mine = s.execute(select(Patient.patient_id, Patient.first_name, Patient.last_name)
                             .where(Patient.therapist_id == tid).order_by(Patient.patient_id)).first()
            other = s.scalar(select(Patient.patient_id).where(Patient.therapist_id != tid)
                             .order_by(Patient.patient_id))
            return mine[0], f"{mine[1]} {mine[2]}", other
    finally:
        engine.dispose()


def _audit(url: str, action: str) -> list[AuditEvent]:
    engine = make_engine(url)
    try:
        with session_factory(engine)() as s:
            return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)
                                  .order_by(AuditEvent.id)))
    finally:
        engine.dispose()


def _age_session(url: str, minutes: int) -> None:
    engine = make_engine(url)
    try:
        with session_factory(engine)() as s:
            row = s.scalar(select(AuthSession).where(AuthSession.ended_at.is_(None)))
            s.execute(update(AuthSession).where(AuthSession.id == row.id).values(
                last_seen_at=row.last_seen_at - timedelta(minutes=minutes),
                created_at=row.created_at - timedelta(minutes=minutes)))
            s.commit()
    finally:
        engine.dispose()


def _titles(at) -> list[str]:
    return [str(t.value) for t in at.title]


# --- what may be kept ----------------------------------------------------------------------

def test_every_registered_page_can_be_kept_and_nothing_else():
    for path in all_page_paths():
        assert requested(path.removeprefix("pages/").removesuffix(".py"), {}) == Requested(path)
    for url_path in ("", "sign_in", "dashboard", "https://evil.example", "//evil.example",
                     "../pages/patient", "patient.py", "pages/patient"):
        assert requested(url_path, {}) is None, url_path


def test_only_known_parameters_with_valid_identifiers_are_kept():
    assert requested("patient", {"patient": " KAP-000088 "}) == Requested(PATIENT, {"patient": "KAP-000088"})
    assert requested("record_care", {"patient": "KAP-1", "next": "https://evil.example/",
                                     "redirect": "/users"}) == Requested(RECORD_CARE, {"patient": "KAP-1"})
    # Spaces around are trimmed as the patient page trims them; anything else wrong drops it.
    for bad in ("KAP\x00-1", "KAP-\n1", "KAP\u0085-1", "x" * (IDENTIFIER_MAX + 1), "", "   "):
        assert requested("patient", {"patient": bad}) == Requested(PATIENT), repr(bad)
    assert requested("patient", {"patient": ["KAP-1", "KAP-2"]}) == Requested(PATIENT, {"patient": "KAP-2"})


# --- through dashboard.py --------------------------------------------------------------------

def _signed_out_at(url: str, page: str, **params: str):
    at = clinic_app("dashboard.py", url)
    at.switch_page(page)  # before the first run: the address a link opens
    for name, value in params.items():
        at.query_params[name] = value
    at.run()
    assert not at.exception, at.exception
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    return at


def test_a_patient_link_is_kept_through_sign_in(fresh_demo_clinic_url):
    chart, name, _ = _charts(fresh_demo_clinic_url)
    at = _signed_out_at(fresh_demo_clinic_url, PATIENT, patient=chart, next="https://evil.example/")
    assert at.session_state[RETURN_KEY] == Requested(PATIENT, {"patient": chart})
    # The form's own rerun keeps it.
    at.run()
    assert at.session_state[RETURN_KEY] == Requested(PATIENT, {"patient": chart})
    sign_in(at, "therapist")
    assert not at.exception, at.exception
    assert name in _titles(at)
    assert RETURN_KEY not in at.session_state  # taken once
    assert at.query_params["patient"] in (chart, [chart])
    assert "next" not in at.query_params  # unknown parameters are dropped on landing
    views = _audit(fresh_demo_clinic_url, "patient.view")
    assert views and views[-1].patient_ref == chart and views[-1].actor == "therapist"


def test_the_address_of_the_app_itself_keeps_nothing(fresh_demo_clinic_url):
    at = clinic_app("dashboard.py", fresh_demo_clinic_url).run()
    assert RETURN_KEY not in at.session_state
    sign_in(at, "therapist")
    assert "My caseload" in _titles(at)


def test_another_therapists_patient_is_refused_and_audited_after_sign_in(fresh_demo_clinic_url):
    _, _, other = _charts(fresh_demo_clinic_url)
    at = _signed_out_at(fresh_demo_clinic_url, PATIENT, patient=other)
    sign_in(at, "therapist")
    assert any("only the records of patients on your own caseload" in e.value for e in at.error)
    denied = _audit(fresh_demo_clinic_url, "patient.view_denied")
    assert denied and denied[-1].patient_ref == other and denied[-1].actor == "therapist"


def test_a_page_the_role_may_not_open_is_refused_and_audited_after_sign_in(fresh_demo_clinic_url):
    at = _signed_out_at(fresh_demo_clinic_url, AUDIT_LOG)
    before = len(_audit(fresh_demo_clinic_url, "access.denied"))
    sign_in(at, "therapist")
    assert any("not available to the therapist role" in e.value for e in at.error)
    denied = _audit(fresh_demo_clinic_url, "access.denied")
    assert len(denied) == before + 1 and denied[-1].actor == "therapist"


def test_after_an_idle_logoff_sign_in_returns_to_the_patient(fresh_demo_clinic_url):
    chart, name, _ = _charts(fresh_demo_clinic_url)
    at = _signed_out_at(fresh_demo_clinic_url, PATIENT, patient=chart)
    sign_in(at, "therapist")
    assert name in _titles(at)
    _age_session(fresh_demo_clinic_url, 16)
    at.run()
    assert "current_user" not in at.session_state
    assert any("without activity" in i.value for i in at.info)
    assert at.session_state[RETURN_KEY] == Requested(PATIENT, {"patient": chart})
    sign_in(at, "therapist")
    assert not at.exception, at.exception
    assert name in _titles(at)


@pytest.mark.parametrize("kept_page", [PATIENT, RECORD_CARE])
def test_a_kept_request_opens_its_page_from_any_address(fresh_demo_clinic_url, kept_page):
    # What is kept in the session decides, not only the address the run came with:
    # a signed-in run on the landing page with a request kept switches to it, once.
    chart, name, _ = _charts(fresh_demo_clinic_url)
    at = clinic_app("dashboard.py", fresh_demo_clinic_url).run()
    sign_in(at, "therapist")
    assert "My caseload" in _titles(at)
    at.session_state[RETURN_KEY] = Requested(kept_page, {"patient": chart})
    at.run()
    assert not at.exception, at.exception
    assert RETURN_KEY not in at.session_state
    assert at.query_params["patient"] in (chart, [chart])
    if kept_page == PATIENT:
        assert name in _titles(at)
    else:
        assert not at.error and "My caseload" not in _titles(at)
    at.run()  # taken once: the next run stays where it is
    assert "My caseload" not in _titles(at)
