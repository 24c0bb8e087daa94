"""A synthetic demo clinic: realistic enough to exercise every dashboard rule.

Everything is drawn from one ``random.Random(seed)`` and laid out relative to
``as_of``, so the same seed and date always give the same clinic. Rows are
written in bulk with primary keys assigned here (no per-row round trips),
which keeps 5,000 patients well under a minute.
"""
from __future__ import annotations

import math
import random
import sys
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.orm import Session

from . import audit, staff
from .models import (
    INSTRUMENT_MAX,
    Base,
    Habit,
    HabitLog,
    Infusion,
    OutcomeMeasure,
    Patient,
    Staff,
    TherapySession,
    TreatmentSeries,
)
from .passwords import verify_password
from .pseudonyms import ALPHABET as PSEUDONYM_ALPHABET
from .pseudonyms import LENGTH as PSEUDONYM_LENGTH

ProgressArg = bool | Callable[[int, int], None]

# Patients are generated and written in chunks: memory stays flat at 50,000
# patients and the progress bar moves.
CHUNK_PATIENTS = 250

DEMO_THERAPIST_USERNAME = "therapist"
DEMO_THERAPIST_NAME = "Dr. Maya Lee"


class DemoError(ValueError):
    """Why the demo clinic cannot be generated here, in plain words."""


@dataclass(frozen=True)
class DemoSummary:
    as_of: date
    seed: int
    therapists: int
    patients: int
    series: int
    infusions: int
    sessions: int
    habits: int
    habit_logs: int
    measures: int

    def __str__(self) -> str:
        return (
            f"Demo clinic as of {self.as_of.isoformat()} (seed {self.seed}): "
            f"{self.patients:,} patients, {self.therapists:,} therapists, "
            f"{self.series:,} series, {self.infusions:,} infusions, "
            f"{self.sessions:,} therapy sessions, {self.habits:,} habits, "
            f"{self.habit_logs:,} habit logs, {self.measures:,} outcome measures."
        )


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    role: str
    full_name: str


# One sign-in per role for demo mode. The passwords are public on purpose:
# demo mode holds synthetic data only.
DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount(DEMO_THERAPIST_USERNAME, "demo-therapist-2026", "therapist", DEMO_THERAPIST_NAME),
    DemoAccount("director", "demo-director-2026", "medical_director", "Dr. Alan Whitfield"),
    DemoAccount("admin", "demo-admin-2026", "admin", "Priya Raman"),
    DemoAccount("teamscreen", "demo-teamscreen-2026", "team_screen", "Team screen (hallway)"),
)

# --- name and text material -------------------------------------------------
# Latin-1 only, so that the PDF exports' core fonts can print every name.

FIRST_NAMES = (
    "Aaliyah", "Adrian", "Aiko", "Alejandro", "Amara", "Amir", "Ana", "Andrea", "Anjali",
    "Arjun", "Ava", "Ben", "Bianca", "Camila", "Carlos", "Chen", "Chloe", "Chidi", "Daniel",
    "Dara", "David", "Diego", "Elena", "Eli", "Emeka", "Emily", "Erik", "Fatima", "Felix",
    "Grace", "Hana", "Hassan", "Ines", "Isaac", "Jamal", "James", "Jia", "Jordan", "José",
    "Julia", "Kai", "Kavya", "Kenji", "Laila", "Leo", "Lucía", "Malik", "Maria", "Mateo",
    "Maya", "Mei", "Michael", "Mina", "Nadia", "Naomi", "Nikolai", "Noah", "Olga", "Omar",
    "Priya", "Rafael", "Rania", "Ravi", "Rosa", "Ruth", "Samuel", "Sara", "Sofia", "Tariq",
    "Thandiwe", "Tomás", "Valentina", "Wei", "Yara", "Yusuf", "Zoë",
)

