"""AppTest for the Import page: dry run first, every problem listed, confirm to
import, and a broken upload (or one broken after its check) changes nothing."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import delete, func, select

from db import staff
from db.engine import make_engine, session_factory
from db.models import AuditEvent, Patient, Staff
from tests.record_care_apptest import migrated_sqlite, run_page

PAGE = "pages/import_data.py"
STAFF = b"username,full_name,role,email\nther_x,Xena Therapist,therapist,\n"
PATIENTS = (b"patient_id,first_name,last_name,date_of_birth,therapist,intake_date,intentions\n"
            b"K-1,Ann,One,1980-02-03,ther_x,2026-01-05,Sleep\n"
            b"K-2,Ben,Two,1975-07-08,ther_x,2026-02-01,\n")
BROKEN = (b"patient_id,first_name,last_name,date_of_birth,therapist,intake_date,intentions\n"
          b"K-1,Ann,One,1980-13-03,ther_x,2026-01-05,\n"
          b"K-2,Ben,Two,1975-07-08,nobody,2026-02-01,\n")


@pytest.fixture
def clinic(tmp_path):
    url = migrated_sqlite(tmp_path / "clinic.db")
    engine = make_engine(url)
    factory = session_factory(engine)
    with factory() as s:
        staff.add_user(s, "root", "Root Admin", "admin")
        staff.add_user(s, "md", "Mona Director", "medical_director")
        staff.add_user(s, "tess", "Tess Therapist", "therapist")
        s.commit()
    yield url, factory
    engine.dispose()


def page(clinic, monkeypatch, username="root"):
    url, _ = clinic
    return run_page(PAGE, username, monkeypatch, url)


def button(at, label):
    return next(b for b in at.button if b.label.startswith(label))


def patients(factory) -> int:
    with factory() as s:
        return s.scalar(select(func.count()).select_from(Patient))


def test_roles(clinic, monkeypatch):
    assert "not available" in page(clinic, monkeypatch, "tess").error[0].value
    at = page(clinic, monkeypatch, "md")
    assert not at.error and at.file_uploader


def test_broken_upload_lists_every_problem_and_changes_nothing(clinic, monkeypatch):
    at = page(clinic, monkeypatch)
    at.file_uploader[0].set_value([("staff.csv", STAFF, "text/csv"),
                                   ("patients.csv", BROKEN, "text/csv")]).run()
    button(at, "1. Check").click().run()
    assert "2 problem(s) found" in at.error[0].value
    table = at.dataframe[0].value
    assert list(table.columns) == ["File", "Line", "Column", "Problem"]
    assert table[["File", "Line", "Column"]].values.tolist() == [
        ["patients.csv", 2, "date_of_birth"], ["patients.csv", 3, "therapist"]]
    assert button(at, "2. Import").disabled
    assert patients(clinic[1]) == 0


def test_dry_run_then_import(clinic, monkeypatch):
    url, factory = clinic
    at = page(clinic, monkeypatch, "md")
    assert at.info  # nothing chosen yet
    at.file_uploader[0].set_value([("staff.csv", STAFF, "text/csv"),
                                   ("patients.csv", PATIENTS, "text/csv")]).run()
    assert button(at, "2. Import").disabled
    button(at, "1. Check").click().run()
    assert "Importing will add 3" in at.success[0].value
    assert patients(factory) == 0
    button(at, "2. Import").click().run()
    assert "Imported: 3 added" in at.success[0].value
    assert patients(factory) == 2
    with factory() as s:
        [ev] = s.scalars(select(AuditEvent).where(AuditEvent.action == "import")).all()
        assert ev.actor == "md" and json.loads(ev.detail)["counts"]["patients"]["added"] == 2
        assert s.scalar(select(func.count()).select_from(AuditEvent)
                        .where(AuditEvent.action == "import.check")) == 1
    # Importing the same files again changes nothing.
    button(at, "1. Check").click().run()
    assert "Importing will add 0 and change 0" in at.success[0].value


def test_files_changed_after_the_check_must_be_checked_again(clinic, monkeypatch):
    at = page(clinic, monkeypatch)
    at.file_uploader[0].set_value([("staff.csv", STAFF, "text/csv")]).run()
    button(at, "1. Check").click().run()
    assert not button(at, "2. Import").disabled
    at.file_uploader[0].set_value([("staff.csv", STAFF, "text/csv"),
                                   ("patients.csv", PATIENTS, "text/csv")]).run()
    assert button(at, "2. Import").disabled


def test_import_failing_after_its_check_rolls_back_and_is_audited(clinic, monkeypatch):
    url, factory = clinic
    with factory() as s:
        staff.add_user(s, "ther_x", "Xena Therapist", "therapist")
        s.commit()
    at = page(clinic, monkeypatch)
    at.file_uploader[0].set_value([("patients.csv", PATIENTS, "text/csv")]).run()
    button(at, "1. Check").click().run()
    assert "Importing will add 2" in at.success[0].value
    # The therapist the files name disappears between the check and the import.
    with factory() as s:
        s.execute(delete(Staff).where(Staff.username == "ther_x"))
        s.commit()
    button(at, "2. Import").click().run()
    assert "problem(s) found" in at.error[0].value
    assert patients(factory) == 0
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent)
                        .where(AuditEvent.action == "import.refused")) == 1
