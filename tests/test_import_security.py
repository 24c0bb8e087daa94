"""Issue 15, the import: the attacks tried against it, performed for real.

Item 1: roles and patient assignments changed through Import, audited only as
counts. Item 9: on SQLite a dry run held the write lock. Item 11: a record of
millions of fields passed the line cap. Every test runs on SQLite, and on
PostgreSQL when TEST_DATABASE_URL is set (the ``session`` fixture).
"""
from __future__ import annotations

import io
import json
import threading
import time
import tracemalloc
from datetime import date

import pytest
from sqlalchemy import func, select

from db import audit, auth, staff
from db.engine import session_factory
from db.importer import SHELL, AccountChange, ImportFailed, import_files
from db.importer.csvfile import MAX_RECORD_BYTES
from db.models import AuditEvent, AuthSession, Patient, Staff
from tests.test_import import CLINIC, snapshot, streams, without_audit

HEADER = "username,full_name,role,email\n"
# The attack: the director made admin, the only admin a therapist, a new admin.
TAKEOVER = HEADER + ("director,Dee Director,admin,\n"
                     "admin,Ada Admin,therapist,\n"
                     "newadmin,New Admin,admin,\n")
PATIENTS_HEADER = "patient_id,first_name,last_name,date_of_birth,therapist,intake_date\n"


@pytest.fixture
def clinic(session):
    """One admin, one medical director, two therapists, patient P001 with ana;
    the admin and the director are signed in."""
    for username, name, role in (("admin", "Ada Admin", "admin"),
                                 ("director", "Dee Director", "medical_director"),
                                 ("ana", "Ana Alvarez", "therapist"),
                                 ("ben", "Ben Brooks", "therapist")):
        staff.add_user(session, username, name, role)
    session.flush()
    session.add(Patient(patient_id="P001", pseudonym="QWERTY", first_name="Carla",
                        last_name="Cruz", date_of_birth=date(1980, 4, 2),
                        therapist_id=_id(session, "ana"),
                        intake_date=date(2026, 1, 5), intentions=""))
    auth.start_session(session, "admin", "admin-browser")
    auth.start_session(session, "director", "director-browser")
    session.commit()
    return session


def _id(session, username) -> int:
    return session.scalar(select(Staff.id).where(Staff.username == username))


def roles(session) -> dict[str, str]:
    return dict(session.execute(select(Staff.username, Staff.role)).all())


def open_sessions(session, username) -> int:
    return session.scalar(select(func.count()).select_from(AuthSession)
                          .where(AuthSession.staff_id == _id(session, username),
                                 AuthSession.ended_at.is_(None)))


def run(session, files, **kwargs):
    return import_files(session, streams(files), **kwargs)


def where(failure: ImportFailed) -> list[str]:
    return [f"{p.file}:{p.line}: {p.column}" for p in failure.problems]


def events(session, action_like: str) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action.like(action_like))
                                .order_by(AuditEvent.id)))


# --- item 1: accounts --------------------------------------------------------------


@pytest.mark.parametrize("dry_run", [False, True])
@pytest.mark.parametrize("confirmed", [False, True])
def test_the_director_cannot_take_over_accounts_by_import(clinic, dry_run, confirmed):
    session = clinic
    before = snapshot(session)
    with pytest.raises(ImportFailed) as refused:
        run(session, {"staff.csv": TAKEOVER}, actor="director", role="medical_director",
            dry_run=dry_run, allow_account_changes=confirmed)
    # One error per change, where it is; nothing written.
    assert where(refused.value) == ["staff.csv:2: role", "staff.csv:3: role",
                                    "staff.csv:4: username"]
    messages = [p.message for p in refused.value.problems]
    assert messages[0] == ("changes the role of 'director' from medical_director to admin; "
                           "only an admin may create staff accounts or change a role")
    assert "creates the account 'newadmin' with the role admin" in messages[2]
    assert without_audit(snapshot(session)) == without_audit(before)
    assert roles(session)["admin"] == "admin" and "newadmin" not in roles(session)
    assert open_sessions(session, "admin") == 1


