"""Issue 15 item 10: identifiers no database can hold are refused by validation, and audited.

On PostgreSQL a ``?patient=`` chart number holding a NUL or longer than 64
characters, and a NUL in the sign-in username, raised a generic error and
wrote no event. Each attack below goes through the real page (AppTest) on
SQLite and, with TEST_DATABASE_URL, on PostgreSQL.
"""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from db import audit
from db.engine import session_factory
from db.models import AuditEvent, LoginThrottle
from db.queries.patient import find_patient, search_patients
from db.text_rules import IDENTIFIER_MAX, identifier_problem, storable_identifier
from tests.apptest_support import DEMO_PASSWORDS, clinic_app, page_test, sign_in
from tests.reliability.support import clinic_engine  # noqa: F401 (fixture)

BAD_CHARTS = {
    "nul": "KAP-000001\x00",
    "nul-inside": "KAP\x00' OR '1'='1",
    "65-characters": "K" * (IDENTIFIER_MAX + 1),
    "10-000-characters": "KAP-" + "9" * 10_000,
}


def url_of(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _events(engine, action: str) -> list[AuditEvent]:
    with session_factory(engine)() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)
                              .order_by(AuditEvent.id)))


def test_the_rule():
    assert identifier_problem("KAP-000001") is None
    assert identifier_problem("K" * IDENTIFIER_MAX) is None
    assert "U+0000" in identifier_problem("KAP\x00")
    assert "65 characters" in identifier_problem("K" * 65)
    assert storable_identifier("KAP-000001") == "KAP-000001"
    assert storable_identifier("KAP\x00-1") == "KAP\\u0000-1"
    assert len(storable_identifier("K" * 500)) == IDENTIFIER_MAX


@pytest.mark.parametrize("chart", BAD_CHARTS.values(), ids=BAD_CHARTS.keys())
def test_lookups_answer_none_without_asking_the_database(clinic_engine, chart):
    with session_factory(clinic_engine)() as s:
        assert find_patient(s, chart) is None
        assert search_patients(s, chart, therapist_id=None) == []
        # The audit keeps the attempt, shown and cut to fit, on every backend.
        audit.record(s, "rel-test", "patient.view_denied", chart, reason="test")
        s.commit()
    stored = _events(clinic_engine, "patient.view_denied")[-1].patient_ref
    assert stored == storable_identifier(chart) and "\x00" not in stored


@pytest.mark.parametrize("page, action", [("pages/patient.py", "patient.view_denied"),
                                          ("pages/record_care.py", "record_care.view_denied")])
@pytest.mark.parametrize("chart", BAD_CHARTS.values(), ids=BAD_CHARTS.keys())
def test_a_bad_chart_in_the_address_is_refused_and_audited(clinic_engine, page, action, chart):
    before = len(_events(clinic_engine, action))
    at = page_test(page, "director", url_of(clinic_engine))
    at.query_params["patient"] = chart
    at.run()
    assert not at.exception, at.exception
    if page == "pages/patient.py":  # said neutrally, as for any chart that does not exist
        assert [e.value for e in at.error] == ["No patient has that chart number."]
    events = _events(clinic_engine, action)
    assert len(events) == before + 1
    assert events[-1].actor == "director"
    assert events[-1].patient_ref == storable_identifier(chart.strip())


@pytest.mark.parametrize("typed", ["director\x00", "\x00", "admin\x00' --", "d" * 200 + "\x00"],
                         ids=["nul-after-a-real-name", "nul-alone", "nul-and-sql", "long-and-nul"])
def test_a_nul_in_the_username_is_an_ordinary_failed_sign_in(clinic_engine, typed):
    url = url_of(clinic_engine)
    counted_before = _failures_counted(clinic_engine)
    at = clinic_app("dashboard.py", url).run()
    # The real password of the real account: the NUL still makes it another name.
    sign_in(at, typed, DEMO_PASSWORDS["director"])
    assert not at.exception, at.exception
    assert "current_user" not in at.session_state
    assert any("Sign-in failed" in e.value for e in at.error)
    with session_factory(clinic_engine)() as s:
        throttled = list(s.scalars(select(LoginThrottle.username)))
        actors = list(s.scalars(select(AuditEvent.actor)))
    assert not any("\x00" in name for name in throttled + actors)
    # Counted like any failure (db.auth aggregates unknown names: the first one
    # from an address is an audit event, the rest are counted on its row).
    assert _failures_counted(clinic_engine) > counted_before
    failures = _events(clinic_engine, "auth.login_failed")
    assert failures and json.loads(failures[-1].detail)["reason"] == "bad credentials"


def _failures_counted(engine) -> int:
    with session_factory(engine)() as s:
        return sum(s.scalars(select(LoginThrottle.failures))) or 0