LAST_NAMES = (
    "Abebe", "Adeyemi", "Ahmed", "Alvarez", "Andersen", "Bauer", "Becker", "Brown", "Castillo",
    "Chen", "Cohen", "Costa", "Das", "Diaz", "Dubois", "Eriksson", "Fernández", "Fischer",
    "Garcia", "Goldberg", "Gonzalez", "Gupta", "Haddad", "Hansen", "Hernandez", "Hoffmann",
    "Ibrahim", "Ito", "Jackson", "Jensen", "Johnson", "Kaur", "Khan", "Kim", "Kowalski",
    "Kumar", "Lee", "Lopez", "Martin", "Mendoza", "Meyer", "Mohammed", "Moreau", "Müller",
    "Murphy", "Nakamura", "Nielsen", "Novak", "Nwosu", "O'Brien", "Okafor", "Olsen",
    "Patel", "Pereira", "Petrov", "Quinn", "Ramirez", "Reyes", "Rossi", "Russo", "Sato",
    "Schmidt", "Silva", "Singh", "Smith", "Sousa", "Suzuki", "Tanaka", "Taylor", "Thompson",
    "Torres", "Tran", "Walker", "Wang", "Williams", "Wong", "Yamamoto", "Yilmaz", "Zhang",
)

INTENTION_OPENERS = (
    "Lift the depression that years of medication have not moved",
    "Get out from under the constant anxiety",
    "Loosen the grip of old trauma",
    "Stop the cycle of rumination at night",
    "Find a reason to get up in the morning again",
    "Grieve my father and move forward",
    "Quiet the panic before work",
    "Feel something other than numb",
    "Break the pattern of drinking to cope",
    "Understand why I keep pushing people away",
)

INTENTION_HOPES = (
    "be present with my kids",
    "return to work full time",
    "sleep through the night",
    "reconnect with my partner",
    "enjoy music and cooking again",
    "be kinder to myself",
    "go back to running",
    "rebuild friendships I let slip",
    "finish my degree",
    "spend more time outdoors",
)

DISCONTINUE_REASONS = (
    "Patient chose to stop after the first infusion",
    "Dissociation was too distressing",
    "Blood pressure elevated; medical director advised stopping",
    "Nausea despite ondansetron",
    "Moved out of state",
    "Cost; insurance declined coverage",
    "Started a new job; could not make the schedule",
    "Lost to follow-up",
    "Hospitalised for an unrelated condition",
)

CORE_HABITS = ("exercise", "journaling", "meditation")
OTHER_HABITS = ("breathwork", "nature walk", "sleep routine", "yoga", "gratitude practice",
                "time with friends")

INFUSION_TIMES = (time(8, 30), time(9, 0), time(10, 30), time(12, 0), time(13, 30), time(15, 0))
SESSION_TIMES = (time(9, 0), time(10, 0), time(11, 0), time(13, 0), time(14, 0), time(15, 0),
                 time(16, 0), time(17, 0))


# --- the generator ----------------------------------------------------------

@dataclass
class _Ids:
    """The next free primary key of each table, read once at the start."""

    next: dict[str, int]

    def take(self, table: str) -> int:
        value = self.next[table]
        self.next[table] = value + 1
        return value


@dataclass
class _Therapist:
    id: int
    username: str


class _Rows:
    """Rows waiting to be written, as tuples in each table's column order."""

    TABLES: tuple[Table, ...] = (
        Patient.__table__, TreatmentSeries.__table__, Infusion.__table__,
        TherapySession.__table__, Habit.__table__, HabitLog.__table__, OutcomeMeasure.__table__,
    )

    def __init__(self) -> None:
        self.pending: dict[str, list[tuple]] = {t.name: [] for t in self.TABLES}
        self.counts: dict[str, int] = {t.name: 0 for t in self.TABLES}

    def add(self, table: str, row: tuple) -> None:
        self.pending[table].append(row)

    def flush(self, session: Session) -> None:
        # Parents before children: foreign keys are checked row by row.
        for table in self.TABLES:
            rows = self.pending[table.name]
            if rows:
                _bulk_write(session, table, COLUMNS[table.name], rows)
                self.counts[table.name] += len(rows)
                rows.clear()


