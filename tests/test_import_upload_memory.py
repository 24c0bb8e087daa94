"""Issue 15, item 2 (the importer's part): the Import page reads an upload in
place. Before, the page copied every uploaded file into a new buffer and counted
its lines on another copy, and a 192 MB upload took the server from 583 to
1,606 MB. Here a large habit_logs.csv is checked and imported through the page
(AppTest runs the page in this process), and the memory Python allocates
meanwhile is measured with tracemalloc: it stays a fraction of the upload."""
from __future__ import annotations

import tracemalloc
from datetime import date

import pytest
from sqlalchemy import func, select

from db.engine import make_engine, session_factory
from db.importer import import_files
from db.models import HabitLog
from tests.record_care_apptest import migrated_sqlite, run_page
from tests.test_import import CLINIC, streams

PAGE = "pages/import_data.py"
HABITS = 40
# What a check holds whatever the upload's size: the date parser's cache, one
# batch of rows, the page's tables.
ALLOWANCE = 1 << 20


def big_habit_logs(days: int) -> bytes:
    """``HABITS`` habits of one patient, one row a day each, from 1920 on."""
    first = date(1920, 1, 1).toordinal()
    day_text = [date.fromordinal(first + d).isoformat() for d in range(days)]
    lines = ["patient_id,habit,date,completed\n"]
    for h in range(HABITS):
        lines += [f"P001,h{h:02d},{d},{(h + i) % 2}\n" for i, d in enumerate(day_text)]
    return "".join(lines).encode()


@pytest.fixture
def clinic(tmp_path):
    url = migrated_sqlite(tmp_path / "clinic.db")
    engine = make_engine(url)
    habits = "patient_id,habit,target_per_week,start_date\n" + "".join(
        f"P001,h{h:02d},3,1920-01-01\n" for h in range(HABITS))
    with session_factory(engine)() as s:
        import_files(s, streams({"staff.csv": CLINIC["staff.csv"],
                                 "patients.csv": CLINIC["patients.csv"],
                                 "habits.csv": habits}), allow_account_changes=True)
    yield url, session_factory(engine)
    engine.dispose()


def traced(action) -> int:
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_a_large_upload_is_checked_and_imported_without_copies(clinic, monkeypatch):
    url, factory = clinic
    data = big_habit_logs(days=4000)  # 160,000 rows, about 3.5 MB
    rows = HABITS * 4000
    at = run_page(PAGE, "root", monkeypatch, url)
    at.file_uploader[0].set_value([("habit_logs.csv", data, "text/csv")]).run()
    # AppTest itself deep-copies the upload on every run (1x): measured on a plain
    # rerun and taken off, so what is left is the page's and the importer's.
    harness = traced(lambda: at.run(timeout=600))
    check = next(b for b in at.button if b.label.startswith("1. Check"))

    peak = traced(lambda: check.click().run(timeout=600)) - harness
    assert f"Importing will add {rows:,}" in at.success[0].value
    # A copy of the upload alone would be 1x; the check holds a fixed amount (caches,
    # one batch) and a small fraction of the upload.
    assert peak < ALLOWANCE + len(data) / 4, \
        f"dry run: peak {peak:,} bytes for a {len(data):,}-byte upload"

    do_import = next(b for b in at.button if b.label.startswith("2. Import"))
    peak = traced(lambda: do_import.click().run(timeout=600)) - harness
    assert f"Imported: {rows:,} added" in at.success[0].value
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(HabitLog)) == rows
    # Importing holds one batch of rows and of their audit events at a time.
    assert peak < ALLOWANCE + len(data) / 4, \
        f"import: peak {peak:,} bytes for a {len(data):,}-byte upload"
