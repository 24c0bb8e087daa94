"""The CSV import: a small clinic loads, loads again without change, and every
kind of broken input is refused with a located message and an untouched database."""
from __future__ import annotations

import hashlib
import io
import json
import re
from datetime import date, time

import pytest
from sqlalchemy import func, select

from db import cli
from db.importer import (
    MAX_PROBLEMS,
    FILE_NAMES,
    ImportFailed,
    NothingToImport,
    import_directory,
    import_files,
)
from db.models import (
    AuditEvent,
    Base,
    Habit,
    HabitLog,
    Infusion,
    OutcomeMeasure,
    Patient,
    ProtocolSettings,
    Staff,
    TherapySession,
    TreatmentSeries,
)
from db.pseudonyms import ALPHABET, new_pseudonym

# A small clinic across all eight files. Line numbers in the cases below
# count the header as line 1.
CLINIC: dict[str, str] = {
    "staff.csv": (
        "username,full_name,role,email\n"
        "ana,Ana Alvarez,therapist,ana@example.org\n"
        "ben,Ben Brooks,therapist,\n"
        "mia,Mia Director,medical_director,mia@example.org\n"
        "root,Rita Root,admin,\n"
    ),
    "patients.csv": (
        "patient_id,first_name,last_name,date_of_birth,therapist,intake_date,intentions\n"
        'P001,Carla,Cruz,1980-04-02,ana,2026-01-05,"Sleep better, ""reconnect"""\n'
        "P002,Dan,Diaz,1975-11-30,ben,2026-01-12,\n"
        "P003,Eve,Evans,1990-06-15,ana,2026-02-01,\n"
    ),
    "series.csv": (
        "patient_id,series,kind,planned_infusions,status\n"
        "P001,1,induction,6,active\n"
        "P002,1,,,\n"
        "P001,2,booster,2,completed\n"
    ),
    "infusions.csv": (
        "patient_id,series,date,status,dose_mg_per_kg,route\n"
        "P001,1,2026-01-10T09:30,completed,0.5,IV\n"
        "P001,1,2026-01-13,completed,0.6,IV\n"
        "P002,1,2026-01-15,no_show,,\n"
        "P003,1,2026-03-01,scheduled,0.5,IM\n"
    ),
    "sessions.csv": (
        "patient_id,date,kind,status,therapist,duration_minutes,series\n"
        "P001,2026-01-08,preparation,attended,,60,1\n"
        "P001,2026-01-11T14:00,integration,attended,ben,50,\n"
        "P002,2026-01-14,preparation,cancelled,,,\n"
    ),
    "habits.csv": (
        "patient_id,habit,target_per_week,start_date,end_date\n"
        "P001,exercise,3,2026-01-10,\n"
        "P002,journaling,5,2026-01-15,2026-03-01\n"
    ),
    "habit_logs.csv": (
        "patient_id,habit,date,completed\n"
        "P001,exercise,2026-01-10,1\n"
        "P001,exercise,2026-01-11,no\n"
        "P002,journaling,2026-01-15,TRUE\n"
    ),
    "measures.csv": (
        "patient_id,instrument,date,score\n"
        "P001,PHQ-9,2026-01-05,19\n"
        "P001,GAD-7,2026-01-05,14\n"
        "P002,PCL-5,2026-01-12,44\n"
    ),
}
MODELS = (Staff, Patient, TreatmentSeries, Infusion, TherapySession, Habit, HabitLog,
          OutcomeMeasure)


def streams(files: dict[str, str | bytes]) -> dict[str, io.BytesIO]:
    return {name: io.BytesIO(data.encode() if isinstance(data, str) else data)
            for name, data in files.items()}


def load(session, files=CLINIC, **kwargs):
    """As the command line with --allow-account-changes: CLINIC creates four accounts."""
    kwargs.setdefault("allow_account_changes", True)
    return import_files(session, streams(files), **kwargs)