@pytest.mark.parametrize("rows, expected", [
    ("director,Dee Director,admin,\n", ["staff.csv:2: role"]),
    ("newadmin,New Admin,admin,\n", ["staff.csv:2: username"]),
    ("newther,New Therapist,therapist,\n", ["staff.csv:2: username"]),
    # Demoting the only admin: the change is refused, and it would also leave no admin.
    ("admin,Ada Admin,therapist,\n", ["staff.csv:2: role", "staff.csv:2: role"]),
])
def test_each_account_change_alone_is_refused_for_the_director(clinic, rows, expected):
    with pytest.raises(ImportFailed) as refused:
        run(clinic, {"staff.csv": HEADER + rows}, actor="director", role="medical_director")
    assert where(refused.value) == expected
    assert "only an admin may" in refused.value.problems[0].message


def test_the_director_may_still_import_staff_rows_that_change_no_account(clinic):
    summary = run(clinic, {"staff.csv": HEADER + "ana,Ana Alvarez-Ruiz,therapist,\n"},
                  actor="director", role="medical_director")
    assert summary["staff"].changed == 1 and not summary.account_changes
    [event] = events(clinic, "import.staff.%")
    detail = json.loads(event.detail)
    assert (event.action, event.actor, detail["key"]) == (
        "import.staff.change", "director", {"username": "ana"})
    assert (detail["before"]["full_name"], detail["after"]["full_name"]) == (
        "Ana Alvarez", "Ana Alvarez-Ruiz")


def test_the_admin_must_confirm_the_changes_the_dry_run_lists(clinic):
    session = clinic
    before = snapshot(session)
    with pytest.raises(ImportFailed) as refused:
        run(session, {"staff.csv": TAKEOVER}, actor="admin", role="admin")
    assert where(refused.value) == ["staff.csv:2: role", "staff.csv:3: role",
                                    "staff.csv:4: username"]
    assert all("which was not confirmed" in p.message for p in refused.value.problems)
    assert without_audit(snapshot(session)) == without_audit(before)

    checked = run(session, {"staff.csv": TAKEOVER}, actor="admin", role="admin", dry_run=True)
    assert [(c.username, c.before, c.after, c.line) for c in checked.account_changes] == [
        ("director", "medical_director", "admin", 2), ("admin", "admin", "therapist", 3),
        ("newadmin", None, "admin", 4)]
    assert without_audit(snapshot(session)) == without_audit(before)

    # A confirmation of other changes does not cover these.
    with pytest.raises(ImportFailed) as partly:
        run(session, {"staff.csv": TAKEOVER}, actor="admin", role="admin",
            allow_account_changes=checked.account_changes[:2])
    assert where(partly.value) == ["staff.csv:4: username"]
    assert roles(session)["admin"] == "admin"


def test_confirmed_account_changes_apply_end_sessions_and_are_audited(clinic):
    session = clinic
    checked = run(session, {"staff.csv": TAKEOVER}, actor="admin", role="admin", dry_run=True)
    summary = run(session, {"staff.csv": TAKEOVER}, actor="admin", role="admin",
                  allow_account_changes=set(checked.account_changes))
    assert (summary["staff"].added, summary["staff"].changed) == (1, 2)
    got = roles(session)
    assert (got["director"], got["admin"], got["newadmin"]) == ("admin", "therapist", "admin")
    # Both users whose role changed sign in again.
    assert open_sessions(session, "admin") == 0 and open_sessions(session, "director") == 0
    ended = set(session.scalars(select(AuthSession.end_reason)))
    assert ended == {"role changed"}

    rows = {(e.action, json.loads(e.detail)["key"]["username"]): json.loads(e.detail)
            for e in events(session, "import.staff.%")}
    assert set(rows) == {("import.staff.change", "director"), ("import.staff.change", "admin"),
                         ("import.staff.add", "newadmin")}
    assert rows["import.staff.change", "admin"]["before"] == {
        "email": None, "full_name": "Ada Admin", "role": "admin"}
    assert rows["import.staff.change", "admin"]["after"]["role"] == "therapist"
    assert rows["import.staff.add", "newadmin"]["before"] is None
    changed = {json.loads(e.detail)["username"]: json.loads(e.detail)
               for e in events(session, "user.change_role")}
    assert changed["admin"]["before"] == {"role": "admin"}
    assert changed["director"]["after"] == {"role": "admin"}
    [added] = events(session, "user.add")[-1:]
    assert json.loads(added.detail)["username"] == "newadmin"
    [summary_event] = events(session, "import")
    detail = json.loads(summary_event.detail)
    assert detail["events"] == 3 + 2 + 1
    assert all(json.loads(e.detail)["run"] == detail["run"]
               for e in events(session, "import.staff.%"))


