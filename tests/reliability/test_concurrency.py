"""Concurrency: 8 writers record 200 sessions each at the same moment through
the recording functions the pages call, on SQLite and PostgreSQL. Every row is
there, no writer sees an error, and the audit trail has every event."""
from __future__ import annotations

import json
import threading
import time
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from db import recording, staff
from db.engine import session_factory
from db.models import AuditEvent, Staff, TherapySession
from db.recording import Actor

pytestmark = pytest.mark.slow

WRITERS = 8
SESSIONS_EACH = 200
PATIENTS = 4          # two writers share each patient, on different days
TODAY = date(2026, 11, 27)


@pytest.fixture(autouse=True)
def pinned_today(monkeypatch):
    monkeypatch.setenv("KAP_TODAY", TODAY.isoformat())


def _setup(factory) -> tuple[list[Actor], list[int]]:
    with factory() as s:
        for i in range(WRITERS):
            staff.add_user(s, f"writer{i}", f"Writer {i}", "medical_director" if i % 2 else "therapist")
        s.commit()
        people = s.scalars(select(Staff).where(Staff.username.like("writer%")).order_by(Staff.id)).all()
        actors = [Actor(p.id, p.username, p.role) for p in people]
    patients = []
    for k in range(PATIENTS):
        owner = actors[2 * k]  # a therapist; the other writer on this patient is a director
        with factory() as s:
            saved = recording.add_patient(s, owner, patient_id=f"C-{k}", first_name="Pat", last_name=str(k),
                                          date_of_birth=date(1980, 1, 1), intake_date=date(2020, 1, 1))
        patients.append(saved.id)
    return actors, patients


def test_eight_writers_two_hundred_sessions_each(engine):
    factory = session_factory(engine)
    actors, patients = _setup(factory)
    errors: list[str] = []
    saved_ids: list[list[int]] = [[] for _ in range(WRITERS)]
    start = threading.Barrier(WRITERS)

    def writer(i: int) -> None:
        actor, patient = actors[i], patients[i // 2]
        # The two writers of a patient take alternate days, so their rows interleave.
        days = [TODAY + timedelta(days=1 + 2 * n + i % 2) for n in range(SESSIONS_EACH)]
        start.wait()
        for day in days:
            try:
                with factory() as s:
                    saved = recording.book_session(s, actor, patient, kind="integration", on=day,
                                                   duration_minutes=50)
                saved_ids[i].append(saved.id)
            except Exception as exc:  # noqa: BLE001 - any error would reach a user
                errors.append(f"writer {i} on {day}: {exc.__class__.__name__}: {exc}")

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    took = time.monotonic() - began
    assert not any(t.is_alive() for t in threads), "a writer hung"
    assert not errors, f"{len(errors)} saves failed, e.g. {errors[:3]}"

    total = WRITERS * SESSIONS_EACH
    ids = [x for w in saved_ids for x in w]
    assert len(ids) == len(set(ids)) == total
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(TherapySession)) == total
        events = s.scalars(select(AuditEvent.detail).where(AuditEvent.action == "session.book")).all()
        audited = {json.loads(d)["session_id"] for d in events}
        assert len(events) == total and audited == set(ids)
        per_patient = dict(s.execute(select(TherapySession.patient_id, func.count())
                                     .group_by(TherapySession.patient_id)).all())
        assert per_patient == {p: 2 * SESSIONS_EACH for p in patients}
    print(f"\n{engine.dialect.name}: {total} audited saves by {WRITERS} writers in {took:.1f} s")


def test_eight_writers_racing_for_the_same_bookings_get_messages_not_errors(engine):
    """All 8 try to book the same 25 days for one patient: one booking per day is
    saved, every other writer gets the form's plain message, never a database error."""
    factory = session_factory(engine)
    actors, patients = _setup(factory)
    days = [TODAY + timedelta(days=1 + n) for n in range(25)]
    outcomes: list[tuple[int, date, str]] = []
    lock = threading.Lock()
    start = threading.Barrier(WRITERS)

    def writer(i: int) -> None:
        start.wait()
        for day in days:
            try:
                with factory() as s:
                    # The patient's therapist (in several tabs) and the four directors.
                    actor = actors[i] if actors[i].role == "medical_director" else actors[0]
                    recording.book_session(s, actor, patients[0], kind="preparation", on=day)
                result = "saved"
            except recording.ValidationError as refused:
                result = "message" if "already has" in refused.errors.get("date", "") else f"other: {refused}"
            except Exception as exc:  # noqa: BLE001 - any of these would reach a user
                result = f"error: {exc.__class__.__name__}: {exc}"
            with lock:
                outcomes.append((i, day, result))

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    errors = [o for o in outcomes if o[2] not in ("saved", "message")]
    assert not errors, errors[:3]
    saved_days = sorted(d for _, d, r in outcomes if r == "saved")
    assert saved_days == days  # exactly one per day
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(TherapySession)) == len(days)
        assert s.scalar(select(func.count()).select_from(AuditEvent)
                        .where(AuditEvent.action == "session.book")) == len(days)