def snapshot(session) -> dict[str, tuple[int, str]]:
    """Row count and a checksum of every table's content."""
    out = {}
    for table in Base.metadata.sorted_tables:
        rows = sorted((tuple(r) for r in session.execute(select(table))), key=repr)
        out[table.name] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
    return out


def without_audit(snap: dict) -> dict:
    return {k: v for k, v in snap.items() if k != "audit_event"}


def audit_actions(session) -> list[str]:
    return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def import_actions(session) -> list[str]:
    """The one summary event of each import (the per-record events left out)."""
    return [a for a in audit_actions(session) if a in ("import", "import.refused")]


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


# --- happy path --------------------------------------------------------------


def test_a_small_clinic_imports_across_all_files(session):
    session.get(ProtocolSettings, 1).default_planned_infusions = 8
    session.commit()

    summary = load(session, actor="admin1")

    assert summary.files == list(FILE_NAMES)
    assert [(t, c.added, c.changed, c.unchanged) for t, c in summary.tables.items()] == [
        ("staff", 4, 0, 0), ("patients", 3, 0, 0), ("series", 4, 0, 0), ("infusions", 4, 0, 0),
        ("sessions", 3, 0, 0), ("habits", 2, 0, 0), ("habit_logs", 3, 0, 0), ("measures", 3, 0, 0),
    ]
    assert "26 added" in str(summary)

    ana = session.scalar(select(Staff).where(Staff.username == "ana"))
    assert ana.password_hash is None and ana.active and ana.role == "therapist"
    assert session.scalar(select(Staff.email).where(Staff.username == "ben")) is None

    patients = {p.patient_id: p for p in session.scalars(select(Patient))}
    assert patients["P001"].intentions == 'Sleep better, "reconnect"'
    assert patients["P001"].therapist_id == ana.id
    codes = [p.pseudonym for p in patients.values()]
    assert len(set(codes)) == 3 and all(re.fullmatch(f"[{ALPHABET}]{{6}}", c) for c in codes)

    series = {(s.patient_id, s.number): s for s in session.scalars(select(TreatmentSeries))}
    p1, p2, p3 = (patients[k].id for k in ("P001", "P002", "P003"))
    assert (series[p2, 1].kind, series[p2, 1].planned_infusions, series[p2, 1].status) == (
        "induction", 8, "active")
    # Named only by infusions.csv: created with the protocol's default plan.
    assert (series[p3, 1].kind, series[p3, 1].planned_infusions) == ("induction", 8)
    assert series[p1, 2].status == "completed"

    first = session.scalar(select(Infusion).where(Infusion.date == date(2026, 1, 10)))
    assert (first.time, first.dose_mg_per_kg, first.route) == (time(9, 30), 0.5, "IV")
    no_show = session.scalar(select(Infusion).where(Infusion.series_id == series[p2, 1].id))
    assert (no_show.status, no_show.dose_mg_per_kg, no_show.route) == ("no_show", None, None)

    sessions = {(s.patient_id, s.kind): s for s in session.scalars(select(TherapySession))}
    ben_id = session.scalar(select(Staff.id).where(Staff.username == "ben"))
    assert sessions[p1, "preparation"].therapist_id == ana.id  # the patient's therapist
    assert sessions[p1, "preparation"].series_id == series[p1, 1].id
    assert sessions[p1, "integration"].therapist_id == ben_id
    assert sessions[p1, "integration"].time == time(14, 0)
    assert sessions[p2, "preparation"].duration_minutes is None

    habit = session.scalar(select(Habit).where(Habit.name == "journaling"))
    assert (habit.target_per_week, habit.end_date) == (5, date(2026, 3, 1))
    logs = dict(session.execute(select(HabitLog.date, HabitLog.completed)).all())
    assert logs == {date(2026, 1, 10): True, date(2026, 1, 11): False, date(2026, 1, 15): True}
    scores = set(session.execute(select(OutcomeMeasure.instrument, OutcomeMeasure.score)).all())
    assert scores == {("PHQ-9", 19), ("GAD-7", 14), ("PCL-5", 44)}

    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "import"))
    assert event.actor == "admin1"
    assert json.loads(event.detail)["counts"]["habit_logs"] == {
        "added": 3, "changed": 0, "unchanged": 0}


