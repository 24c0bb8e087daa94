"""The synthetic demo clinic: reproducible, realistic in shape, and safe to run."""
from __future__ import annotations

import shutil
from collections import defaultdict
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db import cli
from db.demo import DEMO_ACCOUNTS, DemoError, ensure_demo_accounts, generate_demo
from db.engine import make_engine, session_factory
from db.models import (
    INSTRUMENT_MAX,
    AuditEvent,
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
from db.passwords import verify_password

AS_OF = date(2026, 6, 1)
CLINIC_TABLES = ("patient", "treatment_series", "infusion", "therapy_session", "habit",
                 "habit_log", "outcome_measure")


def _dump(session: Session) -> dict[str, list[tuple]]:
    """Every generated row, ordered by key; staff without the creation stamp,
    whose time zone handling differs between backends."""
    out = {}
    for name in CLINIC_TABLES:
        table = Base.metadata.tables[name]
        out[name] = [tuple(r) for r in session.execute(select(table).order_by(table.c.id))]
    out["staff"] = [tuple(r) for r in session.execute(
        select(Staff.id, Staff.username, Staff.full_name, Staff.email, Staff.role,
               Staff.password_hash, Staff.active).order_by(Staff.id))]
    return out


@pytest.fixture
def fresh_sqlite(tmp_path, sqlite_template):
    """Makes extra empty, migrated SQLite clinics for comparisons."""
    engines = []

    def make(name: str):
        path = tmp_path / f"{name}.db"
        shutil.copy(sqlite_template, path)
        engine = make_engine(f"sqlite:///{path}")
        engines.append(engine)
        return session_factory(engine)()

    yield make
    for engine in engines:
        engine.dispose()


def test_same_seed_same_clinic_on_every_backend(session, fresh_sqlite):
    generate_demo(session, patients=60, seed=11, as_of=AS_OF)
    with fresh_sqlite("again") as other:
        generate_demo(other, patients=60, seed=11, as_of=AS_OF)
        # The backend under test against SQLite: the clinic depends on the seed only.
        assert _dump(session) == _dump(other)


def test_different_seed_or_date_gives_a_different_clinic(fresh_sqlite):
    dumps = []
    for name, seed, as_of in (("a", 1, AS_OF), ("b", 2, AS_OF), ("c", 1, AS_OF + timedelta(1))):
        with fresh_sqlite(name) as s:
            generate_demo(s, patients=40, seed=seed, as_of=as_of)
            dumps.append(_dump(s))
    assert dumps[0]["patient"] != dumps[1]["patient"]
    assert dumps[0]["habit_log"] != dumps[1]["habit_log"]
    assert dumps[0]["infusion"] != dumps[2]["infusion"]


@pytest.fixture(scope="module")
def clinic(tmp_path_factory, sqlite_template):
    """One 400-patient clinic, loaded into plain Python for the shape checks."""
    path = tmp_path_factory.mktemp("demo") / "clinic.db"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    with session_factory(engine)() as s:
        summary = generate_demo(s, patients=400, seed=7, as_of=AS_OF)
        data = {
            "summary": summary,
            "staff": s.execute(select(Staff.id, Staff.username, Staff.role)).all(),
            "patients": s.execute(select(Patient)).scalars().all(),
            "series": s.execute(select(TreatmentSeries)).scalars().all(),
            "infusions": s.execute(select(Infusion)).scalars().all(),
            "sessions": s.execute(select(TherapySession)).scalars().all(),
            "habits": s.execute(select(Habit)).scalars().all(),
            "logs": s.execute(select(HabitLog.habit_id, HabitLog.date, HabitLog.completed)).all(),
            "measures": s.execute(select(OutcomeMeasure)).scalars().all(),
        }
    engine.dispose()
    return data


def _by(rows, key):
    out = defaultdict(list)
    for r in rows:
        out[key(r)].append(r)
    return out


def test_summary_counts_match_the_rows(clinic):
    s = clinic["summary"]
    assert (s.patients, s.series, s.infusions, s.sessions, s.habits, s.habit_logs, s.measures) == (
        len(clinic["patients"]), len(clinic["series"]), len(clinic["infusions"]),
        len(clinic["sessions"]), len(clinic["habits"]), len(clinic["logs"]),
        len(clinic["measures"]))
    assert str(s).startswith("Demo clinic as of 2026-06-01 (seed 7): 400 patients")


def test_therapists_and_patients_look_real(clinic):
    therapists = [r for r in clinic["staff"] if r.role == "therapist"]
    assert 400 / 40 <= len(therapists) <= 400 / 25 + 1
    caseload = _by(clinic["patients"], lambda p: p.therapist_id)
    demo_therapist = next(r for r in therapists if r.username == "therapist")
    assert len(caseload[demo_therapist.id]) >= 5
    assert set(caseload) <= {t.id for t in therapists}
    patients = clinic["patients"]
    assert len({p.pseudonym for p in patients}) == len(patients)
    assert all(p.patient_id.startswith("KAP-") and len(p.patient_id) == 10 for p in patients)
    assert len({p.last_name for p in patients}) > 40
    for p in patients:
        age = (AS_OF - p.date_of_birth).days / 365.25
        assert 18 <= age <= 76.5
        assert AS_OF - timedelta(days=541) <= p.intake_date <= AS_OF
    assert sum(1 for p in patients if p.intentions) > 0.8 * len(patients)


def test_series_follow_the_protocol_with_realistic_dropouts(clinic):
    infusions = _by(clinic["infusions"], lambda i: i.series_id)
    inductions = [s for s in clinic["series"] if s.kind == "induction"]
    assert all(s.planned_infusions == 6 for s in inductions)
    assert sum(s.planned_infusions == 6 for s in clinic["series"]) > 0.7 * len(clinic["series"])
    boosters = [s for s in clinic["series"] if s.kind == "booster"]
    assert boosters and all(s.number >= 2 and s.planned_infusions in (1, 2) for s in boosters)

    started = dropouts = completed_six = stalled = 0
    for s in inductions:
        rows = infusions[s.id]
        done = [i for i in rows if i.status == "completed"]
        future = [i for i in rows if i.date > AS_OF]
        if not done:
            continue
        started += 1
        if len(done) == 1 and not future:
            dropouts += 1
        if len(done) == 6:
            completed_six += 1
            assert s.status == "completed"
            span = (max(i.date for i in done) - min(i.date for i in done)).days
            assert 9 <= span <= 28
        if s.status == "active" and not future:
            stalled += 1
        if s.status == "discontinued":
            assert s.discontinued_reason
    assert 0.10 <= dropouts / started <= 0.35
    assert 0.4 <= completed_six / started <= 0.8
    assert stalled > 0

    routes = _by(clinic["infusions"], lambda i: i.route)
    assert len(routes["IV"]) > 0.6 * len(clinic["infusions"])
    assert routes["IM"] and (routes["SL"] or routes["IN"])
    iv_doses = [i.dose_mg_per_kg for i in routes["IV"] if i.dose_mg_per_kg is not None]
    assert min(iv_doses) >= 0.5 and sum(0.5 <= d <= 0.75 for d in iv_doses) > 0.8 * len(iv_doses)


def test_upcoming_events_after_as_of(clinic):
    future_inf = [i for i in clinic["infusions"] if i.date > AS_OF]
    future_sess = [s for s in clinic["sessions"] if s.date > AS_OF]
    assert future_inf and future_sess
    assert all(i.status == "scheduled" for i in future_inf)
    assert all(s.status == "scheduled" for s in future_sess)
    # Some patients have not started: their first infusion is within the week.
    series_of = {s.id: s for s in clinic["series"]}
    by_patient = _by(clinic["infusions"], lambda i: series_of[i.series_id].patient_id)
    not_started = [pid for pid, rows in by_patient.items()
                   if all(i.date > AS_OF for i in rows)
                   and min(i.date for i in rows) <= AS_OF + timedelta(days=7)]
    assert not_started


def test_sessions_prep_integration_and_attendance(clinic):
    sessions = clinic["sessions"]
    assert {s.duration_minutes for s in sessions} == {50, 60, 90}
    prep_by_patient = _by([s for s in sessions if s.kind == "preparation"], lambda s: s.patient_id)
    infusions = _by(clinic["infusions"], lambda i: i.series_id)
    before = missing = after = 0
    for s in clinic["series"]:
        if s.number != 1:
            continue
        first = min(i.date for i in infusions[s.id])
        preps = prep_by_patient.get(s.patient_id, [])
        if not preps:
            missing += 1
        elif min(p.date for p in preps) <= first:
            before += 1
        else:
            after += 1
    total = before + missing + after
    assert before / total >= 0.8 and missing > 0 and after > 0

    past = [s for s in sessions if s.date <= AS_OF]
    share = {st: sum(s.status == st for s in past) / len(past)
             for st in ("attended", "no_show", "cancelled", "scheduled")}
    assert 0.05 <= share["no_show"] <= 0.16
    assert 0.03 <= share["cancelled"] <= 0.12
    assert 0 < share["scheduled"] < 0.05  # a few left unrecorded
    primary = {p.id: p.therapist_id for p in clinic["patients"]}
    assert sum(s.therapist_id == primary[s.patient_id] for s in sessions) > 0.8 * len(sessions)
    assert sum(s.kind == "integration" for s in sessions) > len(clinic["series"])


def test_habits_and_logs_with_holding_and_fading_adherence(clinic):
    habits = clinic["habits"]
    per_patient = _by(habits, lambda h: h.patient_id)
    assert all(1 <= len(v) <= 3 for v in per_patient.values())
    assert {"exercise", "journaling", "meditation"} <= {h.name for h in habits}
    assert all(3 <= h.target_per_week <= 7 for h in habits)
    logs = _by(clinic["logs"], lambda r: r.habit_id)
    holding = fading = 0
    for h in habits:
        rows = logs.get(h.id, [])
        if not rows:
            continue
        assert h.start_date <= min(r.date for r in rows)
        assert max(r.date for r in rows) <= (h.end_date or AS_OF)
        if (AS_OF - h.start_date).days < 120 or h.end_date:
            continue
        first4 = sum(r.completed for r in rows if r.date < h.start_date + timedelta(28))
        last4 = sum(r.completed for r in rows if r.date > AS_OF - timedelta(28))
        if last4 >= 0.6 * 4 * h.target_per_week:
            holding += 1
        if first4 >= 0.5 * 4 * h.target_per_week and last4 < 0.25 * 4 * h.target_per_week:
            fading += 1
    assert holding > 20 and fading > 20
    # Days without a row happen too.
    span = sum((min(AS_OF, h.end_date or AS_OF) - h.start_date).days + 1
               for h in habits if h.start_date <= AS_OF)
    assert len(clinic["logs"]) < span


def test_outcome_trajectories(clinic):
    series_of = {s.id: s for s in clinic["series"]}
    first_infusion: dict[int, date] = {}
    for i in clinic["infusions"]:
        pid = series_of[i.series_id].patient_id
        first_infusion[pid] = min(first_infusion.get(pid, i.date), i.date)
    by_key = _by(clinic["measures"], lambda m: (m.patient_id, m.instrument))
    kinds = defaultdict(int)
    for (pid, instrument), rows in by_key.items():
        assert all(0 <= m.score <= INSTRUMENT_MAX[instrument] for m in rows)
        assert all(m.date <= AS_OF for m in rows)
        rows.sort(key=lambda m: m.date)
        assert rows[0].date < first_infusion[pid]  # a baseline before treatment
        if instrument != "PHQ-9" or len(rows) < 3:
            continue
        base, last = rows[0].score, rows[-1].score
        if last < 5:
            kinds["remitter"] += 1
        if last <= base / 2:
            kinds["responder"] += 1
        elif last >= base + 5:
            kinds["worse"] += 1
        elif last > 0.75 * base:
            kinds["non"] += 1
    assert kinds["remitter"] > 10 and kinds["responder"] > 40
    assert kinds["non"] > 40 and kinds["worse"] > 0
    instruments = _by(clinic["measures"], lambda m: m.instrument)
    assert instruments["PCL-5"] and len({m.patient_id for m in instruments["PCL-5"]}) < 0.5 * len(
        {m.patient_id for m in instruments["PHQ-9"]})
    assert len(instruments["GAD-7"]) == len(instruments["PHQ-9"])


def test_refuses_a_clinic_that_has_patients(session):
    generate_demo(session, patients=5, seed=3, as_of=AS_OF)
    before = session.scalar(select(func.count()).select_from(Patient))
    with pytest.raises(DemoError, match="already holds patients"):
        generate_demo(session, patients=5, seed=3, as_of=AS_OF)
    assert session.scalar(select(func.count()).select_from(Patient)) == before


def test_progress_callable_and_bar(session, capsys):
    calls = []
    generate_demo(session, patients=260, seed=5, as_of=AS_OF,
                  progress=lambda done, total: calls.append((done, total)))
    assert calls == [(250, 260), (260, 260)]


def test_progress_bar_on_stderr(fresh_sqlite, capsys):
    with fresh_sqlite("bar") as s:
        generate_demo(s, patients=3, seed=5, as_of=AS_OF, progress=True)
    err = capsys.readouterr().err
    assert "3/3 patients" in err and err.endswith("\n")


def test_five_years_of_history_for_the_benchmark(session):
    generate_demo(session, patients=12, seed=9, as_of=AS_OF, therapists=3,
                  history_years_patients=2)
    assert session.scalar(select(func.count()).select_from(Staff)) == 3
    old = session.scalars(select(Patient).where(
        Patient.intake_date <= AS_OF - timedelta(days=5 * 365))).all()
    assert len(old) == 2
    for p in old:
        series = session.scalars(select(TreatmentSeries).where(
            TreatmentSeries.patient_id == p.id)).all()
        assert len(series) >= 4
        first, last, n = session.execute(
            select(func.min(HabitLog.date), func.max(HabitLog.date), func.count())
            .join(Habit, Habit.id == HabitLog.habit_id).where(Habit.patient_id == p.id)).one()
        assert (last - first).days > 4 * 365 and last >= AS_OF - timedelta(days=3)
        assert n > 4 * 365 * 0.8


@pytest.fixture
def cheap_bcrypt(monkeypatch):
    """Four bcrypt rounds instead of twelve: the same code path, a test ten times faster."""
    import bcrypt

    gensalt = bcrypt.gensalt
    monkeypatch.setattr(bcrypt, "gensalt", lambda rounds=4, prefix=b"2b": gensalt(4, prefix))


def test_demo_accounts_one_per_role_idempotent(session, cheap_bcrypt):
    generate_demo(session, patients=30, seed=4, as_of=AS_OF)
    accounts = ensure_demo_accounts(session)
    assert {a.role for a in accounts} == {"therapist", "medical_director", "admin", "team_screen"}
    for a in accounts:
        row = session.scalar(select(Staff).where(Staff.username == a.username))
        assert row.role == a.role and verify_password(a.password, row.password_hash)
        assert len(a.password) >= 10
    therapist = session.scalar(select(Staff).where(Staff.username == "therapist"))
    owned = session.scalar(select(func.count()).where(Patient.therapist_id == therapist.id))
    assert owned > 0
    events = session.scalar(select(func.count()).select_from(AuditEvent))
    # A second start changes nothing and writes no audit noise.
    assert ensure_demo_accounts(session) == accounts
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == events
    actions = set(session.scalars(select(AuditEvent.action)))
    assert {"demo.generate", "user.add", "user.set_password"} <= actions
    assert [a.username for a in DEMO_ACCOUNTS] == ["therapist", "director", "admin", "teamscreen"]


def test_demo_accounts_refuse_a_clashing_role(session, cheap_bcrypt):
    from db import staff

    staff.add_user(session, "director", "Someone Else", "therapist")
    session.commit()
    with pytest.raises(DemoError, match="role"):
        ensure_demo_accounts(session)


def test_cli_demo(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    args = ["demo", "--patients", "50", "--seed", "1", "--as-of", "2026-06-01"]
    assert cli.main(args) == 0
    out = capsys.readouterr().out
    assert "Demo clinic as of 2026-06-01 (seed 1): 50 patients" in out
    assert cli.main(args) != 0
    err = capsys.readouterr().err
    assert "already holds patients" in err and "Traceback" not in err
