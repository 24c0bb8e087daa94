"""AppTest for the compliance, protocol settings and audit log pages: what each
role sees, refusals, the figures shown, and a settings save that meets a
concurrent change."""
from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from db.audit import record
from db.engine import make_engine, session_factory
from db.migrate import upgrade
from db.models import AuditEvent, ProtocolSettings
from db.protocol import compute_compliance, load_settings, update_settings
from db.queries import compliance as cq
from db.queries.periods import Period, period_for
from db.reports import compliance_rows
from tests.apptest_support import (  # noqa: F401 (fixtures)
    DEMO_AS_OF,
    demo_clinic_template,
    demo_clinic_url,
    page_test,
)
from tests.compliance_fixtures import TODAY, build_october_clinic
from ui.access import CurrentUser

USERS = {
    "medical_director": CurrentUser(901, "director", "Dana Director", "medical_director"),
    "admin": CurrentUser(902, "admin", "Alex Admin", "admin"),
    "therapist": CurrentUser(903, "therapist", "Theo Therapist", "therapist"),
    "team_screen": CurrentUser(904, "teamscreen", "Team Screen", "team_screen"),
}


@pytest.fixture(scope="module")
def clinic_db(tmp_path_factory):
    """The hand-built October clinic in a SQLite file the pages open."""
    path = tmp_path_factory.mktemp("pages") / "clinic.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with session_factory(engine)() as session:
        if session.get(ProtocolSettings, 1) is None:
            session.add(ProtocolSettings(id=1))
        build_october_clinic(session)
        # Ana is a staff account; the second name has none (typed at sign-in, say):
        # the user filter offers accounts only (issue 15).
        record(session, "ana", "patient.view", "C001", page="patient")
        record(session, "made-up-name", "patient.view", "C002", page="patient")
        record(session, "director", "export.csv", what="exceptions")
        session.commit()
    yield engine
    engine.dispose()


def page(path: str, role: str, engine) -> AppTest:
    url = engine.url.render_as_string(hide_password=False)
    return page_test(path, USERS[role], url, today=TODAY).run()


def _audit(engine, action: str) -> list[AuditEvent]:
    with session_factory(engine)() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)
                              .order_by(AuditEvent.id)))


@pytest.mark.parametrize("path, allowed", [
    ("pages/compliance.py", {"medical_director"}),
    ("pages/protocol_settings.py", {"medical_director"}),
    ("pages/audit_log.py", {"medical_director", "admin"}),
])
def test_roles_and_refusals(clinic_db, path, allowed):
    for role in USERS:
        at = page(path, role, clinic_db)
        assert not at.exception, at.exception
        if role in allowed:
            assert not at.error, f"{role} refused on {path}"
        else:
            assert at.error and "not available" in at.error[0].value
            assert len(at.title) == 0
    refused = [json.loads(e.detail) for e in _audit(clinic_db, "access.denied")]
    assert any(d.get("page") == path for d in refused)


def test_compliance_page_shows_the_engine_figures(clinic_db):
    at = page("pages/compliance.py", "medical_director", clinic_db)
    assert not at.exception
    assert at.selectbox(key="compliance_period").value == "Last month"
    metrics = {m.label: m for m in at.metric}
    # Recomputed here from the engine, as `report compliance` would give them.
    oct_ = Period(date(2026, 10, 1), date(2026, 10, 31), "October 2026")
    with session_factory(clinic_db)() as s:
        rows = compute_compliance(s, date(2026, 11, 1))
    expected = cq.figures(rows, oct_, date(2026, 11, 1))
    assert metrics["Compliance rate"].value == f"{expected.compliance_rate:.1f}%" == "33.3%"
    assert metrics["Preparation first"].value == "66.7%"
    assert metrics["Open series at risk"].value == "1"
    assert metrics["Stalled series"].value == "1"
    assert metrics["Infusion no-show rate"].value == "16.7%"
    captions = " ".join(c.value for c in at.caption)
    assert "1 of 3 closed series compliant" in captions
    assert "October 2026" in captions
    tables = at.dataframe
    exceptions = tables[0].value
    assert set(exceptions["Patient"]) == {"C002", "C003", "C004", "C007", "C008"}
    by_therapist = tables[1].value
    assert set(by_therapist["Therapist"]) == {"Ana Alvarez", '=HYPERLINK("x") Ben'}


def test_compliance_page_therapist_filter_and_custom_period(clinic_db):
    at = page("pages/compliance.py", "medical_director", clinic_db)
    options = at.selectbox(key="compliance_therapist").options
    assert options[0] == "Whole clinic" and "Ana Alvarez" in options
    at.selectbox(key="compliance_therapist").select_index(options.index("Ana Alvarez")).run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Compliance rate"] == "50.0%"
    assert len(at.dataframe) == 1  # no per-therapist table for one therapist
    at.selectbox(key="compliance_period").select("Custom").run()
    at.date_input(key="compliance_custom").set_value((date(2026, 9, 1), date(2026, 9, 30))).run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Compliance rate"] == "100.0%"  # C005 and C007, both Ana's