def test_reimporting_the_same_files_changes_nothing(session):
    load(session)
    before = snapshot(session)

    summary = load(session)

    assert summary.added == 0 and summary.changed == 0
    assert summary.unchanged == 4 + 3 + 3 + 4 + 3 + 2 + 3 + 3
    assert without_audit(snapshot(session)) == without_audit(before)
    assert import_actions(session) == ["import", "import"]
    # Nothing added or changed the second time: no record events after the first import.
    assert audit_actions(session)[-1] == "import"
    assert audit_actions(session).count("import.measures.add") == 3


def test_reimport_updates_changed_fields_and_counts_them(session):
    load(session)
    changed = dict(CLINIC)
    changed["measures.csv"] = CLINIC["measures.csv"].replace("PHQ-9,2026-01-05,19", "PHQ-9,2026-01-05,17")
    changed["patients.csv"] = CLINIC["patients.csv"].replace("Dan,Diaz", "Daniel,Diaz")
    changed["habit_logs.csv"] = CLINIC["habit_logs.csv"].replace("2026-01-11,no", "2026-01-11,yes")
    pseudonyms = set(session.scalars(select(Patient.pseudonym)))

    summary = load(session, files=changed)

    assert (summary["measures"].changed, summary["patients"].changed,
            summary["habit_logs"].changed, summary.changed) == (1, 1, 1, 3)
    assert summary.added == 0
    dan = session.scalar(select(Patient).where(Patient.patient_id == "P002"))
    assert (dan.first_name, dan.version) == ("Daniel", 2)
    assert set(session.scalars(select(Patient.pseudonym))) == pseudonyms
    assert session.scalar(select(OutcomeMeasure.score).where(
        OutcomeMeasure.instrument == "PHQ-9")) == 17
    assert session.scalar(select(HabitLog.completed).where(HabitLog.date == date(2026, 1, 11)))


def test_files_may_come_one_at_a_time_and_refer_to_the_database(session):
    load(session, files={k: CLINIC[k] for k in ("staff.csv", "patients.csv")})
    summary = load(session, files={
        "measures.csv": "patient_id,instrument,date,score\nP003,PHQ-9,2026-02-01,11\n"})
    assert summary.files == ["measures.csv"] and summary["measures"].added == 1


def test_a_utf8_bom_and_crlf_line_ends_are_accepted(session):
    files = {k: "\ufeff" + v.replace("\n", "\r\n") for k, v in CLINIC.items()}
    summary = load(session, files=files)
    assert summary.added == 26


def test_a_dry_run_validates_and_writes_nothing(session):
    before = snapshot(session)
    summary = load(session, dry_run=True)
    assert summary.dry_run and summary["patients"].added == 3 and summary.added == 26
    assert str(summary).startswith("Dry run, nothing was written.")
    assert "26 to add" in str(summary)
    assert snapshot(session) == before


def test_a_dry_run_still_reports_problems(session):
    files = dict(CLINIC, **{"measures.csv": "patient_id,instrument,date,score\nP001,PHQ-9,2026-01-05,99\n"})
    before = snapshot(session)
    with pytest.raises(ImportFailed) as caught:
        load(session, files=files, dry_run=True)
    assert [f"{p.file}:{p.line}: {p.column}" for p in caught.value.problems] == [
        "measures.csv:2: score"]
    assert snapshot(session) == before  # not even an audit event


def test_progress_callback_sees_every_file(session):
    calls = []
    load(session, progress=lambda name, rows: calls.append((name, rows)))
    assert ("habit_logs.csv", 3) in calls and ("staff.csv", 4) in calls