# The columns each generated tuple fills, in order. ``version`` is written
# explicitly because bulk paths skip the ORM's defaults.
COLUMNS: dict[str, tuple[str, ...]] = {
    "staff": ("id", "username", "full_name", "email", "role", "password_hash", "active",
              "must_change_password", "created_at", "version"),
    "patient": ("id", "patient_id", "pseudonym", "first_name", "last_name", "date_of_birth",
                "therapist_id", "intake_date", "intentions", "version"),
    "treatment_series": ("id", "patient_id", "number", "kind", "planned_infusions", "status",
                         "discontinued_reason", "version"),
    "infusion": ("id", "series_id", "date", "time", "status", "dose_mg_per_kg", "route",
                 "version"),
    "therapy_session": ("id", "patient_id", "therapist_id", "date", "time", "kind", "status",
                        "duration_minutes", "series_id", "version"),
    "habit": ("id", "patient_id", "name", "target_per_week", "start_date", "end_date",
              "version"),
    "habit_log": ("id", "habit_id", "date", "completed"),
    "outcome_measure": ("id", "patient_id", "instrument", "date", "score"),
}


def _bulk_write(session: Session, table: Table, columns: Sequence[str],
                rows: list[tuple]) -> None:
    """Insert ``rows`` through the fastest path the backend offers.

    PostgreSQL gets COPY (an order of magnitude faster than even pipelined
    executemany at millions of habit logs); SQLite gets the driver's
    executemany with SQLAlchemy's own bind processors, so dates and booleans
    are stored exactly as the ORM would store them. Anything else takes Core.
    """
    conn = session.connection()
    dialect = conn.dialect
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        raw = conn.connection.driver_connection
        names = ", ".join(columns)
        with raw.cursor() as cursor, cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as cp:
            for row in rows:
                cp.write_row(row)
        return
    if dialect.name == "sqlite":
        processors = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
                      for name in columns]
        active = [(i, p) for i, p in enumerate(processors) if p is not None]
        if active:
            converted = []
            for row in rows:
                values = list(row)
                for i, proc in active:
                    if values[i] is not None:
                        values[i] = proc(values[i])
                converted.append(tuple(values))
            rows = converted
        names = ", ".join(columns)
        marks = ", ".join("?" for _ in columns)
        conn.exec_driver_sql(f"INSERT INTO {table.name} ({names}) VALUES ({marks})", rows)
        return
    conn.execute(insert(table), [dict(zip(columns, row)) for row in rows])


def _next_ids(session: Session) -> _Ids:
    start = {}
    for name in COLUMNS:
        table = Base.metadata.tables[name]
        start[name] = (session.scalar(select(func.max(table.c.id))) or 0) + 1
    return _Ids(start)


def _fix_sequences(session: Session) -> None:
    # Keys were assigned here, so PostgreSQL's sequences never moved: advance
    # them past the new rows or the app's next insert would collide.
    if session.get_bind().dialect.name != "postgresql":
        return
    for name in COLUMNS:
        session.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
            f"(SELECT MAX(id) FROM {name})) WHERE EXISTS (SELECT 1 FROM {name})"
        ))


def _weekday(d: date) -> date:
    """The clinic books infusions and sessions on weekdays only."""
    wd = d.weekday()
    return d + timedelta(days=7 - wd) if wd >= 5 else d


def _weekday_before(d: date) -> date:
    wd = d.weekday()
    return d - timedelta(days=wd - 4) if wd >= 5 else d


def _pseudonym(rng: random.Random, existing: set[str]) -> str:
    # Drawn from the seeded generator (not ``secrets``) so that the demo is
    # reproducible; the data are synthetic, so nothing is there to protect.
    while True:
        code = "".join(rng.choice(PSEUDONYM_ALPHABET) for _ in range(PSEUDONYM_LENGTH))
        if code not in existing:
            existing.add(code)
            return code


def _ascii_lower(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum())


def _username_base(last: str, first: str | None) -> str:
    """``dr.lee`` for doctors, ``m.lee`` for the other therapists."""
    prefix = "dr" if first is None else _ascii_lower(first)[:1]
    return f"{prefix}.{_ascii_lower(last)}"


def _weighted(rng: random.Random, pairs: Sequence[tuple[Any, float]]) -> Any:
    r = rng.random() * sum(w for _, w in pairs)
    for value, weight in pairs:
        r -= weight
        if r < 0:
            return value
    return pairs[-1][0]