def test_the_last_admin_guard_counts_admins_after_the_change(clinic):
    session = clinic
    # The only admin demoted, nobody else an admin: refused even when confirmed.
    with pytest.raises(ImportFailed) as refused:
        run(session, {"staff.csv": HEADER + "admin,Ada Admin,therapist,\n"}, actor="admin",
            role="admin", allow_account_changes=True)
    assert where(refused.value) == ["staff.csv:2: role"]
    assert "last active admin" in refused.value.problems[0].message
    # The importer's own promotion does not count as the admin left: a director
    # running a script on the server cannot trade the admin for themself.
    with pytest.raises(ImportFailed) as own:
        run(session, {"staff.csv": HEADER + "director,Dee Director,admin,\n"
                                            "admin,Ada Admin,therapist,\n"},
            actor="director", role=SHELL, allow_account_changes=True)
    assert [str(p) for p in own.value.problems] == [
        "staff.csv:3: role: 'admin' is the last active admin; keep at least one admin"]
    # Another account made admin in the same file keeps one.
    summary = run(session, {"staff.csv": HEADER + "director,Dee Director,admin,\n"
                                                  "admin,Ada Admin,therapist,\n"},
                  actor="admin", role="admin", allow_account_changes=True)
    assert summary["staff"].changed == 2 and roles(session)["director"] == "admin"


# --- item 1: patients ------------------------------------------------------------------

REASSIGN = PATIENTS_HEADER + "P001,Carla,Cruz,1980-04-02,ben,2026-01-05\n"


def test_an_admin_import_cannot_reassign_a_patient(clinic):
    session = clinic
    before = snapshot(session)
    for dry_run in (True, False):
        with pytest.raises(ImportFailed) as refused:
            run(session, {"patients.csv": REASSIGN}, actor="admin", role="admin",
                dry_run=dry_run)
        assert [str(p) for p in refused.value.problems] == [
            "patients.csv:2: therapist: reassigns patient 'P001' from 'ana' to 'ben'; only the "
            "medical director reassigns patients (in Record care, or by importing this file "
            "themselves)"]
    assert without_audit(snapshot(session)) == without_audit(before)


def test_the_directors_import_reassigns_listed_and_audited_on_its_own(clinic):
    session = clinic
    checked = run(session, {"patients.csv": REASSIGN}, actor="director",
                  role="medical_director", dry_run=True)
    assert [(m.patient_id, m.before, m.after, m.line) for m in checked.reassignments] == [
        ("P001", "ana", "ben", 2)]
    run(session, {"patients.csv": REASSIGN}, actor="director", role="medical_director")
    assert session.scalar(select(Patient.therapist_id)) == _id(session, "ben")
    [move] = events(session, "patient.reassign")
    detail = json.loads(move.detail)
    assert (move.actor, move.patient_ref, detail["via"]) == ("director", "P001", "import")
    assert detail["before"] == {"therapist": "ana", "therapist_id": _id(session, "ana")}
    assert detail["after"] == {"therapist": "ben", "therapist_id": _id(session, "ben")}
    [change] = events(session, "import.patients.change")
    assert json.loads(change.detail)["key"] == {"patient_id": "P001"}
    assert json.loads(change.detail)["before"]["therapist_id"] == _id(session, "ana")


# --- item 1: one event per record, with its key and values before and after --------


