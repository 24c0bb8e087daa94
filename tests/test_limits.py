"""Limits and defaults have one home, db.limits (issue 16): the model CHECK
constraints, the protocol settings, the recording checks, the importer and the
widgets' labels all follow it, and none of them restates a bound in digits."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from sqlalchemy import CheckConstraint, select
from sqlalchemy.exc import IntegrityError

from db import limits
from db.importer import ImportFailed
from db.limits import (
    DEFAULT_GRACE_DAYS,
    DEFAULT_MIN_INTEGRATION_SESSIONS,
    DEFAULT_PLANNED_INFUSIONS,
    HABIT_TARGET_PER_WEEK,
    PLANNED_INFUSIONS,
    SESSION_DURATION_MINUTES,
    Bounds,
)
from db.models import Base, Habit, ProtocolSettings, TreatmentSeries
from db.protocol import LIMITS, ProtocolConfig, STALLED_AFTER_DAYS, percent
from db.recording import ValidationError, add_habit, start_series
from tests.recording_fixtures import INTAKE, TODAY
from tests.recording_fixtures import clinic, pinned_today  # noqa: F401 (fixtures)
from tests.test_import import CLINIC, load, sub

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = ROOT / "db" / "migrations" / "versions"
BOUNDS = {name: value for name, value in vars(limits).items() if isinstance(value, Bounds)}


# --- the SQL the models build is the SQL the migrations created ---------------------------

def _migration_checks() -> dict[str, str]:
    """Constraint name -> SQL text of every CheckConstraint written in a migration."""
    found: dict[str, str] = {}
    for path in sorted(MIGRATIONS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "CheckConstraint"
                    and node.args and isinstance(node.args[0], ast.Constant)):
                name = next(k.value for k in node.keywords if k.arg == "name")
                literal = name.args[0] if isinstance(name, ast.Call) else name  # op.f("...")
                found[literal.value] = node.args[0].value
    return found


MODEL_CHECKS = {str(c.name): str(c.sqltext) for table in Base.metadata.tables.values()
                for c in table.constraints if isinstance(c, CheckConstraint)}


@pytest.mark.parametrize("name", sorted(MODEL_CHECKS))
def test_model_check_constraint_is_the_migrated_sql(name):
    """Autogenerate does not compare CHECK constraints: a bound changed in
    db.limits without a migration would pass test_schema and differ in the
    database. This catches it."""
    assert MODEL_CHECKS[name] == _migration_checks()[name]


def test_model_checks_are_built_from_the_limits():
    assert MODEL_CHECKS["ck_treatment_series_planned_infusions"] == \
        PLANNED_INFUSIONS.sql("planned_infusions")
    assert MODEL_CHECKS["ck_protocol_settings_default_planned"] == \
        PLANNED_INFUSIONS.sql("default_planned_infusions")
    assert MODEL_CHECKS["ck_habit_target_per_week"] == HABIT_TARGET_PER_WEEK.sql("target_per_week")
    assert MODEL_CHECKS["ck_therapy_session_duration"].endswith(
        SESSION_DURATION_MINUTES.sql("duration_minutes"))


# --- settings and defaults ----------------------------------------------------------------

def test_protocol_settings_limits_and_defaults_are_the_shared_ones():
    assert LIMITS == {"min_integration_sessions": limits.MIN_INTEGRATION_SESSIONS,
                      "grace_days": limits.GRACE_DAYS,
                      "default_planned_infusions": PLANNED_INFUSIONS}
    assert LIMITS["default_planned_infusions"] is PLANNED_INFUSIONS
    defaults = (DEFAULT_MIN_INTEGRATION_SESSIONS, DEFAULT_GRACE_DAYS, DEFAULT_PLANNED_INFUSIONS)
    config = ProtocolConfig()
    assert (config.min_integration_sessions, config.grace_days,
            config.default_planned_infusions) == defaults
    columns = ProtocolSettings.__table__.c
    assert (columns.min_integration_sessions.default.arg, columns.grace_days.default.arg,
            columns.default_planned_infusions.default.arg) == defaults
    assert TreatmentSeries.__table__.c.planned_infusions.default.arg == DEFAULT_PLANNED_INFUSIONS
    for name, (low, high) in LIMITS.items():
        assert low <= getattr(config, name) <= high


def test_a_missing_settings_row_is_created_with_the_defaults(session):
    from db.protocol import update_settings
    session.query(ProtocolSettings).delete()
    session.flush()
    saved = update_settings(session, "md", 1)
    assert (saved.min_integration_sessions, saved.grace_days, saved.default_planned_infusions) \
        == (DEFAULT_MIN_INTEGRATION_SESSIONS, DEFAULT_GRACE_DAYS, DEFAULT_PLANNED_INFUSIONS)


# --- every layer refuses the same value, at the same edge ---------------------------------

def test_planned_infusions_edge_is_the_same_in_recording_importer_and_database(session, clinic):
    top = PLANNED_INFUSIONS.high
    saved = start_series(session, clinic.ther_a, clinic.pat_a, planned_infusions=top)
    assert session.get(TreatmentSeries, saved.id).planned_infusions == top
    with pytest.raises(ValidationError) as refused:
        start_series(session, clinic.ther_a, clinic.pat_a, planned_infusions=top + 1)
    assert refused.value.errors["planned_infusions"] == (
        f"Planned infusions must be between {PLANNED_INFUSIONS.low} and {top}.")
    session.rollback()
    session.add(TreatmentSeries(patient_id=clinic.pat_a, number=9, planned_infusions=top + 1))
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()


def test_importer_refuses_planned_infusions_past_the_shared_edge(session):
    top = PLANNED_INFUSIONS.high
    files = dict(CLINIC)
    sub("series.csv", "induction,6,active", f"induction,{top},active")(files)
    load(session, files=files)
    assert top in session.scalars(select(TreatmentSeries.planned_infusions)).all()
    sub("series.csv", f"induction,{top},active", f"induction,{top + 1},active")(files)
    with pytest.raises(ImportFailed) as refused:
        load(session, files=files)
    [problem] = refused.value.problems
    assert problem.column == "planned_infusions"
    assert f"from {PLANNED_INFUSIONS.low} to {top}" in problem.message


def test_habit_target_edge_is_the_same_in_recording_importer_and_database(session, clinic):
    low, high = HABIT_TARGET_PER_WEEK
    add_habit(session, clinic.ther_a, clinic.pat_a, name="walk", target_per_week=high,
              start_date=TODAY)
    for bad in (low - 1, high + 1):
        with pytest.raises(ValidationError) as refused:
            add_habit(session, clinic.ther_a, clinic.pat_a, name=f"x{bad}", target_per_week=bad,
                      start_date=TODAY)
        assert refused.value.errors["target_per_week"] == f"The weekly target is {low} to {high} days."
    session.rollback()
    session.add(Habit(patient_id=clinic.pat_a, name="too many", target_per_week=high + 1,
                      start_date=INTAKE))
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()
    files = dict(CLINIC)
    sub("habits.csv", "exercise,3,", f"exercise,{high + 1},")(files)
    with pytest.raises(ImportFailed) as refused_import:
        load(session, files=files)
    assert [p.column for p in refused_import.value.problems] == ["target_per_week"]
    assert f"from {low} to {high}" in refused_import.value.problems[0].message


def test_session_duration_edge_is_the_same_in_recording_and_importer(session, clinic):
    from db.recording.sessions import _check_duration
    from db.recording.common import Errors
    low, high = SESSION_DURATION_MINUTES
    for minutes, refused in ((low - 1, True), (low, False), (high, False), (high + 1, True)):
        errors = Errors()
        _check_duration(errors, minutes)
        with pytest.raises(ValidationError) if refused else _no_error():
            errors.raise_if_any()
    files = dict(CLINIC)
    sub("sessions.csv", "attended,,60,1", f"attended,,{high + 1},1")(files)
    with pytest.raises(ImportFailed) as refused_import:
        load(session, files=files)
    assert [p.column for p in refused_import.value.problems] == ["duration_minutes"]
    assert f"from {low} to {high}" in refused_import.value.problems[0].message


class _no_error:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


# --- the words shown beside a rule come from its constant -----------------------------------

def test_stalled_words_follow_the_rule():
    from db.queries.compliance import ComplianceFigures, summary_tiles
    empty = ComplianceFigures(closed=0, compliant=0, non_compliant=0, prep_met=0,
                              integration_attended=0, discontinued=0, at_risk=0, stalled=0,
                              prep_due=0)
    [stalled] = [t for t in summary_tiles(empty, empty) if t.key == "stalled"]
    assert f"{STALLED_AFTER_DAYS} days" in stalled.detail


# --- one rounding rule for every rate -------------------------------------------------------

def test_one_percent_rule_for_adherence_and_compliance():
    from db.protocol import adherence
    from db.queries import caseload, compliance
    assert adherence.percent is compliance.percent is caseload.percent is percent
    # Halves round up, exactly: 1 of 16 is 6.25 %, which float round() gave as 6.2.
    assert [percent(1, 16), percent(9, 16), percent(2, 3), percent(1, 1), percent(0, 5)] == \
        [6.3, 56.3, 66.7, 100.0, 0.0]
    assert percent(3, 0) is None


# --- nobody types a bound again -------------------------------------------------------------

# (file, the line's text) of numbers that look like a bound but are something else.
NOT_A_LIMIT = {
    ("db/demo.py", "first = _weekday(as_of + timedelta(days=rng.randint(1, 7)))"),
}


def _code_files(root: Path) -> list[Path]:
    """The application's Python files: db/, ui/, pages/ and the top level, less the
    limits' own home and the migrations (which must keep their literal SQL)."""
    files = [p for top in ("db", "ui", "pages") for p in (root / top).rglob("*.py")
             if "migrations" not in p.parts and p.name != "limits.py"]
    return files + list(root.glob("*.py"))