def test_the_examples_in_the_format_guide_import(session):
    from db.config import PROJECT_ROOT

    guide = (PROJECT_ROOT / "docs" / "csv-format.md").read_text()
    examples = dict(re.findall(r"^## (\w+\.csv)\n.*?```csv\n(.*?)```", guide, re.M | re.S))
    assert sorted(examples) == sorted(FILE_NAMES)
    summary = load(session, files=examples)
    assert summary.changed == 0 and all(c.added for c in summary.tables.values())


def test_a_session_may_pin_a_series_that_only_infusions_named(session):
    load(session)
    summary = load(session, files={
        "infusions.csv": CLINIC["infusions.csv"] + "P002,3,2026-04-01,scheduled,,\n",
        "sessions.csv": "patient_id,date,kind,status,series\nP002,2026-03-30,preparation,scheduled,3\n",
    })
    assert (summary["series"].added, summary["infusions"].added, summary["sessions"].added) == (1, 1, 1)
    pinned = session.scalar(select(TherapySession).where(TherapySession.date == date(2026, 3, 30)))
    series = session.get(TreatmentSeries, pinned.series_id)
    assert (series.number, series.planned_infusions) == (3, 6)
    # No therapist column: the patient's own therapist (ben).
    assert session.get(Staff, pinned.therapist_id).username == "ben"


def test_progress_true_draws_a_bar_on_stderr(session, capsys):
    load(session, progress=True)
    err = capsys.readouterr().err
    assert "habit_logs.csv" in err and "100%" in err and err.endswith("\n")


def test_the_admin_role_may_move_to_another_account(session):
    load(session)
    files = {"staff.csv": CLINIC["staff.csv"].replace("Rita Root,admin", "Rita Root,therapist")
             + "boss,Bo Boss,admin,\n"}
    summary = load(session, files=files)
    assert (summary["staff"].added, summary["staff"].changed) == (1, 1)
    roles = dict(session.execute(select(Staff.username, Staff.role)).all())
    assert (roles["root"], roles["boss"]) == ("therapist", "admin")


def test_days_seen_marks_each_group_and_day_once():
    from db.importer.loader import _DaysSeen

    seen = _DaysSeen()
    days = [date(2026, 5, 20), date(2026, 5, 1), date(2020, 1, 1), date(2026, 5, 21),
            date(2019, 12, 31), date(2026, 5, 1)]
    assert [seen.add("a", d) for d in days] == [True, True, True, True, True, False]
    assert seen.add("b", date(2026, 5, 1))  # another group is separate
    assert not any(seen.add("a", d) for d in days)


def test_pseudonyms_avoid_existing_codes():
    taken = {"AAAAAA"}
    code = new_pseudonym(taken)
    assert code not in taken and len(code) == 6 and set(code) <= set(ALPHABET)
    assert not set(ALPHABET) & set("01OIL")


# --- broken input: each case names exactly where the problem is --------------


def sub(file: str, old: str, new: str):
    def change(files):
        assert old in files[file], (file, old)
        files[file] = files[file].replace(old, new, 1)
    return change


def add(file: str, line: str):
    def change(files):
        files[file] = files[file] + line + "\n"
    return change


def put(file: str, data: str | bytes):
    def change(files):
        files[file] = data
    return change


PATIENTS_LATIN1 = CLINIC["patients.csv"].replace("Dan,Diaz", "José,Díaz").encode("latin-1")