class _Generator:
    def __init__(self, rng: random.Random, as_of: date, ids: _Ids,
                 therapists: list[_Therapist], rows: _Rows) -> None:
        self.rng = rng
        self.as_of = as_of
        self.ids = ids
        self.therapists = therapists
        self.rows = rows
        self.pseudonyms: set[str] = set()
        self.weights = [rng.uniform(0.7, 1.3) for _ in therapists]
        self.intake = as_of  # the current patient's intake date

    # -- one patient ---------------------------------------------------------

    def patient(self, number: int, long_history: bool) -> None:
        rng, as_of = self.rng, self.as_of
        pid = self.ids.take("patient")
        therapist = rng.choices(self.therapists, weights=self.weights)[0]
        not_started = False
        if long_history:
            intake = as_of - timedelta(days=5 * 365 + rng.randint(0, 30))
            first = _weekday(intake + timedelta(days=rng.randint(7, 21)))
        elif rng.random() < 0.03:
            # Booked but not yet started: the first infusion is within a week.
            not_started = True
            first = _weekday(as_of + timedelta(days=rng.randint(1, 7)))
            if first > as_of + timedelta(days=7):
                first = _weekday_before(as_of + timedelta(days=7))
            intake = as_of - timedelta(days=rng.randint(0, 14))
        else:
            # A clinic keeps taking patients in: about a quarter came in over the last
            # six weeks, so every caseload has series in progress, not only history.
            recent = rng.random() < 0.25
            intake = as_of - timedelta(days=rng.randint(0, 42) if recent else rng.randint(0, 540))
            first = _weekday(intake + timedelta(days=rng.randint(7, 28)))
        self.intake = intake
        age_days = int(rng.uniform(18.2, 75.0) * 365.25)
        first_name, last_name = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        intentions = ""
        if rng.random() < 0.95:
            intentions = f"{rng.choice(INTENTION_OPENERS)}; {rng.choice(INTENTION_HOPES)}."
        self.rows.add("patient", (
            pid, f"KAP-{number:06d}", _pseudonym(rng, self.pseudonyms), first_name, last_name,
            intake - timedelta(days=age_days), therapist.id, intake, intentions, 1,
        ))

        used_sessions: set[tuple[date, str]] = set()
        # Days of completed infusions, across series: they drive the outcome scores.
        events: list[date] = []
        # Induction.
        fate = rng.random()
        if long_history or not_started:
            stop_after = 6
        elif fate < 0.20:
            stop_after = 1
        elif fate < 0.38:
            stop_after = rng.randint(2, 5)
        else:
            stop_after = 6
        prep_missing = 0.35 if not_started else 0.03
        last, status = self.series(pid, therapist, 1, "induction", 6, first, stop_after, events,
                                   used_sessions, prep_missing=prep_missing, prep_chance=1.0)
        series_no = 1
        # Boosters, months after an induction that helped.
        booster_odds = 1.0 if long_history else 0.35
        cursor = last
        horizon = as_of + timedelta(days=21)
        # Long-history patients come back for years, even after a series that stopped early.
        while (status == "completed" or long_history) and rng.random() < booster_odds:
            start = _weekday(cursor + timedelta(days=rng.randint(60, 200)))
            if start > horizon:
                break
            series_no += 1
            kind = "induction" if long_history and rng.random() < 0.12 else "booster"
            planned = 6 if kind == "induction" else rng.choice((1, 1, 2))
            cursor, status = self.series(
                pid, therapist, series_no, kind, planned, start,
                planned if rng.random() < 0.9 else 1, events, used_sessions,
                prep_missing=0.04, prep_chance=1.0 if kind == "induction" else 0.95,
            )
            if not long_history:
                booster_odds = 0.3
        self.habits(pid, first, intake, long_history)
        self.measures(pid, intake, stop_after, events, long_history)

    # -- one treatment series -------------------------------------------------

    def series(self, pid: int, therapist: _Therapist, number: int, kind: str, planned: int,
               start: date, stop_after: int, events: list[date],
               used_sessions: set[tuple[date, str]], *, prep_missing: float,
               prep_chance: float) -> tuple[date, str]:
        """Write a series with its infusions and sessions; return (last day, status)."""
        rng, as_of = self.rng, self.as_of
        sid = self.ids.take("treatment_series")
        route = _weighted(rng, (("IV", 0.8), ("IM", 0.1), ("SL", 0.05), ("IN", 0.05)))
        if route == "IV":
            dose, step, top = rng.choice((0.5, 0.5, 0.55, 0.6)), 0.05, rng.choice((0.75, 0.75, 0.9))
        elif route == "IM":
            dose, step, top = rng.choice((0.5, 0.6, 0.75)), 0.05, 1.0
        elif route == "SL":
            dose, step, top = rng.choice((1.5, 2.0)), 0.25, 3.0
        else:
            dose, step, top = rng.choice((0.8, 1.0)), 0.1, 1.2
        clock = rng.choice(INFUSION_TIMES)

        day = start
        done = 0
        live = False
        infusions: list[tuple[date, str]] = []
        while done < planned:
            if day > as_of:
                # The rest of the series is booked ahead.
                live = True
                for _ in range(planned - done):
                    infusions.append((day, "scheduled"))
                    day = _weekday(day + timedelta(days=rng.choice((2, 3, 3, 4))))
                break
            if done == stop_after:
                if rng.random() < 0.5:
                    infusions.append((day, rng.choice(("no_show", "cancelled"))))
                break
            if rng.random() < 0.05:
                infusions.append((day, rng.choice(("no_show", "cancelled"))))
                day = _weekday(day + timedelta(days=rng.choice((1, 2))))
                continue
            infusions.append((day, "completed"))
            events.append(day)
            done += 1
            day = _weekday(day + timedelta(days=rng.choice((2, 2, 3, 3, 3, 4, 4))))

        for d, st in infusions:
            given = st in ("completed", "scheduled")
            self.rows.add("infusion", (
                self.ids.take("infusion"), sid, d, clock, st,
                round(dose, 2) if given else None, route, 1,
            ))
            if st == "completed" and rng.random() < 0.5:
                dose = min(top, dose + step)

        reason = None
        if live:
            status = "active"
        elif done >= planned:
            status = "completed"
        elif rng.random() < 0.5 or as_of - day > timedelta(days=90):
            # Drop-outs are discontinued; a clinic closes the ones it missed within a
            # few months, so only recent drop-outs are still open and stalled.
            status, reason = "discontinued", rng.choice(DISCONTINUE_REASONS)
        else:
            # Stalled: still active, nothing booked. The team should notice.
            status = "active"
        self.rows.add("treatment_series", (sid, pid, number, kind, planned, status, reason, 1))

        first_day = infusions[0][0]
        last_day = infusions[-1][0]
        # Preparation: usually days before the first infusion.
        if rng.random() < prep_chance and rng.random() >= prep_missing:
            r = rng.random()
            if r < 0.88:
                prep = max(self.intake, _weekday_before(first_day - timedelta(days=rng.randint(1, 10))))
            elif r < 0.97:
                prep = first_day
            else:
                prep = _weekday(first_day + timedelta(days=rng.randint(1, 3)))
            missed = self.session_row(pid, therapist, prep, "preparation",
                                      rng.choice((60, 90, 90)),
                                      sid if rng.random() < 0.1 else None, used_sessions)
            if missed and prep < first_day and rng.random() < 0.8:
                # A missed preparation is rebooked before the infusion, most of the time.
                retry = _weekday(prep + timedelta(days=rng.randint(1, max(1, (first_day - prep).days))))
                if retry <= first_day:
                    self.session_row(pid, therapist, retry, "preparation", 60, None, used_sessions)
        # Integration: mostly inside the series window (up to the grace days after the
        # last infusion); some late ones fall outside it, as in a real clinic.
        if done <= 1 and done < planned and not live:
            # Dropped out after the first infusion: rarely came back to talk.
            count = rng.choice((0, 0, 1))
        else:
            count = _weighted(rng, ((0, 0.02), (1, 0.05), (2, 0.3), (3, 0.41), (4, 0.22)))
        in_window = (last_day - first_day).days + 6
        for _ in range(count):
            late = rng.random() >= 0.92
            d = _weekday(first_day + timedelta(days=rng.randint(1, max(1, in_window + 10 * late))))
            if not late and d > last_day + timedelta(days=6):
                d = _weekday_before(last_day + timedelta(days=6))
            missed = self.session_row(pid, therapist, d, "integration",
                                      rng.choice((50, 50, 60, 60, 90)),
                                      sid if rng.random() < 0.1 else None, used_sessions)
            if missed and rng.random() < 0.6:
                # A missed session is usually rebooked a few days later.
                again = _weekday(d + timedelta(days=rng.randint(2, 6)))
                self.session_row(pid, therapist, again, "integration", 60, None, used_sessions)
        return last_day, status

    def session_row(self, pid: int, therapist: _Therapist, d: date, kind: str, minutes: int,
                    series_id: int | None, used: set[tuple[date, str]]) -> bool:
        """Write one therapy session; True when it was missed (no-show or cancelled)."""
        rng = self.rng
        if (d, kind) in used:
            return False
        used.add((d, kind))
        if d > self.as_of:
            status = "scheduled"
        else:
            r = rng.random()
            # A few past sessions were never recorded: still "scheduled". Preparation is
            # rarely missed: the infusion waits for it.
            scale = 0.3 if kind == "preparation" else 1.0
            status = ("scheduled" if r < 0.02 * scale else "no_show" if r < 0.12 * scale
                      else "cancelled" if r < 0.19 * scale else "attended")
        who = therapist.id
        if len(self.therapists) > 1 and rng.random() < 0.1:
            who = rng.choice(self.therapists).id
        self.rows.add("therapy_session", (
            self.ids.take("therapy_session"), pid, who, d, rng.choice(SESSION_TIMES), kind,
            status, minutes, series_id, 1,
        ))
        return status in ("no_show", "cancelled")

    # -- habits --------------------------------------------------------------

    def habits(self, pid: int, first: date, intake: date, long_history: bool) -> None:
        rng, as_of = self.rng, self.as_of
        count = _weighted(rng, ((1, 0.35), (2, 0.4), (3, 0.25)))
        names: list[str] = []
        while len(names) < count:
            pool = CORE_HABITS if rng.random() < 0.8 else OTHER_HABITS
            name = rng.choice(pool)
            if name not in names:
                names.append(name)
        pattern = "holds" if long_history else _weighted(
            rng, (("holds", 0.45), ("fades", 0.4), ("low", 0.15)))
        for name in names:
            hid = self.ids.take("habit")
            target = rng.randint(3, 7)
            start = max(intake, first + timedelta(days=rng.randint(-3, 7)))
            end = None
            if not long_history and rng.random() < 0.1:
                candidate = start + timedelta(days=rng.randint(30, 200))
                if candidate <= as_of:
                    end = candidate
            self.rows.add("habit", (hid, pid, name, target, start, end, 1))
            self.habit_logs(hid, target, start, end or as_of, pattern)

    def habit_logs(self, hid: int, target: int, start: date, end: date, pattern: str) -> None:
        rng = self.rng
        days = (end - start).days + 1
        if days <= 0:
            return
        base = target / 7
        if pattern == "holds":
            level, decay, floor, log_odds = rng.uniform(0.8, 1.05), 1.0, 0.0, rng.uniform(0.88, 0.98)
        elif pattern == "low":
            level, decay, floor, log_odds = rng.uniform(0.3, 0.55), 1.0, 0.0, rng.uniform(0.6, 0.85)
        else:
            tau = rng.uniform(25, 120)
            level, decay, floor = rng.uniform(0.75, 1.0), math.exp(-1 / tau), rng.uniform(0.0, 0.2)
            log_odds = rng.uniform(0.8, 0.95)
        # Some of those whose habit fades stop logging altogether.
        quits = pattern == "fades" and rng.random() < 0.6
        add = self.rows.pending["habit_log"].append
        take = self.ids.take
        random_ = rng.random
        ordinal = start.toordinal()
        fade = level
        for k in range(days):
            adherence = floor + fade
            if quits and adherence < 0.3:
                break
            if random_() < log_odds:
                add((take("habit_log"), hid, date.fromordinal(ordinal + k),
                     random_() < min(0.98, base * adherence)))
            fade *= decay

    # -- outcome measures ----------------------------------------------------

    def measures(self, pid: int, intake: date, stop_after: int, infusion_days: list[date],
                 long_history: bool) -> None:
        rng, as_of = self.rng, self.as_of
        phq0 = rng.randint(12, 25)
        kind = _weighted(rng, (("remitter", 0.3), ("responder", 0.3), ("partial", 0.12),
                               ("non", 0.23), ("worse", 0.05)))
        if stop_after == 1 and kind in ("remitter", "responder") and rng.random() < 0.6:
            kind = "non"
        if kind == "remitter":
            effect = 1 - rng.uniform(0, 3.5) / phq0
        elif kind == "responder":
            effect = rng.uniform(0.5, 0.75)
        elif kind == "partial":
            effect = rng.uniform(0.25, 0.5)
        elif kind == "non":
            effect = rng.uniform(-0.1, 0.2)
        else:
            effect = -rng.randint(6, 9) / phq0
        # Some lose part of the benefit over the months after their last infusion.
        relapse = rng.uniform(0.1, 0.4) if kind != "worse" and rng.random() < 0.4 else 0.0
        scales = [("PHQ-9", phq0, 1.5), ("GAD-7", rng.randint(8, 19), 1.3)]
        if rng.random() < 0.3:
            scales.append(("PCL-5", rng.randint(33, 68), 4.0))

        # When: baseline at intake, after every second infusion, then every
        # two to four weeks while the patient stays in touch.
        days = {intake}
        for i, d in enumerate(infusion_days):
            if i % 2 == 1:
                days.add(d + timedelta(days=1))
        if infusion_days:
            horizon = as_of
            if not long_history:
                horizon = min(as_of, infusion_days[-1] + timedelta(
                    days=rng.choice((30, 90, 180, 400)) if stop_after > 1 else rng.randint(14, 45)))
            d = infusion_days[0] + timedelta(days=rng.randint(14, 28))
            while d <= horizon:
                days.add(d)
                d += timedelta(days=rng.randint(14, 28))
        ordered = sorted(d for d in days if d <= as_of)
        for d in ordered:
            done = sum(1 for x in infusion_days if x < d)
            since = min(((d - x).days for x in infusion_days if x < d), default=0)
            gain = effect * min(1.0, done / 4) * (1 - relapse * min(1.0, since / 180))
            for instrument, baseline, noise in scales:
                top = INSTRUMENT_MAX[instrument]
                value = baseline * (1 - gain) + rng.gauss(0, noise)
                if d == intake:
                    value = baseline
                score = max(0, min(top, round(value)))
                self.rows.add("outcome_measure",
                              (self.ids.take("outcome_measure"), pid, instrument, d, score))