def _restatements(root: Path = ROOT) -> list[str]:
    found = []
    for path in _code_files(root):
        rel = path.relative_to(root).as_posix()
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for name, (low, high) in BOUNDS.items():
                patterns = (rf"\b{low}\s*,\s*{high}\b", rf"\b{low}\s*<=\s*[\w.]+\s*<=\s*{high}\b",
                            rf"BETWEEN {low} AND {high}\b", rf"\b{low}\s*[–-]\s*{high}\b",
                            rf"\bbetween {low} and {high}\b", rf"\b{low} to {high}\b")
                if (any(re.search(p, line) for p in patterns)
                        and (rel, line.strip()) not in NOT_A_LIMIT):
                    found.append(f"{rel}:{number}: {name} restated: {line.strip()}")
            if re.search(rf"\b{STALLED_AFTER_DAYS} days\b", line):
                found.append(f"{rel}:{number}: STALLED_AFTER_DAYS restated: {line.strip()}")
    return found


def test_no_limit_is_restated_in_the_code():
    assert _restatements() == []


def test_the_restatement_check_finds_a_restated_limit(tmp_path):
    """The scan is not vacuous: each way of typing a bound again is caught, in a
    copy of the layout (the real tree is not touched)."""
    (tmp_path / "ui").mkdir()
    (tmp_path / "db").mkdir()
    (tmp_path / "ui" / "form.py").write_text(
        'LABEL = "Planned infusions (1–30)"\n'
        "ok = 1 <= target <= 7\n"
        'HELP = "no infusion for 14 days"\n')
    (tmp_path / "db" / "loader.py").write_text(
        'n = row.get("duration_minutes", f.whole, 1, 600)\n'
        'CHECK = "grace_days BETWEEN 0 AND 90"\n')
    assert sorted(_restatements(tmp_path)) == [
        'db/loader.py:1: SESSION_DURATION_MINUTES restated: '
        'n = row.get("duration_minutes", f.whole, 1, 600)',
        'db/loader.py:2: GRACE_DAYS restated: CHECK = "grace_days BETWEEN 0 AND 90"',
        'ui/form.py:1: PLANNED_INFUSIONS restated: LABEL = "Planned infusions (1–30)"',
        "ui/form.py:2: HABIT_TARGET_PER_WEEK restated: ok = 1 <= target <= 7",
        'ui/form.py:3: STALLED_AFTER_DAYS restated: HELP = "no infusion for 14 days"',
    ]


def test_identifier_length_is_the_columns_and_the_username_rule():
    from db import staff
    from db.limits import IDENTIFIER_MAX
    from db.models import AuditEvent, LoginThrottle, Patient, Staff
    from db.recording.patients import MAX_CHART_CHARS
    from db.text_rules import identifier_problem
    for column in (Patient.__table__.c.patient_id, Staff.__table__.c.username,
                   LoginThrottle.__table__.c.username, AuditEvent.__table__.c.actor,
                   AuditEvent.__table__.c.patient_ref):
        assert column.type.length == IDENTIFIER_MAX, column
    assert MAX_CHART_CHARS == IDENTIFIER_MAX
    assert staff.USERNAME_RE.match("a" * IDENTIFIER_MAX)
    assert not staff.USERNAME_RE.match("a" * (IDENTIFIER_MAX + 1))
    assert f"-{IDENTIFIER_MAX} " in staff.USERNAME_RULE
    assert identifier_problem("a" * IDENTIFIER_MAX) is None
    assert identifier_problem("a" * (IDENTIFIER_MAX + 1)) is not None
