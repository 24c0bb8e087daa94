"""`python -m db report` and the shared CSV writer."""
from __future__ import annotations

import csv
import io
import json
import shutil
from datetime import date

import pytest

from db import cli, reports
from db.csv_safety import cell, neutralise, write_csv
from db.engine import make_engine, session_factory
from tests.protocol_builders import Clinic

AS_OF = date(2026, 5, 20)


@pytest.mark.parametrize("value,expected", [
    ("=SUM(A1)", "'=SUM(A1)"), ("+1", "'+1"), ("-1", "'-1"), ("@cmd", "'@cmd"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("walk", "walk"), ("", ""), (-5, -5), (2.5, 2.5),
    (None, None),
])
def test_neutralise(value, expected):
    assert neutralise(value) == expected


def test_cells_keep_numbers_and_join_lists():
    assert cell(-5) == -5 and cell(-2.5) == -2.5
    assert cell(True) == "true" and cell(None) == ""
    assert cell(date(2026, 5, 1)) == "2026-05-01"
    assert cell(("stalled", "unrecorded")) == "stalled;unrecorded"
    assert cell(["-a", "b"]) == "'-a;b"
    out = io.StringIO()
    write_csv([{"a": "=1", "b": -3}], out)
    assert out.getvalue() == "a,b\n'=1,-3\n"


def _fill(session) -> None:
    clinic = Clinic(session)
    p = clinic.patient("C0001")
    s = clinic.series(p, infusions=[(date(2026, 5, 4), "completed"), (date(2026, 5, 6), "completed"),
                                     (date(2026, 5, 18), "scheduled")])
    clinic.therapy(p, date(2026, 5, 1), "preparation", "attended")
    clinic.therapy(p, date(2026, 5, 10), "integration", "attended", pinned=s)
    clinic.habit(p, "=HYPERLINK(\"x\")", 2, date(2026, 4, 6),
                 done=[date(2026, 4, 27), date(2026, 5, 4), date(2026, 5, 5), date(2026, 5, 12)])
    clinic.scores(p, "PHQ-9", [(date(2026, 4, 30), 18), (date(2026, 5, 15), 9)])
    session.commit()


def test_rows_match_the_engine(session):
    _fill(session)
    [row] = reports.compliance_rows(session, AS_OF)
    assert row == {
        "patient_id": "C0001", "series": 1, "kind": "induction", "therapist": "t_one",
        "series_status": "active", "infusions_completed": 2, "infusions_planned": 6,
        "first_infusion": date(2026, 5, 4), "last_infusion": date(2026, 5, 18),
        "next_infusion": None, "preparation": "met", "preparation_date": date(2026, 5, 1),
        "integration_attended": 1, "integration_upcoming": 0, "integration_required": 2,
        "unrecorded": 1, "window_end": date(2026, 5, 25), "status": "at_risk",
        "flags": ["unrecorded"], "reason": row["reason"],
    }
    assert row["reason"].startswith("1 of 2 integration sessions attended, none booked")
    [hab] = reports.adherence_rows(session, AS_OF, weeks=2)
    assert (hab["adherence_pct"], hab["streak_weeks"], hab["weeks_counted"]) == (75.0, 0, 2)
    [out] = reports.outcome_rows(session, AS_OF)
    assert (out["baseline"], out["latest"], out["change"], out["band"], out["response"]) == (
        18, 9, -9, "mild", True)


@pytest.fixture
def cli_db(tmp_path, monkeypatch, sqlite_template):
    shutil.copy(sqlite_template, tmp_path / "clinic.db")  # migrated once per run
    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    engine = make_engine(url)
    with session_factory(engine)() as s:
        _fill(s)
    engine.dispose()
    return url


def _csv(capsys):
    return list(csv.DictReader(io.StringIO(capsys.readouterr().out)))


def test_cli_compliance_csv(cli_db, capsys):
    assert cli.main(["report", "compliance", "--as-of", "2026-05-20"]) == 0
    [row] = _csv(capsys)
    assert list(row)[:3] == ["patient_id", "series", "kind"]
    assert (row["status"], row["flags"], row["window_end"], row["preparation"]) == (
        "at_risk", "unrecorded", "2026-05-25", "met")


def test_cli_compliance_json_on_window_end_and_after(cli_db, capsys):
    assert cli.main(["report", "compliance", "--as-of", "2026-05-25", "--format", "json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    # 19 days since the last completed infusion and the booked one went unrecorded.
    assert (row["status"], row["flags"], row["window_end"]) == (
        "at_risk", ["stalled", "unrecorded"], "2026-05-25")
    assert cli.main(["report", "compliance", "--as-of", "2026-05-26", "--format", "json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["status"] == "non_compliant"


def test_cli_adherence_neutralises_formulas(cli_db, capsys):
    assert cli.main(["report", "adherence", "--as-of", "2026-05-20", "--weeks", "2"]) == 0
    text = capsys.readouterr().out
    assert text.splitlines()[0].startswith("patient_id,habit,target_per_week")
    [row] = list(csv.DictReader(io.StringIO(text)))
    assert row["habit"] == "'=HYPERLINK(\"x\")"
    assert (row["adherence_pct"], row["streak_weeks"]) == ("75.0", "0")


def test_cli_outcomes_keeps_negative_numbers(cli_db, capsys):
    assert cli.main(["report", "outcomes", "--as-of", "2026-05-20"]) == 0
    [row] = _csv(capsys)
    assert (row["change"], row["response"], row["remission"], row["band"]) == (
        "-9", "true", "false", "mild")


def test_cli_empty_report_has_a_header(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    assert cli.main(["report", "outcomes", "--as-of", "2026-05-20"]) == 0
    assert capsys.readouterr().out == ",".join(reports.OUTCOME_COLUMNS) + "\n"


def test_cli_as_of_defaults_to_today(cli_db, capsys):
    assert cli.main(["report", "compliance", "--format", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 1


def test_cli_refuses_a_bad_date(cli_db, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["report", "compliance", "--as-of", "20-05-2026"])
    assert exc.value.code == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err


def test_write_csv_types_and_missing_columns():
    from datetime import UTC, datetime

    out = io.StringIO()
    write_csv([{"a": None, "b": True, "c": datetime(2026, 5, 1, 9, 30, tzinfo=UTC),
                "d": ["x", "=y"], "e": 0.5},
               {"a": "+1", "b": False}], out, ["a", "b", "c", "d", "e"])
    assert out.getvalue().splitlines() == [
        "a,b,c,d,e", ",true,2026-05-01T09:30:00+00:00,x;=y,0.5", "'+1,false,,,"]
    out = io.StringIO()
    write_csv([{"only": "-x"}], out)
    assert out.getvalue() == "only\n'-x\n"
    out = io.StringIO()
    write_csv([], out)
    assert out.getvalue() == ""


def _reference_csv(columns, rows) -> str:
    """What every fast path of write_csv_columns must give: the csv writer over cell()."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([[cell(v) for v in row] for row in rows])
    return out.getvalue()


def test_column_writer_matches_the_csv_writer_on_every_kind_of_column():
    import random
    from datetime import datetime

    from db.csv_safety import write_csv_columns

    rng = random.Random(3)
    days = [date(2026, 1, 1), date(2026, 2, 28), None]
    texts = ["walk", "=1+1", "-2", "a,b", 'say "hi"', "two\nlines", "cr\rhere", "", " lead"]
    makers = {
        # few distinct values: written through a table of them
        "status": lambda i: rng.choice(texts),
        "day": lambda i: rng.choice(days),
        "count": lambda i: rng.choice([0, 1, -5, 12]),
        "flags": lambda i: rng.choice([(), ("stalled",), ("=x", "b,c"), ("a", "b")]),
        # many distinct values, or types that are never tabled
        "chart": lambda i: f"C{i:05d}" if i % 7 else f"+C{i}",
        "reason": lambda i: f"{rng.choice(texts)} {i}, window {i}",
        "when": lambda i: date(2026, 1, 1).replace(day=1 + i % 28) if i % 3 else None,
        "number": lambda i: i * 3 - 50,
        "mixed": lambda i: rng.choice([1, 1.0, True, "1", None, date(2026, 1, 1),
                                       datetime(2026, 1, 1, 9, 30)]),
        "listed": lambda i: rng.choice([["a", "=b"], ["x"], []]),
        "ratio": lambda i: rng.choice([0.5, 1.0, 2.25]),
        "yes": lambda i: rng.choice([True, False]),
        "sparse": lambda i: None,
    }
    names = list(makers)
    for n in (1, 3, 40, 400):
        rows = [[makers[c](i) for c in names] for i in range(n)]
        for picked in (names, ["status", "day", "count", "flags"], ["day", "chart"]):
            cols = [names.index(c) for c in picked]
            table = [[row[i] for i in cols] for row in rows]
            out = io.StringIO()
            write_csv_columns([[row[i] for row in table] for i in range(len(picked))], out,
                              picked)
            assert out.getvalue() == _reference_csv(picked, table), (n, picked)
