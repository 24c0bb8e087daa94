"""What the reliability tests share: a checksum of the whole database, and a
small populated clinic on the ``engine`` fixture's backend."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from db.demo import ensure_demo_accounts, generate_demo
from db.engine import session_factory
from db.models import AuditEvent, Base, Patient, Staff

AS_OF = date(2026, 11, 27)


def table_counts(session: Session) -> dict[str, int]:
    return {t.name: session.scalar(select(func.count()).select_from(t))
            for t in Base.metadata.sorted_tables}


def checksum(session: Session, *, skip: tuple[str, ...] = ("audit_event",)) -> str:
    """SHA-256 over every row of every table (ordered by primary key).

    The audit trail is left out by default: a refusal is meant to add to it.
    """
    digest = hashlib.sha256()
    for table in Base.metadata.sorted_tables:
        if table.name in skip:
            continue
        order = list(table.primary_key.columns) or list(table.columns)
        digest.update(table.name.encode())
        for row in session.execute(select(table).order_by(*order)):
            digest.update(repr(tuple(row)).encode())
    session.rollback()  # end the read transaction
    return digest.hexdigest()


@dataclass(frozen=True)
class Snapshot:
    counts: dict[str, int]
    digest: str
    audit_ids: int

    @classmethod
    def take(cls, session: Session) -> "Snapshot":
        counts = table_counts(session)
        top = session.scalar(select(func.max(AuditEvent.id))) or 0
        digest = checksum(session)
        return cls(counts, digest, top)

    def new_audit_actions(self, session: Session) -> list[str]:
        return list(session.scalars(select(AuditEvent.action).where(AuditEvent.id > self.audit_ids)
                                    .order_by(AuditEvent.id)))


def assert_unchanged(session: Session, before: Snapshot, *, allowed_audit: tuple[str, ...] = ()) -> None:
    session.rollback()
    after = Snapshot.take(session)
    counts_before = {k: v for k, v in before.counts.items() if k != "audit_event"}
    counts_after = {k: v for k, v in after.counts.items() if k != "audit_event"}
    assert counts_after == counts_before
    assert after.digest == before.digest, "a refused input changed the data"
    extra = [a for a in before.new_audit_actions(session) if a not in allowed_audit]
    assert not extra, f"unexpected audit events: {extra}"


def populate(engine: Engine, *, patients: int = 12, seed: int = 5) -> None:
    with session_factory(engine)() as s:
        generate_demo(s, patients=patients, seed=seed, as_of=AS_OF)
        ensure_demo_accounts(s)


@dataclass(frozen=True)
class Clinic:
    therapist: Staff
    other_therapist: Staff
    director: Staff
    own_patient: Patient
    other_patient: Patient


def clinic(session: Session) -> Clinic:
    """The demo therapist, another therapist, the director and one patient of each therapist."""
    therapist = session.scalar(select(Staff).where(Staff.username == "therapist"))
    director = session.scalar(select(Staff).where(Staff.role == "medical_director",
                                                  Staff.active.is_(True)).order_by(Staff.id))
    own = session.scalar(select(Patient).where(Patient.therapist_id == therapist.id).order_by(Patient.id))
    other = session.scalar(select(Patient).where(Patient.therapist_id != therapist.id).order_by(Patient.id))
    other_therapist = session.get(Staff, other.therapist_id)
    return Clinic(therapist, other_therapist, director, own, other)


# --- a populated clinic per backend, built once per test module ------------------

import shutil  # noqa: E402
from collections.abc import Iterator  # noqa: E402

import pytest  # noqa: E402

from db.engine import make_engine  # noqa: E402

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]


@pytest.fixture(scope="module", params=BACKENDS)
def clinic_engine(request, tmp_path_factory, sqlite_template) -> Iterator[Engine]:
    """A small demo clinic (12 patients + demo accounts) on SQLite, and on
    PostgreSQL when TEST_DATABASE_URL is set; shared by a module's tests."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("rel-clinic") / "clinic.db"
        shutil.copy(sqlite_template, path)
        eng = make_engine(f"sqlite:///{path}")
        populate(eng)
        yield eng
        eng.dispose()
    else:
        from tests.conftest import _reset_postgres

        eng = request.getfixturevalue("pg_engine")
        _reset_postgres(eng)
        populate(eng)
        yield eng
