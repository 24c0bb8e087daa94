"""The benchmark harness runs end to end on a small clinic (no timing assertions).

Quick mode on a 150-patient SQLite clinic built in a temporary folder, and on
PostgreSQL too when TEST_DATABASE_URL is set (one extra database beside it,
named ``<database>_150``, reused by later runs).
"""
from __future__ import annotations

import io
from contextlib import redirect_stdout

import pytest

from bench.run import PAGES, main
from tests.conftest import pg_url

SIZE = 150


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bench")
    output = tmp / "results.md"
    argv = ["--quick", "--sizes", str(SIZE), "--clinics-dir", str(tmp / "clinics"),
            "--output", str(output), "--import-rows", "5000"]
    postgres = pg_url()  # this worker's database: bench adds its own beside it
    argv += ["--postgres", postgres] if postgres else ["--no-postgres"]
    printed = io.StringIO()
    with redirect_stdout(printed):
        code = main(argv)
    labels = ["SQLite 150"] + (["PostgreSQL 150"] if postgres else [])
    return {"code": code, "output": output, "printed": printed.getvalue(), "labels": labels}


def test_printed_table_has_a_row_per_page(bench_run):
    assert bench_run["code"] == 0
    lines = bench_run["printed"].splitlines()
    for label in bench_run["labels"]:
        for page in PAGES:
            assert any(line.startswith(label) and f" {page} / " in line for line in lines), \
                (label, page)
    assert any(line.startswith("SQLite ") and "5,000" in line for line in lines)  # import


def test_results_file_has_every_page_machine_import_and_memory(bench_run):
    text = bench_run["output"].read_text()
    assert text.startswith("# Benchmark results")
    for needle in ("| CPU |", "| RAM |", "streamlit", "sqlalchemy", "Targets:",
                   "## Import", "| SQLite | 5,000 |", "Peak resident memory"):
        assert needle in text, needle
    for label in bench_run["labels"]:
        for page in PAGES:
            assert f"| {label} | {page} / " in text, (label, page)
        rows = [line for line in text.splitlines() if line.startswith(f"| {label} |")]
        # Every page ran: its row carries figures, not the dash of a failure.
        assert rows and not any("| – |" in line for line in rows), rows

