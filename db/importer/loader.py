"""Validate and load the eight CSV files, in dependency order, in one transaction.

Every row is checked; references resolve against the database and against the
files read before. Rows are written in batches while no problem has been seen;
after the first problem the rest is only validated, and the caller rolls back.
A dry run writes nothing at all (it only reads), so on SQLite it never holds the
write lock while it checks a large file. Account changes and reassignments are
listed in the summary and allowed only as ``changes`` says; every row written
gets its own audit event (``trail``).
"""
from __future__ import annotations

from collections.abc import Callable, Hashable
from datetime import date
from typing import Any, BinaryIO

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from .. import clock
from .. import staff as staff_rules
from ..limits import (
    HABIT_TARGET_PER_WEEK,
    IDENTIFIER_MAX,
    NAME_MAX,
    PLANNED_INFUSIONS,
    SESSION_DURATION_MINUTES,
)
from ..models import (
    INFUSION_STATUSES, INSTRUMENT_MAX, ROLES, ROUTES, SERIES_KINDS, SERIES_STATUSES,
    SESSION_KINDS, SESSION_STATUSES, Habit, HabitLog, Infusion, OutcomeMeasure, Patient,
    ProtocolSettings, Staff, TherapySession, TreatmentSeries,
)
from ..pseudonyms import new_pseudonym
from . import fields as f
from .changes import (
    AccountChange, Confirmed, Reassignment, account_problem, reassign_problem,
)
from .csvfile import CsvFile, FileSpec
from .fields import FieldError
from .problems import Problems
from .summary import ImportSummary
from .trail import Trail
from .writer import BATCH_ROWS, Writer, by_key_columns, from_dict

SPECS: dict[str, FileSpec] = {
    "staff": FileSpec("staff.csv", ("username", "full_name", "role"), ("email",)),
    "patients": FileSpec(
        "patients.csv",
        ("patient_id", "first_name", "last_name", "date_of_birth", "therapist", "intake_date"),
        ("intentions",)),
    "series": FileSpec("series.csv", ("patient_id", "series"),
                       ("kind", "planned_infusions", "status")),
    "infusions": FileSpec("infusions.csv", ("patient_id", "series", "date", "status"),
                          ("dose_mg_per_kg", "route")),
    "sessions": FileSpec("sessions.csv", ("patient_id", "date", "kind", "status"),
                         ("therapist", "duration_minutes", "series")),
    "habits": FileSpec("habits.csv", ("patient_id", "habit", "target_per_week", "start_date"),
                       ("end_date",)),
    "habit_logs": FileSpec("habit_logs.csv", ("patient_id", "habit", "date", "completed")),
    "measures": FileSpec("measures.csv", ("patient_id", "instrument", "date", "score")),
}

MAX_SERIES_NUMBER = 999
SERIES_COMPARE = ("kind", "planned_infusions", "status")
# Each file's natural key, as its audit events name it (the CSV's columns).
AUDIT_KEYS = {"staff": ("username",), "patients": ("patient_id",),
              "series": ("patient_id", "series"), "infusions": ("patient_id", "series", "date"),
              "sessions": ("patient_id", "date", "kind"), "habits": ("patient_id", "habit"),
              "habit_logs": ("patient_id", "habit", "date"),
              "measures": ("patient_id", "instrument", "date")}
THERAPIST_ROLE = "therapist"

Progress = Callable[[str, int], None]
_BAD = object()  # a value that failed its check; the problem is already recorded


