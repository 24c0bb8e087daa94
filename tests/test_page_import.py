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
    with factory() as s:
        staff.add_user(s, "ther_x", "Xena Therapist", "therapist")
        s.commit()
    at = page(clinic, monkeypatch, "md")
    assert at.info  # nothing chosen yet
    at.file_uploader[0].set_value([("staff.csv", STAFF, "text/csv"),
                                   ("patients.csv", PATIENTS, "text/csv")]).run()
    assert button(at, "2. Import").disabled
    button(at, "1. Check").click().run()
    assert "Importing will add 2" in at.success[0].value
    assert not at.checkbox  # no account changes: nothing to confirm
    assert patients(factory) == 0
    button(at, "2. Import").click().run()
    assert "Imported: 2 added" in at.success[0].value
    assert patients(factory) == 2
    with factory() as s:
        [ev] = s.scalars(select(AuditEvent).where(AuditEvent.action == "import")).all()
        assert ev.actor == "md" and json.loads(ev.detail)["counts"]["patients"]["added"] == 2
        assert s.scalar(select(func.count()).select_from(AuditEvent)
                        .where(AuditEvent.action == "import.check")) == 1
        # One event per record added, with its key and values.
        added = s.scalars(select(AuditEvent).where(
            AuditEvent.action == "import.patients.add").order_by(AuditEvent.id)).all()
        assert [(e.actor, e.patient_ref) for e in added] == [("md", "K-1"), ("md", "K-2")]
        assert json.loads(added[0].detail)["after"]["first_name"] == "Ann"
    # Importing the same files again changes nothing.
    button(at, "1. Check").click().run()
    assert "Importing will add 0 and change 0" in at.success[0].value


def test_files_changed_after_the_check_must_be_checked_again(clinic, monkeypatch):
    at = page(clinic, monkeypatch)
    at.file_uploader[0].set_value([("staff.csv", STAFF, "text/csv")]).run()
    button(at, "1. Check").click().run()
    at.checkbox[0].check().run()  # staff.csv creates an account: the admin confirms it
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


# --- account changes and reassignments through the page (issue 15, item 1) ----------

# The attack of the issue, as a file: the director made admin, the only admin made
# a therapist, a new admin created.
TAKEOVER = (b"username,full_name,role,email\n"
            b"md,Mona Director,admin,\n"
            b"root,Root Admin,therapist,\n"
            b"newadmin,New Admin,admin,\n")


def roles(factory) -> dict[str, str]:
    with factory() as s:
        return dict(s.execute(select(Staff.username, Staff.role)).all())


def open_sessions(factory, username) -> int:
    from db.models import AuthSession

    with factory() as s:
        return s.scalar(select(func.count()).select_from(AuthSession).join(Staff)
                        .where(Staff.username == username, AuthSession.ended_at.is_(None)))


def test_the_director_cannot_change_accounts_through_the_page(clinic, monkeypatch):
    _, factory = clinic
    before = roles(factory)
    at = page(clinic, monkeypatch, "md")
    at.file_uploader[0].set_value([("staff.csv", TAKEOVER, "text/csv")]).run()
    button(at, "1. Check").click().run()
    table = at.dataframe[0].value
    assert table[["File", "Line", "Column"]].values.tolist() == [
        ["staff.csv", 2, "role"], ["staff.csv", 3, "role"], ["staff.csv", 4, "username"]]
    assert all("only an admin may" in m for m in table["Problem"])
    assert button(at, "2. Import").disabled and not at.checkbox
    assert roles(factory) == before