def _therapists(session: Session, rng: random.Random, count: int, ids: _Ids,
                as_of: date) -> list[_Therapist]:
    taken = set(session.scalars(select(Staff.username)))
    out: list[_Therapist] = []
    rows: list[tuple] = []
    created = datetime.combine(as_of - timedelta(days=800), time(9, 0), tzinfo=UTC)
    existing = session.scalar(select(Staff).where(Staff.username == DEMO_THERAPIST_USERNAME))
    if existing is not None and existing.role == "therapist":
        # Demo accounts made before the clinic: the demo therapist gets patients.
        out.append(_Therapist(existing.id, existing.username))
    elif existing is None:
        sid = ids.take("staff")
        rows.append((sid, DEMO_THERAPIST_USERNAME, DEMO_THERAPIST_NAME,
                     "maya.lee@demo-clinic.example", "therapist", None, True, False, created, 1))
        taken.add(DEMO_THERAPIST_USERNAME)
        out.append(_Therapist(sid, DEMO_THERAPIST_USERNAME))
    while len(out) < count:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        doctor = rng.random() < 0.6
        base = _username_base(last, first if not doctor else None)
        username, n = base, 1
        while username in taken:
            n += 1
            username = f"{base}{n}"
        taken.add(username)
        full = f"Dr. {first} {last}" if doctor else f"{first} {last}, LCSW"
        sid = ids.take("staff")
        email = f"{username.replace('dr.', '', 1)}@demo-clinic.example"
        rows.append((sid, username, full, email, "therapist", None, True, False, created, 1))
        out.append(_Therapist(sid, username))
    if rows:
        _bulk_write(session, Staff.__table__, COLUMNS["staff"], rows)
    return out


