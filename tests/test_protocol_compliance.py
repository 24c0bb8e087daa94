"""Series compliance: every rule and boundary of issue 3, as a table.

Each case runs twice: through the pure rules on plain rows, and through
compute_compliance on rows written to the database (SQLite and PostgreSQL).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pytest

from db.protocol import (
    InfusionRow,
    ProtocolConfig,
    SeriesRow,
    SessionRow,
    attention_rank,
    compute_compliance,
    evaluate_patient,
)
from tests.protocol_builders import Clinic


def d(month_day: str) -> date:
    return date.fromisoformat(f"2026-{month_day}")


C, S, X, N = "completed", "scheduled", "cancelled", "no_show"
# Six completed infusions, 4-15 May: last_infusion 15 May, window_end 22 May.
STD = [(d(x), C) for x in ("05-04", "05-06", "05-08", "05-11", "05-13", "05-15")]
PREP = (d("05-01"), "preparation", "attended", None)


def integ(day: str, status: str = "attended", pin: int | None = None):
    return (d(day), "integration", status, pin)


def prep(day: str, status: str = "attended", pin: int | None = None):
    return (d(day), "preparation", status, pin)


@dataclass
class Case:
    name: str
    as_of: date
    series: list[dict]
    sessions: list[tuple]
    expect: dict[int, dict]
    config: ProtocolConfig = field(default_factory=ProtocolConfig)


def one(infusions=STD, **kw) -> list[dict]:
    return [dict(number=1, infusions=infusions, **kw)]


CASES = [
    # Rule 4: enough attended integration sessions.
    Case("compliant", d("05-25"), one(), [PREP, integ("05-10"), integ("05-20")],
         {1: dict(status="compliant", preparation="met", preparation_date=d("05-01"),
                  integration_attended=2, first_infusion=d("05-04"),
                  last_infusion=d("05-15"), window_end=d("05-22"), flags=())}),
    # Rule 7 on window_end itself: the window is still open.
    Case("window_end itself is still open", d("05-22"), one(), [PREP, integ("05-10")],
         {1: dict(status="at_risk", integration_attended=1, integration_upcoming=0)}),
    # Rule 5 the day after window_end.
    Case("day after window_end", d("05-23"), one(), [PREP, integ("05-10")],
         {1: dict(status="non_compliant", integration_attended=1)}),
    Case("on track with one booked", d("05-20"), one(), [PREP, integ("05-10"), integ("05-21", S)],
         {1: dict(status="on_track", integration_attended=1, integration_upcoming=1)}),
    Case("a session booked for the as-of day is upcoming", d("05-20"), one(),
         [PREP, integ("05-10"), integ("05-20", S)],
         {1: dict(status="on_track", integration_upcoming=1, unrecorded=0)}),
    Case("stale scheduled session is unrecorded", d("05-20"), one(),
         [PREP, integ("05-10"), integ("05-19", S)],
         {1: dict(status="at_risk", integration_attended=1, integration_upcoming=0,
                  unrecorded=1, flags=("unrecorded",))}),
    Case("stale scheduled infusion is unrecorded and still sets last_infusion", d("05-20"),
         one(infusions=STD[:5] + [(d("05-15"), S)]), [PREP, integ("05-10")],
         {1: dict(infusions_completed=5, last_infusion=d("05-15"), unrecorded=1,
                  next_infusion=None, flags=("unrecorded",))}),
    # Preparation on the first infusion's day meets the rule; the day after does not.
    Case("preparation on the first infusion's day", d("05-25"), one(),
         [prep("05-04"), integ("05-10"), integ("05-12")],
         {1: dict(status="compliant", preparation="met", preparation_date=d("05-04"))}),
    Case("preparation the day after the first infusion", d("05-25"), one(),
         [prep("05-05"), integ("05-10"), integ("05-12")],
         {1: dict(status="non_compliant", preparation="missing", preparation_date=None)}),
    Case("preparation no-show and cancelled do not count", d("05-25"), one(),
         [prep("04-28", N), prep("05-01", X), integ("05-10"), integ("05-12")],
         {1: dict(status="non_compliant", preparation="missing")}),
    Case("rule 3 comes before rule 4", d("05-25"), one(), [integ("05-10"), integ("05-12")],
         {1: dict(status="non_compliant", integration_attended=2)}),
    Case("integration no-shows and cancellations do not count", d("05-25"), one(),
         [PREP, integ("05-10"), integ("05-12", N), integ("05-14", X)],
         {1: dict(status="non_compliant", integration_attended=1, integration_upcoming=0,
                  unrecorded=0)}),
    Case("integration before the first infusion belongs to no series", d("05-25"), one(),
         [PREP, integ("05-02"), integ("05-10")],
         {1: dict(status="non_compliant", integration_attended=1)}),
    Case("integration after window_end belongs to no series", d("05-25"), one(),
         [PREP, integ("05-10"), integ("05-23")],
         {1: dict(status="non_compliant", integration_attended=1)}),
    Case("integration on window_end counts", d("05-25"), one(),
         [PREP, integ("05-10"), integ("05-22")],
         {1: dict(status="compliant", integration_attended=2)}),
    Case("pinned integration outside the window counts", d("05-25"), one(),
         [PREP, integ("05-10"), integ("05-24", pin=1)],
         {1: dict(status="compliant", integration_attended=2)}),
    # Cancelled and no-show infusions are ignored for last_infusion.
    Case("cancelled and no-show infusions ignored", d("05-25"),
         one(infusions=STD[:3] + [(d("05-11"), X), (d("05-13"), N)]),
         [PREP, integ("05-10")],
         {1: dict(last_infusion=d("05-08"), window_end=d("05-15"), infusions_completed=3,
                  status="non_compliant")}),
    # Discontinued: status first, window from the latest completed infusion.
    Case("discontinued uses latest completed", d("05-25"),
         one(infusions=STD[:2] + [(d("05-30"), S)], status="discontinued"),
         [PREP],
         {1: dict(status="discontinued", last_infusion=d("05-06"), window_end=d("05-13"),
                  last_completed_infusion=d("05-06"), flags=())}),
    Case("not started, nothing booked", d("05-25"), one(infusions=[]), [],
         {1: dict(status="not_started", preparation="missing", first_infusion=None,
                  window_end=None, flags=())}),
    # prep_due: first booked infusion within 7 days, no preparation attended or booked.
    Case("prep_due at 7 days", d("05-29"), one(infusions=[(d("06-05"), S)]), [],
         {1: dict(status="not_started", next_infusion=d("06-05"), flags=("prep_due",))}),
    Case("no prep_due at 8 days", d("05-28"), one(infusions=[(d("06-05"), S)]), [],
         {1: dict(status="not_started", flags=())}),
    Case("preparation booked: scheduled, no prep_due", d("06-01"),
         one(infusions=[(d("06-05"), S)]), [prep("06-03", S)],
         {1: dict(status="not_started", preparation="scheduled",
                  preparation_date=d("06-03"), flags=())}),
    Case("preparation attended before start: met, no prep_due", d("06-01"),
         one(infusions=[(d("06-05"), S)]), [prep("05-30")],
         {1: dict(status="not_started", preparation="met", flags=())}),
    Case("stale booked preparation: unrecorded and prep_due", d("06-01"),
         one(infusions=[(d("06-05"), S)]), [prep("05-30", S)],
         {1: dict(status="not_started", preparation="missing", unrecorded=1,
                  flags=("prep_due", "unrecorded"))}),
    # stalled: more than 14 days since the last completed infusion, none booked.
    Case("not stalled at 14 days", d("05-22"), one(infusions=STD[:3]),
         [PREP, integ("05-07"), integ("05-08")],
         {1: dict(status="compliant", flags=())}),
    Case("stalled at 15 days", d("05-23"), one(infusions=STD[:3]),
         [PREP, integ("05-07"), integ("05-08")],
         {1: dict(status="compliant", flags=("stalled",), last_completed_infusion=d("05-08"))}),
    Case("not stalled with an infusion booked", d("05-23"),
         one(infusions=STD[:3] + [(d("05-26"), S)]), [PREP, integ("05-07"), integ("05-08")],
         {1: dict(flags=(), next_infusion=d("05-26"), window_end=d("06-02"),
                  status="compliant")}),
    Case("not stalled when all planned are done", d("06-20"), one(infusions=STD[:3], planned=3),
         [PREP, integ("05-07"), integ("05-08")], {1: dict(flags=())}),
    Case("completed series is never stalled", d("06-20"),
         one(infusions=STD[:3], status="completed"), [PREP, integ("05-07"), integ("05-08")],
         {1: dict(flags=(), series_status="completed")}),
    # Settings change the rules.
    Case("a minimum of one", d("05-25"), one(), [PREP, integ("05-10")],
         {1: dict(status="compliant", integration_required=1)},
         ProtocolConfig(min_integration_sessions=1)),
    Case("no grace days", d("05-16"), one(), [PREP, integ("05-10")],
         {1: dict(status="non_compliant", window_end=d("05-15"))},
         ProtocolConfig(grace_days=0)),
]

# Two series: 4-15 May (window to 22 May) and a booster from 20 May.
BOOSTER = [(d(x), C) for x in ("05-20", "05-22")] + [(d("05-27"), S)]
TWO = [dict(number=1, infusions=STD),
       dict(number=2, infusions=BOOSTER, kind="booster", planned=3)]
CASES += [
    Case("overlapping windows: the earlier series wins", d("05-25"), TWO,
         [PREP, integ("05-10"), integ("05-21"), prep("05-18")],
         {1: dict(status="compliant", integration_attended=2, is_current=False),
          2: dict(status="at_risk", integration_attended=0, preparation="met",
                  preparation_date=d("05-18"), is_current=True, next_infusion=d("05-27"))}),
    Case("pinned integration goes to the later series", d("05-25"), TWO,
         [PREP, integ("05-10"), integ("05-21", pin=2), prep("05-18")],
         {1: dict(integration_attended=1), 2: dict(integration_attended=1)}),
    Case("preparation after series 1 starts goes to series 2", d("05-25"), TWO,
         [prep("05-05")],
         {1: dict(preparation="missing", status="non_compliant"),
          2: dict(preparation="met", preparation_date=d("05-05"))}),
    Case("pinned preparation goes to its series", d("05-25"), TWO,
         [prep("05-01", pin=2)],
         {1: dict(preparation="missing"), 2: dict(preparation="met")}),
]


def _pure(case: Case) -> dict[int, object]:
    ids = {s["number"]: 100 + s["number"] for s in case.series}
    rows = [SeriesRow(ids[s["number"]], 1, "C0001", 7, "t_one", s["number"],
                      s.get("kind", "induction"), s.get("status", "active"), s.get("planned", 6))
            for s in case.series]
    infusions = {ids[s["number"]]: [InfusionRow(*i) for i in s["infusions"]] for s in case.series}
    sessions = [SessionRow(day, kind, st, ids[pin] if pin else None)
                for day, kind, st, pin in case.sessions]
    return {sc.series_number: sc
            for sc in evaluate_patient(rows, infusions, sessions, case.as_of, case.config)}


def _db(session, case: Case) -> dict[int, object]:
    clinic = Clinic(session)
    patient = clinic.patient("C0001")
    made = {s["number"]: clinic.series(patient, s["number"], status=s.get("status", "active"),
                                       planned=s.get("planned", 6),
                                       kind=s.get("kind", "induction"),
                                       infusions=s["infusions"])
            for s in case.series}
    for day, kind, st, pin in case.sessions:
        clinic.therapy(patient, day, kind, st, made[pin] if pin else None)
    session.commit()
    got = compute_compliance(session, case.as_of, patient_ids=[patient.id], settings=case.config)
    return {sc.series_number: sc for sc in got}


def _check(case: Case, got: dict[int, object]) -> None:
    assert set(case.expect) <= set(got)
    for number, fields in case.expect.items():
        sc = got[number]
        for name, value in fields.items():
            assert getattr(sc, name) == value, f"{case.name}: series {number} {name}"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_rules_on_plain_rows(case):
    _check(case, _pure(case))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_rules_on_the_database(session, case):
    _check(case, _db(session, case))


REASONS = [
    ("compliant", "Preparation on 2026-05-01; 2 of 2 integration sessions attended."),
    ("window_end itself is still open",
     "1 of 2 integration sessions attended, none booked; window closes 2026-05-22."),
    ("day after window_end",
     "Fewer integration sessions than required: 1 of 2 integration sessions attended; "
     "window closed 2026-05-22."),
    ("on track with one booked",
     "1 of 2 integration sessions attended, 1 booked; window closes 2026-05-22."),
    ("rule 3 comes before rule 4",
     "Infusion on 2026-05-04 given without a preparation session on or before that day."),
    ("discontinued uses latest completed", "Series discontinued after 2 of 6 planned infusions."),
    ("not started, nothing booked", "No infusion completed or booked yet."),
    ("prep_due at 7 days",
     "No infusion completed yet; first infusion booked for 2026-06-05. Preparation due: first "
     "infusion on 2026-06-05 and no preparation session attended or booked."),
    ("stalled at 15 days",
     "Preparation on 2026-05-01; 2 of 2 integration sessions attended. Stalled: 3 of 6 "
     "infusions done, the last on 2026-05-08, none booked."),
    ("stale scheduled session is unrecorded",
     "1 of 2 integration sessions attended, none booked; window closes 2026-05-22. "
     "1 past appointment still marked scheduled: record whether it took place."),
]


@pytest.mark.parametrize("name,reason", REASONS, ids=[r[0] for r in REASONS])
def test_reason_in_plain_words(name, reason):
    case = next(c for c in CASES if c.name == name)
    assert _pure(case)[1].reason == reason


def test_attention_rank_puts_need_first():
    base = _pure(CASES[0])[1]
    rows = [
        base._replace(patient_id="A", status="compliant", next_infusion=d("06-02")),
        base._replace(patient_id="B", status="compliant", next_infusion=d("06-01")),
        base._replace(patient_id="C", status="not_started", flags=("prep_due",)),
        base._replace(patient_id="D", status="compliant", flags=("stalled",)),
        base._replace(patient_id="E", status="at_risk"),
        base._replace(patient_id="F", status="non_compliant"),
        base._replace(patient_id="G", status="discontinued"),
    ]
    assert [r.patient_id for r in sorted(rows, key=attention_rank)] == list("FEDCBAG")


def test_scoped_to_one_therapist(session):
    clinic = Clinic(session)
    other = clinic.staff("t_two")
    mine = clinic.patient("C1")
    theirs = clinic.patient("C2", therapist=other)
    clinic.series(mine, infusions=STD)
    clinic.series(theirs, infusions=STD)
    clinic.therapy(theirs, d("05-01"), "preparation", "attended")
    session.commit()
    got = compute_compliance(session, d("05-25"), therapist_id=other.id)
    assert [(g.patient_id, g.preparation, g.therapist_username) for g in got] == [
        ("C2", "met", "t_two")]
    everyone = compute_compliance(session, d("05-25"))
    assert [g.patient_id for g in everyone] == ["C1", "C2"]
    assert compute_compliance(session, d("05-25"), patient_ids=[]) == []


def test_reads_settings_from_the_database(session):
    from db.protocol import update_settings

    clinic = Clinic(session)
    p = clinic.patient()
    clinic.series(p, infusions=STD)
    clinic.therapy(p, d("05-01"), "preparation", "attended")
    clinic.therapy(p, d("05-10"), "integration", "attended")
    update_settings(session, "md", 1, min_integration_sessions=1)
    session.commit()
    [sc] = compute_compliance(session, d("05-25"))
    assert (sc.status, sc.integration_required) == ("compliant", 1)


def test_database_and_plain_rows_agree_on_a_random_clinic(session):
    """The SQL summary of infusions and the Python one give the same answers."""
    import random
    from datetime import timedelta

    rng = random.Random(3)
    clinic = Clinic(session)
    as_of = d("05-20")
    expected = []
    for n in range(40):
        patient = clinic.patient(f"R{n:03d}")
        rows, infusions, made = [], {}, []
        for number in range(1, rng.randint(1, 3) + 1):
            start = d("03-01") + timedelta(days=rng.randint(0, 90))
            inf = [(start + timedelta(days=k * rng.randint(2, 4)),
                    rng.choice([C, C, C, S, S, X, N])) for k in range(rng.randint(0, 7))]
            inf = list(dict(inf).items())  # one infusion per day and series
            status = rng.choice(["active", "active", "completed", "discontinued"])
            s = clinic.series(patient, number, status=status, planned=rng.randint(2, 8),
                              infusions=inf)
            made.append(s)
            rows.append(SeriesRow(s.id, patient.id, patient.patient_id, clinic.therapist.id,
                                  "t_one", number, "induction", status, s.planned_infusions))
            infusions[s.id] = [InfusionRow(*i) for i in inf]
        sessions, seen = [], set()
        for _ in range(rng.randint(0, 8)):
            day = d("02-20") + timedelta(days=rng.randint(0, 110))
            kind = rng.choice(["preparation", "integration", "integration"])
            if (day, kind) in seen:
                continue
            seen.add((day, kind))
            status = rng.choice(["attended", "attended", "scheduled", "cancelled", "no_show"])
            pin = rng.choice(made) if rng.random() < 0.15 else None
            clinic.therapy(patient, day, kind, status, pin)
            if status in ("attended", "scheduled"):
                sessions.append(SessionRow(day, kind, status, pin.id if pin else None))
        expected.extend(evaluate_patient(rows, infusions, sessions, as_of, ProtocolConfig()))
    session.commit()
    got = compute_compliance(session, as_of)
    expected.sort(key=lambda sc: (sc.patient_id, sc.series_number))
    assert got == expected
    assert {sc.status for sc in got} >= {"compliant", "non_compliant", "not_started",
                                          "discontinued"}


def _first_match_owner(series, session):
    """The assignment rule as issue 3 words it, one session at a time: the oracle
    for session_bounds. ``series`` as (id, number, dates)."""
    day, kind, _, pinned = session
    ids = {sid for sid, _, _ in series}
    if pinned is not None:
        return pinned if pinned in ids else None
    if kind == "preparation":
        anchors = sorted((dt.first_booked, num, sid) for sid, num, dt in series
                         if dt.first_booked is not None)
        return next((sid for anchor, _, sid in anchors if anchor >= day), None)
    windows = sorted((dt.first_infusion, num, dt.window_end, sid) for sid, num, dt in series
                     if dt.first_infusion is not None)
    return next((sid for start, _, end, sid in windows if start <= day <= end), None)


def test_session_bounds_assign_as_the_first_match_rule_says():
    """Overlapping, nested and touching windows, shared anchors, pinned sessions:
    every series is evaluated on the sessions the plain rule gives it."""
    import random
    from datetime import timedelta

    from db.protocol import evaluate_series, series_dates, summarise_infusions

    rng = random.Random(11)
    config = ProtocolConfig()
    checked = 0
    for _ in range(400):
        as_of = d("05-20")
        rows, infusions = [], {}
        for number in range(1, rng.randint(1, 4) + 1):
            sid = 100 + number
            start = d("03-01") + timedelta(days=rng.randint(0, 60))
            inf = [(start + timedelta(days=k * rng.randint(1, 9)), rng.choice([C, C, S, X]))
                   for k in range(rng.randint(0, 5))]
            infusions[sid] = list(dict(inf).items())
            rows.append(SeriesRow(sid, 1, "C0001", 7, "t_one", number, "induction",
                                  rng.choice(["active", "completed", "discontinued"]), 6))
        sessions = [SessionRow(d("02-25") + timedelta(days=rng.randint(0, 100)),
                               rng.choice(["preparation", "integration"]),
                               rng.choice(["attended", "scheduled"]),
                               rng.choice([None, None, None, 101, 102, 999]))
                    for _ in range(rng.randint(0, 10))]
        got = {sc.series_id: sc for sc in evaluate_patient(rows, infusions, sessions, as_of,
                                                           config)}
        dated = [(r, series_dates(r.status, summarise_infusions(infusions[r.id], as_of),
                                  config.grace_days)) for r in rows]
        keyed = [(r.id, r.number, dt) for r, dt in dated]
        latest = max(r.number for r in rows)
        for r, dt in dated:
            own = [s for s in sessions if _first_match_owner(keyed, s) == r.id]
            want = evaluate_series(r, dt, own, as_of, config, is_current=r.number == latest)
            assert got[r.id] == want, (rows, infusions, sessions)
            checked += len(own)
    assert checked > 500


def test_sqlite_dates_read_the_same_without_the_drivers_converter(tmp_path):
    """make_engine lets the sqlite3 driver parse tagged date columns; an engine
    made without that (plain create_engine) gives ISO text, which the loader
    then converts itself. Both give the same answers."""
    from sqlalchemy import create_engine

    from db.engine import make_engine, session_factory
    from db.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    ours = make_engine(url)
    upgrade(ours)
    with session_factory(ours)() as session:
        clinic = Clinic(session)
        p = clinic.patient()
        s = clinic.series(p, infusions=STD + [(d("05-29"), S)])
        clinic.therapy(p, d("05-01"), "preparation", "attended")
        clinic.therapy(p, d("05-10"), "integration", "attended", s)
        clinic.therapy(p, d("05-26"), "integration", "scheduled")
        session.commit()
        converted = compute_compliance(session, d("05-20"))
    plain = create_engine(url)
    with session_factory(plain)() as session:
        from_text = compute_compliance(session, d("05-20"))
    assert converted == from_text
    [sc] = converted
    assert type(sc.first_infusion) is date and sc.preparation_date == d("05-01")
    assert (sc.integration_attended, sc.integration_upcoming) == (1, 1)
    ours.dispose()
    plain.dispose()