BAD_CASES = [
    ("impossible date", [sub("patients.csv", "1980-04-02", "1980-02-30")],
     ["patients.csv:2: date_of_birth"]),
    ("birth in the future", [sub("patients.csv", "1990-06-15", "2099-06-15")],
     ["patients.csv:4: date_of_birth"]),
    ("date not YYYY-MM-DD", [sub("patients.csv", "2026-01-12", "12/01/2026")],
     ["patients.csv:3: intake_date"]),
    ("intake before birth", [sub("patients.csv", "2026-02-01", "1989-02-01")],
     ["patients.csv:4: intake_date"]),
    ("unknown therapist", [sub("patients.csv", ",ben,2026-01-12", ",bob,2026-01-12")],
     ["patients.csv:3: therapist"]),
    ("session therapist is not a therapist", [sub("sessions.csv", "attended,ben", "attended,mia")],
     ["sessions.csv:3: therapist"]),
    ("unknown patient", [add("infusions.csv", "P999,1,2026-01-20,completed,0.5,IV")],
     ["infusions.csv:6: patient_id"]),
    ("patient twice in a file", [add("patients.csv", "P002,Dan,Again,1975-11-30,ben,2026-01-12,")],
     ["patients.csv:5: patient_id"]),
    ("habit log twice in a file", [add("habit_logs.csv", "P001,exercise,2026-01-11,yes")],
     ["habit_logs.csv:5: date"]),
    ("measure twice in a file", [add("measures.csv", "P001,PHQ-9,2026-01-05,18")],
     ["measures.csv:5: date"]),
    ("PHQ-9 above 27", [add("measures.csv", "P001,PHQ-9,2026-02-05,28")],
     ["measures.csv:5: score"]),
    ("negative GAD-7", [sub("measures.csv", "GAD-7,2026-01-05,14", "GAD-7,2026-01-05,-1")],
     ["measures.csv:3: score"]),
    ("score not a whole number", [sub("measures.csv", "PCL-5,2026-01-12,44", "PCL-5,2026-01-12,4.5")],
     ["measures.csv:4: score"]),
    ("unknown instrument", [sub("measures.csv", "PCL-5", "BDI-II")], ["measures.csv:4: instrument"]),
    ("target above 7 days", [sub("habits.csv", "exercise,3,", "exercise,8,")],
     ["habits.csv:2: target_per_week"]),
    ("habit ends before it starts", [sub("habits.csv", "2026-01-15,2026-03-01", "2026-01-15,2026-01-01")],
     ["habits.csv:3: end_date"]),
    ("dose above 5 mg/kg", [sub("infusions.csv", "completed,0.6,IV", "completed,6,IV")],
     ["infusions.csv:3: dose_mg_per_kg"]),
    ("zero dose", [sub("infusions.csv", "completed,0.5,IV", "completed,0,IV")],
     ["infusions.csv:2: dose_mg_per_kg"]),
    ("unknown route", [sub("infusions.csv", "0.5,IM", "0.5,PO")], ["infusions.csv:5: route"]),
    ("time that does not exist", [sub("infusions.csv", "2026-01-10T09:30", "2026-01-10T25:30")],
     ["infusions.csv:2: date"]),
    ("zero-minute session", [sub("sessions.csv", "attended,,60,1", "attended,,0,1")],
     ["sessions.csv:2: duration_minutes"]),
    ("unknown session status", [sub("sessions.csv", "cancelled", "done")],
     ["sessions.csv:4: status"]),
    ("session pinned to a missing series", [sub("sessions.csv", "attended,,60,1", "attended,,60,7")],
     ["sessions.csv:2: series"]),
    ("31 planned infusions", [sub("series.csv", "induction,6,active", "induction,31,active")],
     ["series.csv:2: planned_infusions"]),
    ("series number 0", [add("series.csv", "P002,0,booster,,")], ["series.csv:5: series"]),
    ("completed is not yes or no", [sub("habit_logs.csv", "TRUE", "maybe")],
     ["habit_logs.csv:4: completed"]),
    ("habit the patient does not have", [add("habit_logs.csv", "P001,yoga,2026-01-12,1")],
     ["habit_logs.csv:5: habit"]),
    ("unknown role", [sub("staff.csv", "Rita Root,admin", "Rita Root,superuser")],
     ["staff.csv:5: role"]),
    ("bad username", [add("staff.csv", "Bad Name,X Y,therapist,")], ["staff.csv:6: username"]),
    ("bad email", [sub("staff.csv", "ana@example.org", "ana-at-example")], ["staff.csv:2: email"]),
    ("last admin demoted", [sub("staff.csv", "Rita Root,admin", "Rita Root,therapist")],
     ["staff.csv:5: role"]),
    ("missing column", [put("patients.csv", "patient_id,first_name,last_name,therapist,intake_date\n"
                            "P010,A,B,ana,2026-01-01\n")],
     ["patients.csv:1: date_of_birth"]),
    ("unknown extra column", [sub("staff.csv", "role,email\n", "role,email,phone\n")],
     ["staff.csv:1: phone"]),
    ("column named twice", [put("measures.csv", "patient_id,instrument,date,score,score\n")],
     ["measures.csv:1: score"]),
    ("not UTF-8", [put("patients.csv", PATIENTS_LATIN1)], ["patients.csv:3: file"]),
    ("empty file", [put("measures.csv", b"")], ["measures.csv:1: file"]),
    ("huge field", [sub("patients.csv", '"Sleep better, ""reconnect"""', "x" * 20_000)],
     ["patients.csv:2: intentions"]),
    ("binary junk", [put("habits.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00")],
     ["habits.csv:1: file"]),
    ("NUL byte in a text file",
     [put("habits.csv", b"patient_id,habit,target_per_week,start_date\nP001,exer\x00cise,3,2026-01-10\n")],
     ["habits.csv:2: file"]),
    ("quote in the middle of a value", [add("measures.csv", 'P002,GAD-7,2026-02-01,"1"2')],
     ["measures.csv:5: file"]),
    ("too few values in a row", [add("sessions.csv", "P001,2026-02-01,integration,attended")],
     ["sessions.csv:5: row"]),
    ("quote never closed", [add("patients.csv", '"P010,A,B,1990-01-01,ana,2026-01-01,')],
     ["patients.csv:5: file"]),
    ("unknown file name", [put("notes.csv", b"anything")], ["notes.csv:1: file"]),
    ("unknown file name beside a bad file", [put("notes.csv", b"x"), sub("habit_logs.csv", "TRUE", "maybe")],
     ["notes.csv:1: file", "habit_logs.csv:4: completed"]),
    ("line numbers count multi-line values",
     [sub("patients.csv", '"Sleep better, ""reconnect"""', '"Sleep better\nand reconnect"'),
      sub("patients.csv", "2026-01-12", "2026-01-32")],
     ["patients.csv:4: intake_date"]),
    ("every problem at once",
     [sub("patients.csv", "1980-04-02", "1980-02-30"), add("measures.csv", "P001,PHQ-9,2026-02-05,28"),
      sub("habit_logs.csv", "TRUE", "maybe")],
     ["patients.csv:2: date_of_birth", "habit_logs.csv:4: completed", "measures.csv:5: score"]),
]


