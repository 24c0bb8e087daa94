"""Issue 15, item 11: "Add a new patient" is no oracle for chart numbers.

A therapist trying another therapist's chart number, and one trying their own
patient's, get the same words, which do not say that the number exists; each
attempt is written to the audit trail (who, which number, and whether another
caseload holds it), and nothing is added. Through db.recording and through the
Record care page. SQLite, and PostgreSQL with TEST_DATABASE_URL.
"""
from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import func, select

from db.models import AuditEvent, Patient
from db.recording import ValidationError, add_patient
from db.recording.patients import CHART_UNUSABLE
from tests.recording_fixtures import INTAKE, clinic, pinned_today  # noqa: F401 (fixtures)


def _try(session, actor, chart: str) -> dict[str, str]:
    with pytest.raises(ValidationError) as refused:
        add_patient(session, actor, patient_id=chart, first_name="Probe", last_name="Person",
                    date_of_birth=date(1980, 1, 1), intake_date=INTAKE)
    return refused.value.errors


def _refusals(session) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == "record.refused")
                                .order_by(AuditEvent.id)))


def test_same_words_for_another_caseload_and_ones_own_and_both_audited(session, clinic):
    patients = session.scalar(select(func.count()).select_from(Patient))
    elsewhere = _try(session, clinic.ther_a, "C-2")  # ther_b's patient
    own = _try(session, clinic.ther_a, "C-1")  # ther_a's own patient
    assert elsewhere == own == {"patient_id": CHART_UNUSABLE}
    assert "C-2" not in CHART_UNUSABLE and "in use" not in CHART_UNUSABLE
    assert session.scalar(select(func.count()).select_from(Patient)) == patients
    first, second = _refusals(session)
    assert (first.actor, first.patient_ref, second.patient_ref) == ("ther_a", "C-2", "C-1")
    assert json.loads(first.detail) == {"what": "patient", "reason": "chart number already in use",
                                        "held_elsewhere": True}
    assert json.loads(second.detail)["held_elsewhere"] is False
    # A chart number that exists nowhere is simply added: no refusal written.
    add_patient(session, clinic.ther_a, patient_id="C-NEW", first_name="New", last_name="One",
                date_of_birth=date(1980, 1, 1), intake_date=INTAKE)
    assert len(_refusals(session)) == 2


def test_other_mistakes_are_not_audited_as_a_probe(session, clinic):
    errors = _try(session, clinic.ther_a, " ")
    assert errors == {"patient_id": "Enter the clinic's chart number."}
    assert _refusals(session) == []


def test_record_care_page_answers_neutrally_and_audits(engine, clinic, monkeypatch):
    from tests.record_care_apptest import run_page

    url = engine.url.render_as_string(hide_password=False)
    answers = []
    for chart in ("C-2", "C-1"):
        at = run_page("pages/record_care.py", "ther_a", monkeypatch, url)
        at.text_input(key="np_chart").input(chart)
        at.text_input(key="np_first").input("Probe")
        at.text_input(key="np_last").input("Person")
        at.date_input(key="np_born").set_value(date(1980, 1, 1))
        next(b for b in at.button if b.label == "Add patient").click().run()
        assert not at.exception, at.exception
        answers.append([e.value for e in at.error])
    assert answers[0] == answers[1] and answers[0]
    assert not any("in use" in e or "C-2" in e for e in answers[0])
    with engine.connect() as conn:
        refs = conn.execute(select(AuditEvent.patient_ref)
                            .where(AuditEvent.action == "record.refused")
                            .order_by(AuditEvent.id)).scalars().all()
    assert refs == ["C-2", "C-1"]
