"""A tiny clinic for the recording tests: two therapists, a director, an admin,
one patient each for the therapists. Today is pinned to a Wednesday."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy.orm import Session

from db.models import Patient, Staff
from db.recording import Actor

TODAY = date(2026, 6, 17)  # a Wednesday
INTAKE = TODAY - timedelta(days=60)


@pytest.fixture(autouse=True)
def pinned_today(monkeypatch):
    """Every module that imports this fixture runs on TODAY."""
    monkeypatch.setenv("KAP_TODAY", TODAY.isoformat())


@pytest.fixture
def clinic(session):
    return build_small(session)


def day(offset: int) -> date:
    return TODAY + timedelta(days=offset)


@dataclass
class Small:
    ther_a: Actor
    ther_b: Actor
    director: Actor
    admin: Actor
    pat_a: int  # patient pk of ther_a
    pat_b: int  # patient pk of ther_b


def build_small(session: Session) -> Small:
    actors = {}
    for username, role in (("ther_a", "therapist"), ("ther_b", "therapist"),
                           ("md", "medical_director"), ("adm", "admin")):
        s = Staff(username=username, full_name=username.replace("_", " ").title(), role=role,
                  active=True)
        session.add(s)
        session.flush()
        actors[username] = Actor(s.id, username, role)
    pats = []
    for i, who in enumerate(("ther_a", "ther_b")):
        p = Patient(patient_id=f"C-{i + 1}", pseudonym=f"PSX{i}", first_name=f"Pat{i}",
                    last_name="Test", date_of_birth=date(1980, 1, 1),
                    therapist_id=actors[who].id, intake_date=INTAKE)
        session.add(p)
        session.flush()
        pats.append(p.id)
    session.commit()
    return Small(actors["ther_a"], actors["ther_b"], actors["md"], actors["adm"], *pats)