@pytest.mark.parametrize("changes, where", [pytest.param(c, w, id=name) for name, c, w in BAD_CASES])
def test_bad_input_is_refused_and_changes_nothing(session, changes, where):
    load(session)
    before = snapshot(session)
    files = dict(CLINIC)
    for change in changes:
        change(files)

    with pytest.raises(ImportFailed) as caught:
        load(session, files=files)

    problems = caught.value.problems
    assert [f"{p.file}:{p.line}: {p.column}" for p in problems] == where
    for p in problems:
        assert str(p).startswith(f"{p.file}:{p.line}: {p.column}: ")
        assert p.message and "Error" not in p.message and "Traceback" not in p.message
    assert without_audit(snapshot(session)) == without_audit(before)
    assert import_actions(session) == ["import", "import.refused"]
    assert audit_actions(session)[-1] == "import.refused"


def test_problem_list_is_capped_but_counted(session):
    load(session)
    first = date(2027, 1, 1).toordinal()
    rows = "".join(f"P001,PHQ-9,{date.fromordinal(first + i)},99\n"
                   for i in range(MAX_PROBLEMS + 500))
    with pytest.raises(ImportFailed) as caught:
        load(session, files={"measures.csv": "patient_id,instrument,date,score\n" + rows})
    assert len(caught.value.problems) == MAX_PROBLEMS
    assert caught.value.total == MAX_PROBLEMS + 500


