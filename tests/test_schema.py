"""The migrations and the models describe the same schema, on every backend."""
from __future__ import annotations

from datetime import date

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from db import audit
from db.models import AuditEvent, Base, OutcomeMeasure, Patient, Staff


def test_models_and_migrations_agree(engine):
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == []


def _therapist(session) -> Staff:
    staff = Staff(username="t1", full_name="T One", role="therapist")
    session.add(staff)
    session.flush()
    return staff


def test_database_enforces_enumerations(session):
    session.add(Staff(username="x", full_name="X", role="janitor"))
    with pytest.raises(IntegrityError):
        session.flush()


def test_database_enforces_score_ranges(session):
    t = _therapist(session)
    p = Patient(patient_id="C1", pseudonym="AAAA", first_name="A", last_name="B",
                date_of_birth=date(1980, 1, 1), therapist_id=t.id, intake_date=date(2026, 1, 1))
    session.add(p)
    session.flush()
    session.add(OutcomeMeasure(patient_id=p.id, instrument="GAD-7", date=date(2026, 1, 2), score=22))
    with pytest.raises(IntegrityError):
        session.flush()


def test_database_enforces_foreign_keys(session):
    session.add(Patient(patient_id="C1", pseudonym="AAAA", first_name="A", last_name="B",
                        date_of_birth=date(1980, 1, 1), therapist_id=999,
                        intake_date=date(2026, 1, 1)))
    with pytest.raises(IntegrityError):
        session.flush()


def test_audit_trail_is_append_only(session):
    audit.record(session, "someone", "test.event", detail="x")
    session.commit()
    with pytest.raises(DBAPIError):
        session.execute(text("UPDATE audit_event SET actor = 'other'"))
    session.rollback()
    with pytest.raises(DBAPIError):
        session.execute(text("DELETE FROM audit_event"))
    session.rollback()
    assert session.query(AuditEvent).count() == 1