def test_settings_save_is_audited_and_followed(clinic_db):
    at = page("pages/protocol_settings.py", "medical_director", clinic_db)
    before = at.number_input[0].value
    compliance = page("pages/compliance.py", "medical_director", clinic_db)
    assert {m.label: m.value for m in compliance.metric}["Compliance rate"] == "33.3%"

    at.number_input[0].set_value(1)
    at.button[0].click().run()
    assert not at.exception
    assert at.success and "Saved" in at.success[0].value
    events = _audit(clinic_db, "protocol_settings.update")
    detail = json.loads(events[-1].detail)
    assert events[-1].actor == "director"
    assert detail["before"]["min_integration_sessions"] == before
    assert detail["after"]["min_integration_sessions"] == 1
    # With one session enough, C003 is compliant too: 2 of 3, at once.
    compliance.run()
    assert {m.label: m.value for m in compliance.metric}["Compliance rate"] == "66.7%"

    at.number_input[0].set_value(2)
    at.button[0].click().run()
    assert at.success


def test_settings_conflict_shows_the_new_values(clinic_db):
    at = page("pages/protocol_settings.py", "medical_director", clinic_db)
    with session_factory(clinic_db)() as s:
        version = load_settings(s).version
        update_settings(s, "someone.else", version, grace_days=10)
        s.commit()
    at.number_input[1].set_value(12)
    at.button[0].click().run()
    assert not at.exception
    assert at.warning and "Someone else saved" in at.warning[0].value
    assert at.number_input[1].value == 10  # their value, not ours
    with session_factory(clinic_db)() as s:
        assert load_settings(s).grace_days == 10
        # Put it back for the other tests.
        update_settings(s, "director", load_settings(s).version, grace_days=7)
        s.commit()


def test_settings_refuses_out_of_range(clinic_db):
    # The widgets have no bounds (out of them a number_input keeps sending its last
    # valid value); the server refuses beside the field. Every field and both ends:
    # tests/test_protocol_settings_page.py.
    at = page("pages/protocol_settings.py", "medical_director", clinic_db)
    assert at.number_input[0].max is None and at.number_input[1].max is None
    at.number_input[1].set_value(91)
    at.button[0].click().run()
    assert not at.success
    assert "grace days: must be between 0 and 90" in at.error[0].value.replace("\\", "")
    with session_factory(clinic_db)() as s:
        assert load_settings(s).grace_days == 7


def test_audit_log_filters_and_pages(clinic_db):
    at = page("pages/audit_log.py", "admin", clinic_db)
    assert not at.exception
    at.date_input(key="audit_dates").set_value((date(2020, 1, 1), date(2030, 1, 1))).run()
    table = at.dataframe[0].value
    assert {"patient.view", "export.csv"} <= set(table["Action"])
    assert "made-up-name" in set(table["User"])  # the event is shown...
    assert "made-up-name" not in at.selectbox(key="audit_actor").options  # ...not offered
    at.selectbox(key="audit_actor").select("ana").run()
    table = at.dataframe[0].value
    assert set(table["User"]) == {"ana"}
    at.text_input(key="audit_patient").input("C999").run()
    assert at.info and "No events" in at.info[0].value


@pytest.mark.parametrize("choice", ["Last month", "This quarter", "Last year"])
def test_demo_clinic_tiles_equal_report_compliance(demo_clinic_url, choice):
    """Each tile's count, recomputed from `report compliance` rows of the demo clinic."""
    at = page_test("pages/compliance.py", "medical_director", demo_clinic_url).run()
    at.selectbox(key="compliance_period").select(choice).run()
    assert not at.exception
    period = period_for(choice, DEMO_AS_OF)
    evaluated = period.evaluation_date(DEMO_AS_OF)
    engine = make_engine(demo_clinic_url)
    with session_factory(engine)() as s:
        rows = compliance_rows(s, evaluated)
    engine.dispose()
    closed = [r for r in rows if r["window_end"] and period.start <= r["window_end"] <= period.end
              and r["window_end"] < evaluated and r["status"] in ("compliant", "non_compliant")]
    begun = [r for r in rows if r["first_infusion"] is None or r["first_infusion"] <= period.end]
    compliant = sum(r["status"] == "compliant" for r in closed)
    prepared = sum(r["preparation"] == "met" for r in closed)
    metrics = {m.label: m.value for m in at.metric}
    captions = " ".join(c.value for c in at.caption)
    assert f"{compliant} of {len(closed)} closed series compliant" in captions
    assert f"{prepared} of {len(closed)} closed series prepared" in captions
    if closed:
        assert metrics["Compliance rate"] == f"{100 * compliant / len(closed):.1f}%"
    assert metrics["Open series at risk"] == str(sum(r["status"] == "at_risk" for r in begun))
    assert metrics["Stalled series"] == str(sum("stalled" in r["flags"] for r in begun))


def test_settings_page_warns_when_someone_else_saved(clinic_db):
    at = page("pages/protocol_settings.py", "medical_director", clinic_db)
    with session_factory(clinic_db)() as s:
        update_settings(s, "someone.else", load_settings(s).version, default_planned_infusions=8)
        s.commit()
    at.run()
    assert at.warning and "changed by someone else" in at.warning[0].value
    assert at.number_input[2].value == 6  # still the form as it was opened
    next(b for b in at.button if b.label == "Show the current values").click().run()
    assert not at.warning and at.number_input[2].value == 8
    with session_factory(clinic_db)() as s:
        update_settings(s, "director", load_settings(s).version, default_planned_infusions=6)
        s.commit()