def test_nothing_to_import(session, tmp_path):
    with pytest.raises(NothingToImport):
        import_directory(session, tmp_path / "missing")
    with pytest.raises(NothingToImport):
        import_directory(session, tmp_path)
    with pytest.raises(NothingToImport):
        import_files(session, {})


# --- the command line -------------------------------------------------------


def write_clinic(folder, files=CLINIC):
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data.encode() if isinstance(data, str) else data)
    return folder


def test_cli_import_exit_codes(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    good = write_clinic(tmp_path / "good")
    bad = write_clinic(tmp_path / "bad", dict(CLINIC, **{
        "measures.csv": CLINIC["measures.csv"] + "P001,PHQ-9,2026-02-05,28\n"}))
    (tmp_path / "empty").mkdir()

    # staff.csv creates four accounts: refused until confirmed, one error per account.
    assert cli.main(["import", str(good)]) == 1
    err = capsys.readouterr().err
    assert [line.split(": ")[0] for line in err.splitlines()[:-1]] == [
        "staff.csv:2", "staff.csv:3", "staff.csv:4", "staff.csv:5"]
    assert "creates the account 'root' with the role admin" in err
    assert "--allow-account-changes" in err
    assert cli.main(["import", "--dry-run", str(good)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Dry run") and "staff.csv:5: creates the account 'root'" in out
    assert cli.main(["import", "--allow-account-changes", str(good)]) == 0
    assert "26 added" in capsys.readouterr().out

    assert cli.main(["import", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "measures.csv:5: score: 28 is out of range" in err and "nothing was written" in err
    assert "Traceback" not in err

    assert cli.main(["import", str(tmp_path / "missing")]) == 2
    assert "no such folder" in capsys.readouterr().err
    assert cli.main(["import", str(tmp_path / "empty")]) == 2
    assert "none of the import files" in capsys.readouterr().err

    # The first import was committed by the command itself.
    assert cli.main(["import", str(good)]) == 0
    assert "0 added, 0 changed, 25 unchanged" in capsys.readouterr().out


# --- streaming ----------------------------------------------------------------


@pytest.mark.slow
def test_a_large_habit_log_file_streams_in_bounded_memory(session, tmp_path):
    import tracemalloc

    if session.bind.dialect.name != "sqlite":
        # Streaming is the same Python on every backend; tracemalloc makes the
        # run slow, so memory is measured once, on SQLite.
        pytest.skip("memory bound measured on SQLite only")
    n_patients, habits_each, days = 20, 5, 2000  # 200,000 log rows
    load(session, files={k: CLINIC[k] for k in ("staff.csv",)})
    folder = tmp_path / "big"
    folder.mkdir()
    with (folder / "patients.csv").open("w") as fh:
        fh.write("patient_id,first_name,last_name,date_of_birth,therapist,intake_date\n")
        for p in range(n_patients):
            fh.write(f"B{p:04d},First,Last,1980-01-01,ana,2019-12-01\n")
    with (folder / "habits.csv").open("w") as fh:
        fh.write("patient_id,habit,target_per_week,start_date\n")
        for p in range(n_patients):
            for h in range(habits_each):
                fh.write(f"B{p:04d},habit-{h},4,2020-01-01\n")
    start = date(2020, 1, 1).toordinal()
    day_text = [date.fromordinal(start + d).isoformat() for d in range(days)]
    with (folder / "habit_logs.csv").open("w") as fh:
        fh.write("patient_id,habit,date,completed\n")
        for p in range(n_patients):
            for h in range(habits_each):
                fh.writelines(f"B{p:04d},habit-{h},{d},{(p + h + i) % 3 and 1 or 0}\n"
                              for i, d in enumerate(day_text))
    size = (folder / "habit_logs.csv").stat().st_size

    tracemalloc.start()
    try:
        summary = import_directory(session, folder)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert summary["habit_logs"].added == n_patients * habits_each * days
    assert count(session, HabitLog) == n_patients * habits_each * days
    assert peak < size / 3, f"peak {peak:,} bytes for a {size:,}-byte file"