class _Row:
    """One CSV row being checked: collects its problems column by column."""

    __slots__ = ("run", "file", "line", "values", "ok")

    def __init__(self, run: _Run, file: str, line: int, values: dict[str, str]) -> None:
        self.run, self.file, self.line, self.values, self.ok = run, file, line, values, True

    def get(self, column: str, parse: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return parse(self.values[column], *args, **kwargs)
        except FieldError as exc:
            self.problem(column, str(exc))
            return _BAD

    def raw(self, column: str) -> str:
        return self.values[column]

    def problem(self, column: str, message: str) -> None:
        self.ok = False
        self.run.problems.add(self.file, self.line, column, message)


class _DaysSeen:
    """Which (group, day) keys a file has had, one bit per day per group.

    A million habit-log rows cost a few kilobytes per habit instead of a set
    of a million tuples.
    """

    def __init__(self) -> None:
        # group -> [ordinal of bit 0, bits]
        self.groups: dict[Hashable, list] = {}

    def add(self, group: Hashable, day: date) -> bool:
        """Mark the key; False when it was already marked."""
        n = day.toordinal()
        entry = self.groups.get(group)
        if entry is None:
            entry = self.groups[group] = [n, bytearray()]
        base, bits = entry
        if n < base:
            shift = (base - n + 7) // 8
            bits[:0] = bytes(shift)
            base = entry[0] = base - shift * 8
        byte, mask = divmod(n - base, 8)
        mask = 1 << mask
        if byte >= len(bits):
            bits.extend(bytes(byte - len(bits) + 1))
        elif bits[byte] & mask:
            return False
        bits[byte] |= mask
        return True


class _Run:
    """One import. ``write`` False is a dry run: rows are looked up and counted, never
    written. ``role`` is the importer's (``changes.SHELL`` for the command line);
    ``confirmed`` the account changes the person running it confirmed."""

    def __init__(self, session: Session, summary: ImportSummary, problems: Problems,
                 progress: Progress | None, *, write: bool, actor: str, role: str,
                 confirmed: Confirmed, trail: Trail | None) -> None:
        self.session = session
        self.summary = summary
        self.problems = problems
        self.progress = progress
        self.write = write
        self.actor = actor
        self.role = role
        self.confirmed = confirmed
        self.trail = trail if write else None
        self.failed_files: set[str] = set()
        self.today = clock.today()
        settings = session.get(ProtocolSettings, 1)
        self.default_planned = settings.default_planned_infusions if settings else 6
        self._load_references()

    # --- references -------------------------------------------------------

    def _load_references(self) -> None:
        """Everything rows refer to, by natural key; ``None`` as an id means
        "named in this import, not written (yet)"."""
        s = self.session
        self.staff: dict[str, tuple[int | None, str]] = {}
        self.staff_names: dict[int, str] = {}
        self.staff_rows: dict[Hashable, tuple[int, dict[str, Any]]] = {}
        self.active_admins: set[str] = set()
        self.active_staff: set[str] = set()
        for st in s.execute(select(Staff.id, Staff.username, Staff.full_name, Staff.email,
                                   Staff.role, Staff.active)):
            self.staff[st.username] = (st.id, st.role)
            self.staff_names[st.id] = st.username
            self.staff_rows[st.username] = (st.id, {"full_name": st.full_name, "email": st.email,
                                                    "role": st.role})
            if st.active:
                self.active_staff.add(st.username)
                if st.role == "admin":
                    self.active_admins.add(st.username)

        self.patients: dict[str, int | None] = {}
        self.patient_therapist: dict[str, int | None] = {}
        self.patient_rows: dict[Hashable, tuple[int, dict[str, Any]]] = {}
        self.pseudonyms: set[str] = set()
        cols = ("first_name", "last_name", "date_of_birth", "therapist_id", "intake_date",
                "intentions")
        for p in s.execute(select(Patient.id, Patient.patient_id, Patient.pseudonym,
                                  *(Patient.__table__.c[c] for c in cols))):
            self.patients[p.patient_id] = p.id
            self.patient_therapist[p.patient_id] = p.therapist_id
            self.patient_rows[p.patient_id] = (p.id, {c: getattr(p, c) for c in cols})
            self.pseudonyms.add(p.pseudonym)

        self.series: dict[tuple[str, int], int | None] = {}
        self.series_rows: dict[Hashable, tuple[int, dict[str, Any]]] = {}
        for r in s.execute(select(TreatmentSeries.id, Patient.patient_id, TreatmentSeries.number,
                                  TreatmentSeries.kind, TreatmentSeries.planned_infusions,
                                  TreatmentSeries.status).join(Patient)):
            key = (r.patient_id, r.number)
            self.series[key] = r.id
            self.series_rows[key] = (r.id, {"kind": r.kind, "status": r.status,
                                            "planned_infusions": r.planned_infusions})

        self.habits: dict[tuple[str, str], int | None] = {}
        self.habit_rows: dict[Hashable, tuple[int, dict[str, Any]]] = {}
        for r in s.execute(select(Habit.id, Patient.patient_id, Habit.name, Habit.target_per_week,
                                  Habit.start_date, Habit.end_date).join(Patient)):
            key = (r.patient_id, r.name)
            self.habits[key] = r.id
            self.habit_rows[key] = (r.id, {"target_per_week": r.target_per_week,
                                           "start_date": r.start_date, "end_date": r.end_date})

    def _parents_with_rows(self, column) -> set[int]:
        return set(self.session.scalars(select(column).distinct()))

    def writing(self) -> bool:
        return not self.problems

    def _writer(self, table_name: str, model, compare, lookup, on_insert=None) -> Writer:
        return Writer(self.session, model.__table__, compare, self.summary[table_name], lookup,
                      enabled=self.writing, on_insert=on_insert, write=self.write,
                      trail=self.trail, action=f"import.{table_name}",
                      key_names=AUDIT_KEYS[table_name])

    def _patient(self, row: _Row, column: str = "patient_id") -> tuple[str, int | None] | None:
        """The patient a row names, or None after reporting the problem."""
        pid = row.raw(column)
        if not pid:
            row.problem(column, "must not be empty")
            return None
        if pid in self.patients:
            return pid, self.patients[pid]
        if "patients" not in self.failed_files:
            row.problem(column, f"no patient with patient_id {pid!r} in the database or in "
                        "patients.csv")
        else:
            row.ok = False
        return None

    def _therapist(self, row: _Row, column: str, username: str) -> int | None | object:
        username = username.lower()
        if username not in self.staff:
            if "staff" not in self.failed_files:
                row.problem(column, f"no staff member with username {username!r} in the database "
                            "or in staff.csv")
            else:
                row.ok = False
            return _BAD
        staff_id, role = self.staff[username]
        if not role:  # its row in staff.csv is bad and already reported
            row.ok = False
            return _BAD
        if role != THERAPIST_ROLE:
            row.problem(column, f"{username!r} is a {role.replace('_', ' ')}, not a therapist")
            return _BAD
        return staff_id

    # --- driver -----------------------------------------------------------

    def load(self, table: str, stream: BinaryIO) -> None:
        spec = SPECS[table]
        csv_file = CsvFile(spec, stream, self.problems)
        handler = getattr(self, f"_load_{table}")
        handler(csv_file, spec.name)
        if csv_file.failed:
            self.failed_files.add(table)
        if self.progress:
            self.progress(spec.name, csv_file.rows_done)

    def _tick(self, name: str, n: int) -> None:
        if self.progress and n % BATCH_ROWS == 0:
            self.progress(name, n)

    # --- one method per file ---------------------------------------------

    def _load_staff(self, rows: CsvFile, name: str) -> None:
        def inserted(username: Hashable, staff_id: int) -> None:
            self.staff[username] = (staff_id, self.staff[username][1])
            self.staff_names[staff_id] = username  # type: ignore[assignment]

        w = self._writer("staff", Staff, ("full_name", "email", "role"),
                         from_dict(self.staff_rows), on_insert=inserted)
        seen: dict[str, int] = {}
        demoted: dict[str, int] = {}
        admins_named: set[str] = set()
        changes: list[AccountChange] = []
        for line, values in rows:
            row = _Row(self, name, line, values)
            username = row.raw("username").lower()
            if not staff_rules.USERNAME_RE.match(username):
                row.problem("username", staff_rules.USERNAME_RULE)
            elif username in seen:
                row.problem("username", f"{username!r} appears twice in this file (also on line "
                            f"{seen[username]})")
            else:
                seen[username] = line
            full_name = row.get("full_name", f.text, max_len=200)
            role = row.get("role", f.choice, ROLES)
            email = row.raw("email") or None
            if email and (len(email) > 254 or not staff_rules.EMAIL_RE.match(email)):
                row.problem("email", f"{email[:60]!r} is not an email address")
            if not row.ok:
                self.staff.setdefault(username, (None, ""))  # known, so no echo of missing refs
                continue
            old = self.staff_rows.get(username)
            old_role = old[1]["role"] if old else None
            if old_role != role:
                change = AccountChange(username, old_role, role, name, line)
                changes.append(change)
                why = account_problem(change, self.role, dry_run=not self.write,
                                      confirmed=self.confirmed)
                if why:
                    row.problem("username" if change.creates else "role", why)
            if username in self.active_admins and role != "admin":
                demoted[username] = line
            elif role == "admin" and (username in self.active_staff
                                      or username not in self.staff_rows):
                admins_named.add(username)
            self.staff[username] = (self.staff.get(username, (None, ""))[0], role)
            w.add(username, {"username": username, "full_name": full_name, "email": email,
                             "role": role, "active": True, "must_change_password": False,
                             "created_at": _now()}, (None, (username,)))
        w.flush()
        self.summary.account_changes.extend(changes)
        # Demoting every admin would lock the clinic out of its own settings. The
        # admins left are counted after the change; promoting oneself does not count.
        if demoted and not (self.active_admins - demoted.keys()) | (admins_named - {self.actor}):
            username, line = next(iter(demoted.items()))
            self.problems.add(name, line, "role", f"{username!r} is the last active admin; "
                              "keep at least one admin")
        if self.trail is None or not self.writing():
            return
        from ..auth import end_user_sessions  # as db.staff does: auth imports staff rules

        for change in changes:
            if change.creates:
                self.trail.record("user.add", None, username=change.username, role=change.after,
                                  via="import")
            else:
                # A new role applies at once: that user signs in again to get its menu.
                end_user_sessions(self.session, self.staff_rows[change.username][0],
                                  reason="role changed")
                self.trail.record("user.change_role", None, username=change.username,
                                  before={"role": change.before}, after={"role": change.after},
                                  via="import")
        self.trail.flush()

    def _load_patients(self, rows: CsvFile, name: str) -> None:
        compare = ("first_name", "last_name", "date_of_birth", "therapist_id", "intake_date",
                   "intentions")
        w = self._writer("patients", Patient, compare, from_dict(self.patient_rows),
                         on_insert=self.patients.__setitem__)
        seen: dict[str, int] = {}
        for line, values in rows:
            row = _Row(self, name, line, values)
            pid = row.get("patient_id", f.text, max_len=IDENTIFIER_MAX)
            if pid is not _BAD:
                if pid in seen:
                    row.problem("patient_id", f"{pid!r} appears twice in this file (also on line "
                                f"{seen[pid]})")
                    pid = _BAD
                else:
                    seen[pid] = line
            first = row.get("first_name", f.text, max_len=NAME_MAX)
            last = row.get("last_name", f.text, max_len=NAME_MAX)
            dob = row.get("date_of_birth", f.day)
            if dob is not _BAD and dob > self.today:
                row.problem("date_of_birth", f"{dob.isoformat()} is in the future")
                dob = _BAD
            therapist = row.raw("therapist")
            if therapist:
                therapist_id = self._therapist(row, "therapist", therapist)
            else:
                row.problem("therapist", "must not be empty; give the staff username of the "
                            "patient's therapist")
            intake = row.get("intake_date", f.day)
            if intake is not _BAD and dob is not _BAD and intake < dob:
                row.problem("intake_date", f"{intake.isoformat()} is before the date of birth")
            intentions = row.get("intentions", f.text, max_len=f.MAX_FIELD_CHARS, required=False)
            if pid is _BAD:
                continue
            # Known from here on, even when the row is bad: its dependents are
            # not reported again as "no such patient".
            self.patients.setdefault(pid, None)
            if not row.ok:
                continue
            old = self.patient_rows.get(pid)
            if old is not None and old[1]["therapist_id"] != therapist_id:
                move = Reassignment(pid, self.staff_names.get(old[1]["therapist_id"], "(none)"),
                                    therapist.lower(), name, line)
                self.summary.reassignments.append(move)
                if why := reassign_problem(move, self.role):
                    row.problem("therapist", why)
                    continue
                if self.trail is not None and self.writing():
                    self.trail.record(
                        "patient.reassign", pid, via="import",
                        before={"therapist": move.before, "therapist_id": old[1]["therapist_id"]},
                        after={"therapist": move.after, "therapist_id": therapist_id})
            self.patient_therapist[pid] = therapist_id
            values = {"patient_id": pid, "first_name": first, "last_name": last,
                      "date_of_birth": dob, "therapist_id": therapist_id, "intake_date": intake,
                      "intentions": intentions}
            if pid not in self.patient_rows:
                values["pseudonym"] = new_pseudonym(self.pseudonyms)
                self.pseudonyms.add(values["pseudonym"])
            w.add(pid, values, (pid, (pid,)))
        w.flush()

    def _series_values(self, patient_db_id: int | None, number: int, kind: str = "induction",
                       planned: int | None = None, status: str = "active") -> dict[str, Any]:
        return {"patient_id": patient_db_id, "number": number, "kind": kind,
                "planned_infusions": planned or self.default_planned, "status": status}

    def _load_series(self, rows: CsvFile, name: str) -> None:
        w = self._writer("series", TreatmentSeries, SERIES_COMPARE,
                         from_dict(self.series_rows), on_insert=self.series.__setitem__)
        seen: dict[tuple[str, int], int] = {}
        for line, values in rows:
            row = _Row(self, name, line, values)
            patient = self._patient(row)
            number = row.get("series", f.whole, 1, MAX_SERIES_NUMBER, what="a series number")
            kind = row.get("kind", f.choice, SERIES_KINDS) if row.raw("kind") else "induction"
            planned = (row.get("planned_infusions", f.whole, *PLANNED_INFUSIONS,
                               what="a number of infusions")
                       if row.raw("planned_infusions") else None)
            status = row.get("status", f.choice, SERIES_STATUSES) if row.raw("status") else "active"
            if patient is None or number is _BAD:
                continue
            key = (patient[0], number)
            if key in seen:
                row.problem("series", f"series {number} of patient {patient[0]!r} appears twice in "
                            f"this file (also on line {seen[key]})")
                continue
            seen[key] = line
            self.series.setdefault(key, None)
            if row.ok:
                w.add(key, self._series_values(patient[1], number, kind, planned, status),
                      (patient[0], (patient[0], number)))
        w.flush()

    def _series_for(self, row: _Row, patient: tuple[str, int | None], number: int,
                    *, create: bool) -> int | None | object:
        key = (patient[0], number)
        if key in self.series:
            return self.series[key]
        if not create:
            if "series" not in self.failed_files:
                row.problem("series", f"patient {patient[0]!r} has no series {number} in the "
                            "database, series.csv or infusions.csv")
            return _BAD
        # Named by infusions.csv only: created with the protocol's defaults.
        self.series[key] = None
        if not self.writing():
            return None
        self.summary["series"].added += 1
        if self.write:
            values = self._series_values(patient[1], number)
            stmt = insert(TreatmentSeries.__table__).returning(TreatmentSeries.id)
            self.series[key] = self.session.execute(stmt, values).scalar_one()
            if self.trail is not None:
                self.trail.records("import.series.add", [(patient[0], (patient[0], number),
                                                          None, values)],
                                   SERIES_COMPARE, AUDIT_KEYS["series"])
        return self.series[key]

    def _load_infusions(self, rows: CsvFile, name: str) -> None:
        compare = ("time", "status", "dose_mg_per_kg", "route")
        lookup = by_key_columns(self.session, Infusion.__table__, ("series_id", "date"), compare,
                                self._parents_with_rows(Infusion.series_id))
        w = self._writer("infusions", Infusion, compare, lookup)
        seen: dict[tuple, int] = {}
        for line, values in rows:
            row = _Row(self, name, line, values)
            patient = self._patient(row)
            number = row.get("series", f.whole, 1, MAX_SERIES_NUMBER, what="a series number")
            when = row.get("date", f.when)
            status = row.get("status", f.choice, INFUSION_STATUSES)
            dose = row.get("dose_mg_per_kg", f.dose) if row.raw("dose_mg_per_kg") else None
            route = row.get("route", f.choice, ROUTES) if row.raw("route") else None
            if patient is None or number is _BAD or when is _BAD:
                continue
            natural = (patient[0], number, when[0])
            if natural in seen:
                row.problem("date", f"series {number} of patient {patient[0]!r} already has an "
                            f"infusion on {when[0].isoformat()} (line {seen[natural]})")
                continue
            seen[natural] = line
            series_id = self._series_for(row, patient, number, create=True)
            if row.ok and self.writing():
                w.add((series_id, when[0]), {"series_id": series_id, "date": when[0],
                                             "time": when[1], "status": status,
                                             "dose_mg_per_kg": dose, "route": route},
                      (patient[0], (patient[0], number, when[0])))
            self._tick(name, rows.rows_done)
        w.flush()

    def _load_sessions(self, rows: CsvFile, name: str) -> None:
        compare = ("time", "status", "therapist_id", "duration_minutes", "series_id")
        lookup = by_key_columns(self.session, TherapySession.__table__,
                                ("patient_id", "date", "kind"), compare,
                                self._parents_with_rows(TherapySession.patient_id))
        w = self._writer("sessions", TherapySession, compare, lookup)
        seen: dict[tuple, int] = {}
        for line, values in rows:
            row = _Row(self, name, line, values)
            patient = self._patient(row)
            when = row.get("date", f.when)
            kind = row.get("kind", f.choice, SESSION_KINDS)
            status = row.get("status", f.choice, SESSION_STATUSES)
            duration = (row.get("duration_minutes", f.whole, *SESSION_DURATION_MINUTES,
                                what="minutes")
                        if row.raw("duration_minutes") else None)
            if patient is None:
                continue
            therapist = row.raw("therapist")
            therapist_id = (self._therapist(row, "therapist", therapist) if therapist
                            else self.patient_therapist.get(patient[0]))
            series_id = None
            if row.raw("series"):
                number = row.get("series", f.whole, 1, MAX_SERIES_NUMBER, what="a series number")
                if number is not _BAD:
                    series_id = self._series_for(row, patient, number, create=False)
            if when is _BAD or kind is _BAD:
                continue
            natural = (patient[0], when[0], kind)
            if natural in seen:
                row.problem("date", f"patient {patient[0]!r} already has a {kind} session on "
                            f"{when[0].isoformat()} (line {seen[natural]})")
                continue
            seen[natural] = line
            if row.ok and self.writing():
                w.add((patient[1], when[0], kind),
                      {"patient_id": patient[1], "therapist_id": therapist_id, "date": when[0],
                       "time": when[1], "kind": kind, "status": status,
                       "duration_minutes": duration, "series_id": series_id},
                      (patient[0], (patient[0], when[0], kind)))
            self._tick(name, rows.rows_done)
        w.flush()

    def _load_habits(self, rows: CsvFile, name: str) -> None:
        w = self._writer("habits", Habit, ("target_per_week", "start_date", "end_date"),
                         from_dict(self.habit_rows), on_insert=self.habits.__setitem__)
        seen: dict[tuple[str, str], int] = {}
        for line, values in rows:
            row = _Row(self, name, line, values)
            patient = self._patient(row)
            habit = row.get("habit", f.text, max_len=NAME_MAX)
            target = row.get("target_per_week", f.whole, *HABIT_TARGET_PER_WEEK, what="days per week")
            start = row.get("start_date", f.day)
            end = row.get("end_date", f.day) if row.raw("end_date") else None
            if end not in (None, _BAD) and start is not _BAD and end < start:
                row.problem("end_date", f"{end.isoformat()} is before the start date")
            if patient is None or habit is _BAD:
                continue
            key = (patient[0], habit)
            if key in seen:
                row.problem("habit", f"patient {patient[0]!r} has habit {habit!r} twice in this "
                            f"file (also on line {seen[key]})")
                continue
            seen[key] = line
            self.habits.setdefault(key, None)
            if row.ok:
                w.add(key, {"patient_id": patient[1], "name": habit, "target_per_week": target,
                            "start_date": start, "end_date": end},
                      (patient[0], (patient[0], habit)))
        w.flush()

    def _load_habit_logs(self, rows: CsvFile, name: str) -> None:
        # The hot path of a big import: kept lean on purpose (no per-row objects
        # beyond what the checks need, one dict lookup for the habit).
        lookup = by_key_columns(self.session, HabitLog.__table__, ("habit_id", "date"),
                                ("completed",), self._parents_with_rows(HabitLog.habit_id))
        w = self._writer("habit_logs", HabitLog, ("completed",), lookup)
        seen = _DaysSeen()
        habits, problems, parse_day, parse_flag = self.habits, self.problems, f.day, f.flag
        progress, audited = self.progress, self.trail is not None
        for line, values in rows:
            if progress and rows.rows_done % BATCH_ROWS == 0:
                progress(name, rows.rows_done)
            ok = True
            try:
                day = parse_day(values["date"])
            except FieldError as exc:
                problems.add(name, line, "date", str(exc))
                ok, day = False, None
            try:
                done = parse_flag(values["completed"])
            except FieldError as exc:
                problems.add(name, line, "completed", str(exc))
                ok = False
            pid, habit = values["patient_id"], values["habit"]
            key = (pid, habit)
            if key not in habits:
                row = _Row(self, name, line, values)
                if pid not in self.patients:
                    self._patient(row)
                elif not habit:
                    row.problem("habit", "must not be empty")
                elif "habits" not in self.failed_files:
                    row.problem("habit", f"patient {pid!r} has no habit {habit!r} in the database "
                                "or in habits.csv")
                continue
            if day is None:
                continue
            if not seen.add(key, day):
                problems.add(name, line, "date", f"habit {habit!r} of patient {pid!r} has a second "
                             f"log for {day.isoformat()} in this file")
                continue
            if ok and not problems.total:
                habit_id = habits[key]
                w.add((habit_id, day), {"habit_id": habit_id, "date": day, "completed": done},
                      (pid, (pid, habit, day)) if audited else None)
        w.flush()

    def _load_measures(self, rows: CsvFile, name: str) -> None:
        lookup = by_key_columns(self.session, OutcomeMeasure.__table__,
                                ("patient_id", "instrument", "date"), ("score",),
                                self._parents_with_rows(OutcomeMeasure.patient_id))
        w = self._writer("measures", OutcomeMeasure, ("score",), lookup)
        seen: dict[tuple, int] = {}
        for line, values in rows:
            row = _Row(self, name, line, values)
            patient = self._patient(row)
            instrument = row.get("instrument", f.choice, tuple(INSTRUMENT_MAX))
            day = row.get("date", f.day)
            score = _BAD
            if instrument is not _BAD:
                score = row.get("score", f.whole, 0, INSTRUMENT_MAX[instrument],
                                what=f"a {instrument} total score")
            if patient is None or instrument is _BAD or day is _BAD:
                continue
            natural = (patient[0], instrument, day)
            if natural in seen:
                row.problem("date", f"patient {patient[0]!r} already has a {instrument} score on "
                            f"{day.isoformat()} (line {seen[natural]})")
                continue
            seen[natural] = line
            if row.ok and self.writing():
                w.add((patient[1], instrument, day), {"patient_id": patient[1],
                                                      "instrument": instrument, "date": day,
                                                      "score": score},
                      (patient[0], (patient[0], instrument, day)))
            self._tick(name, rows.rows_done)
        w.flush()


def _now():
    from ..audit import utcnow

    return utcnow()