def test_every_record_added_or_changed_has_its_own_event(session):
    files = dict(CLINIC)
    summary = run(session, files, allow_account_changes=True, actor="cli")
    added = events(session, "import.%.add")
    assert len(added) == summary.added == 26
    by_table = {}
    for e in added:
        by_table.setdefault(e.action, []).append(e)
    assert {a: len(v) for a, v in by_table.items()} == {
        f"import.{t}.add": c.added for t, c in summary.tables.items()}
    log = json.loads(by_table["import.habit_logs.add"][0].detail)
    assert log["key"] == {"date": "2026-01-10", "habit": "exercise", "patient_id": "P001"}
    assert (log["before"], log["after"]) == (None, {"completed": True})
    assert by_table["import.habit_logs.add"][0].patient_ref == "P001"
    assert all(e.patient_ref is None for e in by_table["import.staff.add"])

    changed = dict(CLINIC, **{"measures.csv": CLINIC["measures.csv"].replace(
        "PHQ-9,2026-01-05,19", "PHQ-9,2026-01-05,17")})
    summary = run(session, changed, actor="cli")
    [event] = events(session, "import.%.change")
    assert summary.changed == 1 and summary.added == 0
    assert (event.action, event.actor, event.patient_ref) == ("import.measures.change", "cli",
                                                               "P001")
    detail = json.loads(event.detail)
    assert detail["key"] == {"date": "2026-01-05", "instrument": "PHQ-9", "patient_id": "P001"}
    assert (detail["before"], detail["after"]) == ({"score": 19}, {"score": 17})
    # An encoded detail reads back as audit.record would have written it.
    assert json.loads(event.detail) == json.loads(json.dumps(detail, sort_keys=True))


def test_record_events_are_stored_as_every_other_event(session):
    """Written straight through the driver, they must read and sort as audit.record's do."""
    from sqlalchemy import text

    audit.record(session, "someone", "test.before")
    session.commit()
    run(session, {"staff.csv": CLINIC["staff.csv"]}, allow_account_changes=True)
    audit.record(session, "someone", "test.after")
    session.commit()
    raw = session.execute(text("SELECT action, CAST(at AS TEXT), detail FROM audit_event "
                               "ORDER BY id")).all()
    assert [r[0] for r in raw][:2] == ["test.before", "import.staff.add"]
    if session.bind.dialect.name == "sqlite":  # text there: the same form, so filters compare alike
        assert {len(r[1]) for r in raw} == {len("2026-01-01 00:00:00.000000")}, raw
        assert [r[1] for r in raw] == sorted(r[1] for r in raw)
    stamps = list(session.scalars(select(AuditEvent.at).order_by(AuditEvent.id)))
    assert stamps == sorted(stamps)
    events_read = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert all(e.at.tzinfo is not None or session.bind.dialect.name == "sqlite"
               for e in events_read)
    assert all(isinstance(json.loads(r[2]), dict) for r in raw)


def test_a_refused_import_leaves_no_record_events(session):
    files = dict(CLINIC, **{"measures.csv": CLINIC["measures.csv"] + "P001,PHQ-9,2026-02-05,28\n"})
    with pytest.raises(ImportFailed):
        run(session, files, allow_account_changes=True)
    assert [e.action for e in events(session, "%")] == ["import.refused"]


# --- item 9: a dry run holds no write lock ---------------------------------------------