def _progress_reporter(progress: ProgressArg) -> Callable[[int, int], None] | None:
    if callable(progress):
        return progress
    if not progress:
        return None

    def bar(done: int, total: int) -> None:
        width = 30
        filled = width * done // max(total, 1)
        sys.stderr.write(f"\rDemo clinic [{'#' * filled}{'.' * (width - filled)}] "
                         f"{done:,}/{total:,} patients")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return bar


def generate_demo(session: Session, *, patients: int = 300, seed: int = 7, as_of: date,
                  progress: ProgressArg = False, therapists: int | None = None,
                  history_years_patients: int = 0) -> DemoSummary:
    """Fill an empty clinic with ``patients`` synthetic patients; commits.

    ``therapists`` defaults to about one per 32 patients (at least 3).
    ``history_years_patients`` of the patients get five years of history
    (repeated series, daily habit logs throughout), for the benchmark.
    """
    if patients < 1:
        raise DemoError("the demo needs at least one patient")
    if not 0 <= history_years_patients <= patients:
        raise DemoError("history_years_patients must be between 0 and the number of patients")
    if therapists is not None and therapists < 1:
        raise DemoError("the demo needs at least one therapist")
    if session.scalar(select(Patient.id).limit(1)) is not None:
        raise DemoError("the database already holds patients; demo only fills an empty one")

    rng = random.Random(seed)
    ids = _next_ids(session)
    count = therapists if therapists is not None else max(3, round(patients / 32))
    staff_rows = _therapists(session, rng, count, ids, as_of)
    rows = _Rows()
    gen = _Generator(rng, as_of, ids, staff_rows, rows)
    report = _progress_reporter(progress)
    # The long-history patients are spread through the chart numbers rather
    # than bunched at the start, as in a real clinic's records.
    long_ones = set(rng.sample(range(1, patients + 1), history_years_patients))
    try:
        for number in range(1, patients + 1):
            gen.patient(number, number in long_ones)
            if number % CHUNK_PATIENTS == 0 or number == patients:
                rows.flush(session)
                if report:
                    report(number, patients)
        _fix_sequences(session)
        summary = DemoSummary(
            as_of=as_of, seed=seed, therapists=len(staff_rows), patients=rows.counts["patient"],
            series=rows.counts["treatment_series"], infusions=rows.counts["infusion"],
            sessions=rows.counts["therapy_session"], habits=rows.counts["habit"],
            habit_logs=rows.counts["habit_log"], measures=rows.counts["outcome_measure"],
        )
        audit.record(session, "demo", "demo.generate", seed=seed, as_of=as_of.isoformat(),
                     patients=summary.patients, therapists=summary.therapists)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return summary


def ensure_demo_accounts(session: Session) -> list[DemoAccount]:
    """One sign-in per role with a known password, for demo mode only; commits.

    Creates missing accounts and resets a password only when it no longer
    matches, so that calling this on every start neither ends anyone's
    sessions nor floods the audit trail. A deactivated account stays
    deactivated (an admin's decision wins) and is left out of the result.
    """
    ready: list[DemoAccount] = []
    for account in DEMO_ACCOUNTS:
        row = staff.get_by_username(session, account.username)
        if row is None:
            staff.add_user(session, account.username, account.full_name, account.role,
                           actor="demo")
            row = staff.get_by_username(session, account.username)
        elif row.role != account.role:
            raise DemoError(f"the account {account.username!r} exists with role {row.role!r}, "
                            f"not {account.role!r}; rename it to use demo mode")
        assert row is not None
        if not row.active:
            continue
        if not verify_password(account.password, row.password_hash):
            staff.set_password(session, account.username, account.password, actor="demo")
        ready.append(account)
    session.commit()
    return ready

