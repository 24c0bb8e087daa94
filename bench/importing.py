"""Import speed: a million habit-log rows through ``db.importer`` beside a bare
``executemany`` of the same rows through the same driver.

Both sides start from an identical fresh database holding the same staff,
patients and habits (loaded through the importer, not timed), so both insert
into the same empty ``habit_log`` table with the same indexes. The bare side
gets the rows already parsed (habit id, date, flag) and pays only for the
driver and the database; the importer reads the CSV, checks every row, looks
up habits and existing logs, inserts, writes one audit event per row added
(in bulk, as every import does), and commits with its summary event.
"""
from __future__ import annotations

import csv
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from db.engine import make_engine, session_factory
from db.importer import import_directory, import_files
from db.migrate import upgrade
from db.models import Habit, Patient

HABITS = ("exercise", "journaling", "meditation")
FIRST_DAY = date(2024, 1, 1)
THERAPIST = "bench.import"


@dataclass(frozen=True)
class ImportResult:
    backend: str
    rows: int
    importer_seconds: float
    bare_seconds: float

    @property
    def ratio(self) -> float:
        return self.importer_seconds / self.bare_seconds

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.importer_seconds


def write_files(folder: Path, rows: int) -> tuple[Path, Path]:
    """A setup folder (staff, patients, habits) and a folder with habit_logs.csv of
    ``rows`` rows: three habits per patient, one row a day each."""
    setup, logs = folder / "setup", folder / "logs"
    setup.mkdir()
    logs.mkdir()
    days = 365
    patients = -(-rows // (len(HABITS) * days))
    charts = [f"IMP-{n:06d}" for n in range(1, patients + 1)]
    with (setup / "staff.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["username", "full_name", "role"])
        w.writerow([THERAPIST, "Bench Import Therapist", "therapist"])
    with (setup / "patients.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["patient_id", "first_name", "last_name", "date_of_birth", "therapist",
                    "intake_date"])
        for chart in charts:
            w.writerow([chart, "Test", "Patient", "1980-01-01", THERAPIST,
                        FIRST_DAY.isoformat()])
    with (setup / "habits.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["patient_id", "habit", "target_per_week", "start_date"])
        for chart in charts:
            for habit in HABITS:
                w.writerow([chart, habit, 5, FIRST_DAY.isoformat()])
    written = 0
    with (logs / "habit_logs.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["patient_id", "habit", "date", "completed"])
        for chart in charts:
            for habit in HABITS:
                for d in range(days):
                    if written == rows:
                        break
                    w.writerow([chart, habit, (FIRST_DAY + timedelta(days=d)).isoformat(),
                                "1" if (d * 7 + len(habit)) % 3 else "0"])
                    written += 1
    return setup, logs


def _fresh_database(kind: str, base_url: str | None, folder: Path, name: str) -> str:
    if kind == "sqlite":
        return f"sqlite:///{folder / f'{name}.db'}"
    assert base_url
    base = make_url(base_url)
    db = f"{base.database}_{name}"
    admin = make_engine(base.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{db}"')
    finally:
        admin.dispose()
    return base.set(database=db).render_as_string(hide_password=False)


def _drop(kind: str, base_url: str | None, url: str) -> None:
    if kind != "postgresql":
        return
    base = make_url(base_url)
    admin = make_engine(base.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
    finally:
        admin.dispose()


def _prepared(url: str, setup: Path):
    engine = make_engine(url)
    upgrade(engine)
    with session_factory(engine)() as session:
        # The setup creates the bench's therapist account: confirmed, as the CLI's flag does.
        import_directory(session, setup, actor="bench", allow_account_changes=True)
    return engine


def _parsed_rows(engine, csv_path: Path) -> list[tuple[int, date, bool]]:
    with session_factory(engine)() as session:
        ids = {(chart, name): hid for hid, chart, name in session.execute(
            select(Habit.id, Patient.patient_id, Habit.name).join(Patient))}
    with csv_path.open(newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        return [(ids[(p, h)], date.fromisoformat(d), c == "1") for p, h, d, c in reader]


def bare_insert(engine, rows: list[tuple[int, date, bool]]) -> float:
    """One executemany on the raw DBAPI connection, then commit."""
    placeholder = "?" if engine.dialect.name == "sqlite" else "%s"
    sql = (f"INSERT INTO habit_log (habit_id, date, completed) "
           f"VALUES ({placeholder}, {placeholder}, {placeholder})")
    raw = engine.raw_connection()
    try:
        start = time.perf_counter()
        cur = raw.cursor()
        cur.executemany(sql, rows)
        raw.commit()
        seconds = time.perf_counter() - start
        cur.close()
    finally:
        raw.close()
    return seconds


def importer_insert(engine, logs: Path) -> float:
    with session_factory(engine)() as session, (logs / "habit_logs.csv").open("rb") as fh:
        start = time.perf_counter()
        summary = import_files(session, {"habit_logs.csv": fh}, actor="bench")
        seconds = time.perf_counter() - start
    del summary
    return seconds


def run(kind: str, rows: int = 1_000_000, base_url: str | None = None,
        folder: Path | None = None) -> ImportResult:
    """Time both sides on ``kind`` ("sqlite" or "postgresql" on ``base_url``)."""
    with tempfile.TemporaryDirectory(prefix="bench-import-", dir=folder) as tmp:
        work = Path(tmp)
        setup, logs = write_files(work, rows)
        urls = [_fresh_database(kind, base_url, work, f"import_{side}")
                for side in ("bare", "importer")]
        try:
            bare_engine = _prepared(urls[0], setup)
            parsed = _parsed_rows(bare_engine, logs / "habit_logs.csv")
            bare = bare_insert(bare_engine, parsed)
            with bare_engine.connect() as conn:
                count = conn.scalar(text("SELECT count(*) FROM habit_log"))
            bare_engine.dispose()
            del parsed
            if count != rows:
                raise RuntimeError(f"bare insert wrote {count} rows, not {rows}")
            importer_engine = _prepared(urls[1], setup)
            imported = importer_insert(importer_engine, logs)
            with importer_engine.connect() as conn:
                count = conn.scalar(text("SELECT count(*) FROM habit_log"))
            importer_engine.dispose()
            if count != rows:
                raise RuntimeError(f"the importer wrote {count} rows, not {rows}")
        finally:
            for url in urls:
                _drop(kind, base_url, url)
    return ImportResult(kind, rows, imported, bare)