def test_a_dry_run_of_a_large_file_lets_others_write_meanwhile(engine, tmp_path):
    """A dry run is paused half-way through a large file (by its own progress
    callback); meanwhile another connection signs a user in and writes an audit
    event. Before, the dry run had already inserted rows and held SQLite's write
    lock: the other writer waited the busy timeout (15 s) and failed."""
    factory = session_factory(engine)
    with factory() as s:
        run(s, {k: CLINIC[k] for k in ("staff.csv", "patients.csv", "habits.csv")},
            allow_account_changes=True)
    rows = 60_000
    logs = ["patient_id,habit,date,completed\n"]
    first = date(1920, 1, 1).toordinal()  # two habits, 30,000 days each
    logs += [f"{pid},{habit},{date.fromordinal(first + i).isoformat()},1\n"
             for pid, habit in (("P001", "exercise"), ("P002", "journaling"))
             for i in range(rows // 2)]
    upload = {"patients.csv": CLINIC["patients.csv"] + "P004,New,Patient,1990-01-01,ana,2026-01-01,\n",
              "habit_logs.csv": "".join(logs)}
    halfway, written = threading.Event(), threading.Event()
    outcome: dict = {}

    def progress(name, n):
        if name == "habit_logs.csv" and n >= rows // 2 and not halfway.is_set():
            halfway.set()
            written.wait(30)

    def dry_run():
        with factory() as s:
            outcome["summary"] = run(s, upload, dry_run=True, progress=progress)

    worker = threading.Thread(target=dry_run)
    worker.start()
    try:
        assert halfway.wait(60), "the dry run never got half-way"
        start = time.perf_counter()
        with factory() as s:
            auth.start_session(s, "ana", "meanwhile")
            audit.record(s, "ana", "test.meanwhile")
            s.commit()
        seconds = time.perf_counter() - start
    finally:
        written.set()
        worker.join(60)
    assert seconds < 2, f"a write waited {seconds:.1f} s for the dry run"
    assert outcome["summary"]["habit_logs"].added == rows
    assert outcome["summary"]["patients"].added == 1
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(Patient)) == 3  # the dry run wrote none


# --- item 11: one record of millions of fields -------------------------------------------


class _ManyLines(io.RawIOBase):
    """A habits.csv whose second record is one quoted value after another, each on
    its own short line, for ``lines`` lines: 80 MB for 20 M lines, generated lazily."""

    def __init__(self, lines: int) -> None:
        self.lines = lines
        self.sent = -1
        self.position = 0

    def readline(self, limit: int = -1) -> bytes:
        self.sent += 1
        if self.sent == 0:
            line = b"patient_id,habit,target_per_week,start_date\n"
        elif self.sent == 1:
            line = b'"\n'
        elif self.sent < self.lines:
            line = b'","\n'
        else:
            line = b""
        self.position += len(line)
        return line

    def tell(self) -> int:
        return self.position


def test_a_record_of_millions_of_fields_is_refused_in_bounded_memory(session):
    stream = _ManyLines(20_000_000)
    tracemalloc.start()
    try:
        with pytest.raises(ImportFailed) as refused:
            import_files(session, {"habits.csv": stream})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    [problem] = refused.value.problems
    assert (problem.file, problem.line, problem.column) == ("habits.csv", 2, "file")
    assert "more than 1 MB" in problem.message
    # Stopped after about 1 MB of the 80 MB, holding a few MB at most.
    assert stream.position < 2 * MAX_RECORD_BYTES
    # (No wall-clock bound: on a loaded machine under tracemalloc it says nothing;
    # the bytes read show it stopped early.)
    assert peak < 64 * MAX_RECORD_BYTES, f"peak {peak:,} bytes"


def test_a_row_or_header_with_too_many_values_is_refused(session):
    wide = "patient_id,habit,target_per_week,start_date\n" + ",".join(["x"] * 500) + "\n"
    with pytest.raises(ImportFailed) as refused:
        import_files(session, streams({"habits.csv": wide}))
    assert [str(p) for p in refused.value.problems] == [
        "habits.csv:2: row: has 500 values; a row of this file has 4 (the file does not look "
        "like a clinic export)"]
    header = ",".join(f"c{i}" for i in range(100_000)) + "\n"
    with pytest.raises(ImportFailed) as refused:
        import_files(session, streams({"habits.csv": header}))
    assert where(refused.value) == ["habits.csv:1: header"]
    assert refused.value.total == 1


def test_account_change_equality_ignores_where_it_is():
    assert AccountChange("a", None, "admin", "staff.csv", 2) == AccountChange("a", None, "admin")
    assert AccountChange("a", None, "admin") != AccountChange("a", "therapist", "admin")