def test_the_admin_confirms_account_changes_that_the_check_lists(clinic, monkeypatch):
    from db import auth

    _, factory = clinic
    with factory() as s:
        auth.start_session(s, "md", "token-md-1")
        auth.start_session(s, "root", "token-root-1")
        s.commit()
    at = page(clinic, monkeypatch, "root")
    at.file_uploader[0].set_value([("staff.csv", TAKEOVER, "text/csv")]).run()
    button(at, "1. Check").click().run()
    listed = at.dataframe[1].value
    assert listed[["Line", "Username", "Role now", "Role after"]].values.tolist() == [
        [2, "md", "medical_director", "admin"], [3, "root", "admin", "therapist"],
        [4, "newadmin", "(new account)", "admin"]]
    [confirm] = at.checkbox
    assert "3 account change(s)" in confirm.label and "newadmin" in confirm.label
    assert button(at, "2. Import").disabled  # not until the admin ticks the confirmation
    confirm.check().run()
    assert not button(at, "2. Import").disabled
    button(at, "2. Import").click().run()
    assert "Imported: 1 added, 2 changed" in at.success[0].value
    assert {k: v for k, v in roles(factory).items() if k in ("md", "root", "newadmin")} == {
        "md": "admin", "root": "therapist", "newadmin": "admin"}
    assert open_sessions(factory, "md") == 0 and open_sessions(factory, "root") == 0
    with factory() as s:
        events = {(e.action, json.loads(e.detail)["key"]["username"]): json.loads(e.detail)
                  for e in s.scalars(select(AuditEvent).where(
                      AuditEvent.action.like("import.staff.%")))}
    assert sorted(events) == [("import.staff.add", "newadmin"), ("import.staff.change", "md"),
                              ("import.staff.change", "root")]
    assert (events["import.staff.change", "root"]["before"]["role"],
            events["import.staff.change", "root"]["after"]["role"]) == ("admin", "therapist")


def test_a_new_upload_needs_its_own_confirmation(clinic, monkeypatch):
    _, factory = clinic
    before = roles(factory)
    at = page(clinic, monkeypatch, "root")
    at.file_uploader[0].set_value([("staff.csv", TAKEOVER, "text/csv")]).run()
    button(at, "1. Check").click().run()
    at.checkbox[0].check().run()
    # Another file with one more change: the tick does not carry over to it.
    more = TAKEOVER + b"tess,Tess Therapist,admin,\n"
    at.file_uploader[0].set_value([("staff.csv", more, "text/csv")]).run()
    assert button(at, "2. Import").disabled
    button(at, "1. Check").click().run()
    assert "4 account change(s)" in at.checkbox[0].label and not at.checkbox[0].value
    assert button(at, "2. Import").disabled
    assert roles(factory) == before


REASSIGN = (b"patient_id,first_name,last_name,date_of_birth,therapist,intake_date\n"
            b"K-1,Ann,One,1980-02-03,tess,2026-01-05\n")


def test_reassigning_a_patient_through_the_page(clinic, monkeypatch):
    _, factory = clinic
    with factory() as s:
        staff.add_user(s, "ther_x", "Xena Therapist", "therapist")
        s.commit()
    at = page(clinic, monkeypatch, "md")
    at.file_uploader[0].set_value([("patients.csv", PATIENTS, "text/csv")]).run()
    button(at, "1. Check").click().run()
    button(at, "2. Import").click().run()
    # The admin's import may not move the patient to another therapist.
    at = page(clinic, monkeypatch, "root")
    at.file_uploader[0].set_value([("patients.csv", REASSIGN, "text/csv")]).run()
    button(at, "1. Check").click().run()
    problem = at.dataframe[0].value
    assert problem[["Line", "Column"]].values.tolist() == [[2, "therapist"]]
    assert "only the medical director reassigns" in problem["Problem"][0]
    # The medical director's may: listed by the check, audited on its own.
    at = page(clinic, monkeypatch, "md")
    at.file_uploader[0].set_value([("patients.csv", REASSIGN, "text/csv")]).run()
    button(at, "1. Check").click().run()
    assert "1 patient(s) another therapist" in at.warning[0].value
    assert at.dataframe[1].value[["Patient", "Therapist now", "Therapist after"]].values.tolist() \
        == [["K-1", "ther_x", "tess"]]
    button(at, "2. Import").click().run()
    with factory() as s:
        [ev] = s.scalars(select(AuditEvent).where(AuditEvent.action == "patient.reassign")).all()
        detail = json.loads(ev.detail)
        assert (ev.actor, ev.patient_ref) == ("md", "K-1")
        assert (detail["before"]["therapist"], detail["after"]["therapist"]) == ("ther_x", "tess")
        assert s.scalar(select(Staff.username).join(Patient, Patient.therapist_id == Staff.id)
                        .where(Patient.patient_id == "K-1")) == "tess"
