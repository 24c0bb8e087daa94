"""Series compliance: did each treatment series follow the clinic's protocol?

The rules (see docs/protocol.md for the clinician's version):

* ``first_infusion``: earliest completed infusion. ``last_infusion``: latest
  completed or scheduled one (cancelled and no-show ignored); for a
  discontinued series, the latest completed one. ``window_end`` =
  last_infusion + grace days.
* A preparation session belongs to the series whose first booked infusion
  (completed or scheduled) is the first on or after the session's date; an
  integration session to the series whose window [first_infusion, window_end]
  holds its date, the earlier series when windows overlap. A session pinned to
  a series (``therapy_session.series_id``) belongs to that series whatever its
  date.
* Preparation is ``met`` by an attended preparation session dated on or before
  the first completed infusion (any attended one while no infusion is completed
  yet). It is ``scheduled`` when not met but a preparation session is booked
  (status ``scheduled``) on or after the as-of date and no later than the first
  infusion (the first completed one or, before the series starts, the next
  booked one): a booking that can still meet the requirement. Otherwise
  ``missing``.
* Status, first match wins: discontinued, not_started, non_compliant (no
  preparation met), compliant (attended >= minimum), non_compliant (as-of date
  after window_end), on_track (attended + upcoming >= minimum), at_risk.
* Flags: ``stalled`` (active, started, fewer completed than planned, the last
  completed infusion more than ``STALLED_AFTER_DAYS`` days before the as-of date
  and no infusion booked on or after it), ``prep_due`` (not started, next booked
  infusion within ``PREP_DUE_WITHIN_DAYS`` days, preparation neither met nor
  scheduled), ``unrecorded`` (an infusion or session of the series dated
  before the as-of date still ``scheduled``).

Loading (:func:`compute_compliance`, :func:`compliance_values`) reads three
scoped bulk queries (the series, a GROUP BY summary of their infusions, the
sessions); the rules (:func:`evaluate_patient`, :func:`evaluate_series`,
:func:`session_bounds`) run on plain rows so that tests can probe every
boundary and pages never recompute.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache, partial
from datetime import date, timedelta
from itertools import groupby
from operator import itemgetter
from typing import NamedTuple

from sqlalchemy import Connection, Select, and_, case, func, select
from sqlalchemy.orm import Session

from ..engine import SQLITE_DATE_TAG
from ..models import Infusion, Patient, Staff, TherapySession, TreatmentSeries
from .settings import ProtocolConfig, load_settings

STALLED_AFTER_DAYS = 14
PREP_DUE_WITHIN_DAYS = 7

STATUS_ORDER = ("non_compliant", "at_risk", "on_track", "not_started", "compliant", "discontinued")
FLAG_ORDER = ("stalled", "prep_due", "unrecorded")
STATUS_LABELS = {
    "compliant": "Compliant",
    "on_track": "On track",
    "at_risk": "At risk",
    "non_compliant": "Not compliant",
    "not_started": "Not started",
    "discontinued": "Discontinued",
}
# The words every page, export and report uses; ui.theme adds icons and colours to them.
FLAG_LABELS = {"stalled": "Stalled", "prep_due": "Preparation due", "unrecorded": "Not recorded"}

# Only these statuses take part in any rule; cancelled and no-show rows are
# filtered out in SQL so they are never read.
_INFUSION_STATUSES = ("completed", "scheduled")
_SESSION_STATUSES = ("attended", "scheduled")
# Keeps IN (...) lists well below SQLite's parameter limit.
_CHUNK = 900


class SeriesRow(NamedTuple):
    id: int
    patient_pk: int
    patient_id: str
    therapist_id: int
    therapist_username: str
    number: int
    kind: str
    status: str
    planned_infusions: int


class InfusionRow(NamedTuple):
    date: date
    status: str


class SessionRow(NamedTuple):
    date: date
    kind: str
    status: str
    series_id: int | None = None  # set when pinned to a series


class SeriesCompliance(NamedTuple):
    """One series' compliance as of a date.

    A NamedTuple, not a dataclass: a clinic-wide report builds one per series,
    and a tuple is built in one step, read column by column in C (the CSV) and
    left alone by the garbage collector once it holds only dates, numbers and text.
    """
    series_id: int
    patient_pk: int
    patient_id: str
    therapist_id: int
    therapist_username: str
    series_number: int
    kind: str
    series_status: str
    infusions_completed: int
    infusions_planned: int
    first_infusion: date | None
    last_infusion: date | None
    next_infusion: date | None
    window_end: date | None
    preparation: str
    preparation_date: date | None
    integration_attended: int
    integration_upcoming: int
    integration_required: int
    unrecorded: int
    status: str
    flags: tuple[str, ...]
    reason: str
    is_current: bool
    last_completed_infusion: date | None


class InfusionSummary(NamedTuple):
    """What the rules need from a series' infusions (completed and scheduled only).

    Built by :func:`summarise_infusions` from rows, or by one GROUP BY in SQL
    (:func:`_summary_query`); the table-driven tests run both paths.
    """
    completed: int = 0
    first_completed: date | None = None
    last_completed: date | None = None
    first_booked: date | None = None  # earliest completed or scheduled
    last_booked: date | None = None  # latest completed or scheduled
    next_scheduled: date | None = None  # earliest scheduled on or after as_of
    stale: int = 0  # scheduled infusions dated before as_of


class _Dates(NamedTuple):
    first_infusion: date | None  # earliest completed
    first_booked: date | None  # earliest completed or scheduled: anchors preparation
    last_completed: date | None
    last_infusion: date | None
    window_end: date | None
    next_infusion: date | None
    completed: int
    stale: int  # scheduled infusions dated before as_of


def summarise_infusions(infusions: Iterable[tuple[date, str]], as_of: date) -> InfusionSummary:
    first = last_completed = last_any = first_booked = next_inf = None
    completed = stale = 0
    for day, st in infusions:
        if st == "completed":
            completed += 1
            if first is None or day < first:
                first = day
            if last_completed is None or day > last_completed:
                last_completed = day
        elif st == "scheduled":
            if day < as_of:
                stale += 1
            elif next_inf is None or day < next_inf:
                next_inf = day
        else:
            continue  # cancelled and no-show take part in no rule
        if first_booked is None or day < first_booked:
            first_booked = day
        if last_any is None or day > last_any:
            last_any = day
    return InfusionSummary(completed, first, last_completed, first_booked, last_any, next_inf,
                           stale)


def series_dates(status: str, summary: InfusionSummary, grace_days: int) -> _Dates:
    """A series' dates; ``summary`` is read by position (a plain tuple in
    InfusionSummary's field order works too)."""
    return _new_tuple(_Dates, _dates(status, summary, grace_days))


def _dates(status: str, summary: tuple, grace_days: int) -> tuple:
    """:func:`series_dates` as a plain tuple (one per series of a clinic: a
    plain tuple of dates is left alone by the garbage collector)."""
    completed, first_completed, last_completed, first_booked, last_booked, next_scheduled, \
        stale = summary
    # A discontinued series' window closes after its last completed infusion:
    # bookings left behind when it stopped must not keep it open.
    last = last_completed if status == "discontinued" else last_booked
    window_end = last + _days(grace_days) if last is not None else None
    return (first_completed, first_booked, last_completed, last, window_end, next_scheduled,
            completed, stale)


@lru_cache(maxsize=8)
def _days(n: int) -> timedelta:
    return timedelta(days=n)


class SessionBounds(NamedTuple):
    """Which of its patient's unpinned sessions a series owns, as date bounds.

    Preparation sessions dated in (prep_after, prep_until], integration
    sessions dated in [int_from, int_until] and after int_after; a bound of
    None on prep_until or int_from means none, on prep_after or int_after no
    lower limit. Built by :func:`session_bounds`: the assignment rule in one place.
    """
    prep_after: date | None
    prep_until: date | None
    int_after: date | None
    int_from: date | None
    int_until: date | None


def session_bounds(series: Sequence[tuple[int, int, _Dates]]) -> dict[int, SessionBounds]:
    """Bounds by series id, for one patient's series ``(id, number, dates)``.

    A preparation session belongs to the series whose first booked infusion is
    the first on or after its date, an integration session to the first window
    (by start, then series number) that holds its date. Sorted that way, each
    series owns what lies after the anchors, or beyond the windows, of the ones
    before it. A session that fits no series belongs to none.
    """
    prep: dict[int, tuple] = {}
    previous_anchor = None
    for anchor, _, sid in sorted((d.first_booked, num, sid) for sid, num, d in series
                                 if d.first_booked is not None):
        prep[sid] = (previous_anchor, anchor)
        previous_anchor = anchor
    integration: dict[int, tuple] = {}
    latest_end = None  # windows before this one start no later; a day beyond all their ends
    for start, _, end, sid in sorted((d.first_infusion, num, d.window_end, sid)
                                     for sid, num, d in series
                                     if d.first_infusion is not None
                                     and d.window_end is not None):
        integration[sid] = (latest_end, start, end)
        if latest_end is None or end > latest_end:
            latest_end = end
    return {sid: _new_tuple(SessionBounds, prep.get(sid, _NO_PREPARATION)
                            + integration.get(sid, _NO_INTEGRATION))
            for sid, _, _ in series}


_NO_PREPARATION = (None, None)
_NO_INTEGRATION = (None, None, None)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# SeriesCompliance's own __new__ is Python code run once per field list; the
# tuple's is not, and builds the same object from values in field order.
_new_tuple = tuple.__new__
_as_series_compliance = partial(tuple.__new__, SeriesCompliance)


# Bounds that hold every date: the sessions given are all the series' own.
_ALL_DATES = SessionBounds(None, date.max, None, date.min, date.max)


def evaluate_series(row: SeriesRow, dates: _Dates, sessions: Iterable[SessionRow],
                    as_of: date, config: ProtocolConfig, *,
                    is_current: bool = True) -> SeriesCompliance:
    """Apply the protocol rules to one series and the sessions assigned to it
    (every session given counts as the series' own)."""
    return _new_tuple(SeriesCompliance,
                      _series_values(row, dates, [(None, *s) for s in sessions], as_of, config,
                                     _ALL_DATES, is_current))


def _series_values(row: tuple, dates: tuple, sessions: Iterable[tuple], as_of: date,
                   config: ProtocolConfig, bounds: tuple, is_current: bool) -> tuple:
    """:func:`evaluate_series` as a plain tuple of SeriesCompliance's values.

    ``sessions`` may be all of the patient's, each a leading value (the
    patient's pk) then SessionRow's fields; the series counts those it owns:
    pinned to it, or unpinned within ``bounds`` (SessionBounds' fields, from
    :func:`session_bounds`). ``row`` and ``dates`` are read by position.

    A clinic-wide report keeps one per series: plain tuples of dates, numbers
    and text are dropped from the garbage collector's watch, a tuple subclass
    never is, and tens of thousands of those set off full collections.
    """
    sid, pk, chart, tid, user, number, kind, series_status, planned = row[:9]
    first, _, last_completed, last_infusion, window_end, next_infusion, completed, inf_stale = dates
    minimum = config.min_integration_sessions
    attended = upcoming = stale = 0
    met_date = booked_date = None  # latest met preparation, earliest bookable one
    prep_after, prep_until, int_after, int_from, int_until = bounds
    for _, day, s_kind, status, pinned in sessions:
        # Does this series own the session? (The assignment rule: session_bounds.)
        if pinned is None:
            if s_kind == "preparation":
                if (prep_until is None or day > prep_until
                        or (prep_after is not None and day <= prep_after)):
                    continue
            elif (int_from is None or day < int_from or day > int_until
                  or (int_after is not None and day <= int_after)):
                continue
        elif pinned != sid:
            continue
        if status == "scheduled" and day < as_of:
            stale += 1  # never recorded: counts as neither attended nor upcoming
        elif s_kind == "integration":
            if status == "attended":
                attended += 1
            elif status == "scheduled":
                upcoming += 1
        elif s_kind == "preparation":
            if status == "attended":
                if (first is None or day <= first) and (met_date is None or day > met_date):
                    met_date = day
            elif status == "scheduled":
                bound = first if first is not None else next_infusion
                if (bound is None or day <= bound) and (booked_date is None or day < booked_date):
                    booked_date = day
    if met_date is not None:
        preparation, preparation_date = "met", met_date
    elif booked_date is not None:
        preparation, preparation_date = "scheduled", booked_date
    else:
        preparation, preparation_date = "missing", None
    unrecorded = stale + inf_stale

    if series_status == "discontinued":
        status = "discontinued"
        reason = (f"Series discontinued after {completed} of "
                  f"{_plural(planned, 'planned infusion')}.")
    elif completed == 0:
        status = "not_started"
        reason = (f"No infusion completed yet; first infusion booked for {next_infusion}."
                  if next_infusion else "No infusion completed or booked yet.")
    elif preparation != "met":
        status = "non_compliant"
        reason = f"Infusion on {first} given without a preparation session on or before that day."
    else:
        integration = f"{attended} of {_plural(minimum, 'integration session')} attended"
        if attended >= minimum:
            status = "compliant"
            reason = f"Preparation on {preparation_date}; {integration}."
        elif as_of > window_end:
            status = "non_compliant"
            reason = (f"Fewer integration sessions than required: {integration}; "
                      f"window closed {window_end}.")
        else:
            status = "on_track" if attended + upcoming >= minimum else "at_risk"
            booked = "none booked" if upcoming == 0 else f"{upcoming} booked"
            reason = (f"{integration[0].upper()}{integration[1:]}, {booked}; "
                      f"window closes {window_end}.")

    flags: tuple[str, ...] = ()
    if (series_status == "active" and 0 < completed < planned
            and (as_of - last_completed).days > STALLED_AFTER_DAYS
            and next_infusion is None):
        flags += ("stalled",)
        reason += (f" Stalled: {completed} of {planned} infusions done, "
                   f"the last on {last_completed}, none booked.")
    if (status == "not_started" and next_infusion is not None
            and (next_infusion - as_of).days <= PREP_DUE_WITHIN_DAYS
            and preparation == "missing"):
        flags += ("prep_due",)
        reason += (f" Preparation due: first infusion on {next_infusion} "
                   "and no preparation session attended or booked.")
    if unrecorded:
        flags += ("unrecorded",)
        reason += (f" {_plural(unrecorded, 'past appointment')} still marked scheduled: "
                   "record whether it took place.")

    return (
        sid, pk, chart, tid, user, number, kind, series_status, completed, planned, first,
        last_infusion, next_infusion, window_end, preparation, preparation_date, attended,
        upcoming, minimum, unrecorded, status, flags, reason, is_current, last_completed)


def evaluate_patient(series: Sequence[SeriesRow],
                     infusions: Mapping[int, Iterable[tuple[date, str]]],
                     sessions: Iterable[SessionRow], as_of: date,
                     config: ProtocolConfig) -> list[SeriesCompliance]:
    """All series of one patient from plain rows; sessions are assigned across them first."""
    return evaluate_summarised(
        [(s, summarise_infusions(infusions.get(s.id, ()), as_of)) for s in series],
        sessions, as_of, config)


def evaluate_summarised(series: Sequence[tuple[SeriesRow, InfusionSummary]],
                        sessions: Iterable[SessionRow], as_of: date,
                        config: ProtocolConfig) -> list[SeriesCompliance]:
    """As :func:`evaluate_patient`, with each series' infusions already summarised."""
    out: list[tuple] = []
    _evaluate_loaded([(*row, row[0], *summary) for row, summary in series],
                     [(None, *s) for s in sessions], as_of, config, out)
    return list(map(_as_series_compliance, out))


def _evaluate_loaded(series: Sequence[tuple], sessions: Iterable[tuple], as_of: date,
                     config: ProtocolConfig, out: list[tuple]) -> None:
    """One patient's series as loaded, their values (as :func:`_series_values`
    gives them) appended to ``out``. Each series a SeriesRow's fields, the
    series id again, then an InfusionSummary's, in one flat tuple; sessions
    each the patient's pk then SessionRow's fields (read once when the
    patient has one series)."""
    grace = config.grace_days
    if len(series) == 1:
        # Most patients have one series: it owns every unpinned session
        # before its first booked infusion or within its window.
        row = series[0]
        d = _dates(row[7], row[_SUMMARY], grace)
        bounds = (None, d[1], None, d[0], d[4])  # SessionBounds' fields
        out.append(_series_values(row, d, sessions, as_of, config, bounds, True))
        return
    sessions = list(sessions)
    dated = [(row, series_dates(row[7], row[_SUMMARY], grace)) for row in series]
    bounds = session_bounds([(row[0], row[5], d) for row, d in dated])
    latest = max(row[5] for row in series)
    out += [_series_values(row, d, sessions, as_of, config, bounds[row[0]], row[5] == latest)
            for row, d in dated]


def attention_rank(sc: SeriesCompliance) -> tuple:
    """Sort key by need: non-compliant, at risk, stalled, preparation due, then
    the rest by next infusion; discontinued series last."""
    if sc.status == "non_compliant":
        bucket = 0
    elif sc.status == "at_risk":
        bucket = 1
    elif "stalled" in sc.flags:
        bucket = 2
    elif "prep_due" in sc.flags:
        bucket = 3
    elif sc.status == "discontinued":
        bucket = 5
    else:
        bucket = 4
    return (bucket, sc.next_infusion or date.max, sc.patient_id, sc.series_number)


def _chunks(ids: Sequence[int]) -> list[list[int]]:
    ids = sorted(set(ids))
    return [ids[i:i + _CHUNK] for i in range(0, len(ids), _CHUNK)]


def _dated(column, name: str):
    """``column`` labelled ``name``, read as a date by the SQLite driver itself
    (see db.engine.SQLITE_DATE_TAG)."""
    return column.label(name + _DATE_TAG_SUFFIX)


def _summary_query(as_of: date):
    """Per series, the InfusionSummary fields in one GROUP BY (as_of is a
    parameter: no date arithmetic in SQL)."""
    i = Infusion
    done = i.status == "completed"
    booked = i.status == "scheduled"
    return (select(i.series_id.label("series_id"),
                   func.count(case((done, 1))).label("completed"),
                   _dated(func.min(case((done, i.date))), "first_completed"),
                   _dated(func.max(case((done, i.date))), "last_completed"),
                   _dated(func.min(i.date), "first_booked"),
                   _dated(func.max(i.date), "last_booked"),
                   _dated(func.min(case((and_(booked, i.date >= as_of), i.date))),
                          "next_scheduled"),
                   func.count(case((and_(booked, i.date < as_of), 1))).label("stale"))
            .where(i.status.in_(_INFUSION_STATUSES))
            .group_by(i.series_id))


def _fetch_all(conn: Connection, stmt: Select) -> list[tuple]:
    """Every row of ``stmt`` as a plain tuple, values converted as SQLAlchemy would.

    Over a whole clinic, building SQLAlchemy Row objects cost more than the
    rules themselves, so the driver's own tuples are taken. Only the columns
    whose type has a result processor on this dialect are converted, with that
    processor (dates on SQLite, which stores them as ISO text, unless the
    driver converted them: SQLITE_DATE_TAG); on PostgreSQL the driver already
    returns dates and numbers and nothing is converted.
    """
    dialect = conn.dialect
    processors = [(i, proc) for i, col in enumerate(stmt.selected_columns)
                  if (proc := col.type.dialect_impl(dialect).result_processor(dialect, None))
                  is not None]
    result = conn.execute(stmt)
    try:
        rows = result.cursor.fetchall()
    finally:
        result.close()
    # A date column the SQLite driver converted already (SQLITE_DATE_TAG) is
    # left be; a connection made without the tag's converter gave ISO text.
    processors = [(i, proc) for i, proc in processors
                  if not stmt.selected_columns[i].name.endswith(_DATE_TAG_SUFFIX)
                  or _driver_gave_text(rows, i)]
    if processors and rows:
        # Column by column: map() and zip() run in C, a per-row rebuild would
        # not. (Not zip(*rows) to split them: that makes an iterator per row
        # for the garbage collector to watch.)
        columns: list = [map(itemgetter(i), rows) for i in range(len(rows[0]))]
        for i, proc in processors:
            columns[i] = map(proc, columns[i])
        rows = list(zip(*columns))
    return rows


_DATE_TAG_SUFFIX = f" [{SQLITE_DATE_TAG}]"


def _driver_gave_text(rows: list[tuple], i: int) -> bool:
    """Is column ``i``'s first value that is not NULL text?"""
    return next((type(row[i]) is str for row in rows if row[i] is not None), False)


def _load(session: Session, as_of: date, *, therapist_id: int | None = None,
          patient_ids: Sequence[int] | None = None, with_sessions: bool = True
          ) -> tuple[list[tuple], list[tuple]]:
    """Series in scope as flat tuples (SeriesRow's fields, the series id again,
    then InfusionSummary's: see _SUMMARY), and sessions as (patient pk, then SessionRow's fields).

    Three queries per scope (per chunk of patient ids): the series, a GROUP BY
    summary of their infusions, then the attended and scheduled sessions.
    Cancelled and no-show rows are never read. The summaries are joined to
    their series here, not in SQL: SQLite materialises and indexes a joined
    aggregate, which cost more than the aggregate itself.
    """
    summary = _summary_query(as_of)
    series_q = (select(TreatmentSeries.id, TreatmentSeries.patient_id, Patient.patient_id,
                       Patient.therapist_id, Staff.username, TreatmentSeries.number,
                       TreatmentSeries.kind, TreatmentSeries.status,
                       TreatmentSeries.planned_infusions)
                .join(Patient, Patient.id == TreatmentSeries.patient_id)
                .join(Staff, Staff.id == Patient.therapist_id))
    ses_q = (select(TherapySession.patient_id, _dated(TherapySession.date, "date"),
                    TherapySession.kind,
                    TherapySession.status, TherapySession.series_id)
             .where(TherapySession.status.in_(_SESSION_STATUSES)))

    if patient_ids is not None:
        scopes = []
        for chunk in _chunks(patient_ids):
            scopes.append((series_q.where(TreatmentSeries.patient_id.in_(chunk)),
                           summary.join(TreatmentSeries, TreatmentSeries.id == Infusion.series_id)
                                  .where(TreatmentSeries.patient_id.in_(chunk)),
                           ses_q.where(TherapySession.patient_id.in_(chunk))))
    elif therapist_id is not None:
        scopes = [(series_q.where(Patient.therapist_id == therapist_id),
                   summary.join(TreatmentSeries, TreatmentSeries.id == Infusion.series_id)
                          .join(Patient, Patient.id == TreatmentSeries.patient_id)
                          .where(Patient.therapist_id == therapist_id),
                   ses_q.join(Patient, Patient.id == TherapySession.patient_id)
                        .where(Patient.therapist_id == therapist_id))]
    else:
        scopes = [(series_q, summary, ses_q)]

    series: list[tuple] = []
    sessions: list[tuple] = []
    conn = session.connection()
    for sq, aq, tq in scopes:
        rows = _fetch_all(conn, sq)
        summaries = {summary[0]: summary for summary in _fetch_all(conn, aq)}
        # A series with no infusion booked has no summary row.
        series += [row + summaries.get(row[0], _NO_INFUSIONS) for row in rows]
        if with_sessions:
            sessions += _fetch_all(conn, tq)
    return series, sessions


_NO_INFUSIONS = (None, *InfusionSummary())
# In a loaded series row, InfusionSummary's fields: after SeriesRow's nine and
# the summary row's series id.
_SUMMARY = slice(10, None)


def load_rows(session: Session, as_of: date, *, therapist_id: int | None = None,
              patient_ids: Sequence[int] | None = None, with_sessions: bool = True
              ) -> tuple[list[tuple[SeriesRow, InfusionSummary]], dict[int, list[SessionRow]]]:
    """Series in scope with their infusion summaries, and sessions by patient pk."""
    series, session_rows = _load(session, as_of, therapist_id=therapist_id,
                                 patient_ids=patient_ids, with_sessions=with_sessions)
    sessions: dict[int, list[SessionRow]] = defaultdict(list)
    for pk, day, kind, status, pinned in session_rows:
        sessions[pk].append((day, kind, status, pinned))  # SessionRow's fields
    return ([(SeriesRow(*row[:9]), InfusionSummary(*row[_SUMMARY])) for row in series],
            sessions)


def compute_compliance(session: Session, as_of: date, *, therapist_id: int | None = None,
                       patient_ids: Sequence[int] | None = None,
                       settings: ProtocolConfig | None = None) -> list[SeriesCompliance]:
    """Compliance of every series in scope (one therapist's patients, a list of
    patient pks, or the whole clinic), ordered by chart number and series number."""
    return list(map(_as_series_compliance,
                    compliance_values(session, as_of, therapist_id=therapist_id,
                                      patient_ids=patient_ids, settings=settings)))


def compliance_values(session: Session, as_of: date, *, therapist_id: int | None = None,
                      patient_ids: Sequence[int] | None = None,
                      settings: ProtocolConfig | None = None) -> list[tuple]:
    """:func:`compute_compliance` as plain tuples of SeriesCompliance's values,
    in its field order: what a clinic-wide export reads, column by column."""
    config = settings or load_settings(session)
    series, sessions = _load(session, as_of, therapist_id=therapist_id,
                             patient_ids=patient_ids)
    # Both sorted by patient and walked side by side, group by group: nothing
    # per patient outlives its turn. (Over a whole clinic, lists of sessions
    # by patient set off full garbage collections.)
    series.sort(key=_series_patient)
    sessions.sort(key=_session_patient)
    out: list[tuple] = []
    session_groups = groupby(sessions, _session_patient)
    session_pk, group = next(session_groups, (None, ()))
    no_sessions: tuple = ()
    for pk, rows in groupby(series, _series_patient):
        while session_pk is not None and session_pk < pk:  # sessions of no series
            session_pk, group = next(session_groups, (None, ()))
        if session_pk == pk:
            _evaluate_loaded(list(rows), group, as_of, config, out)
            session_pk, group = next(session_groups, (None, ()))
        else:
            _evaluate_loaded(list(rows), no_sessions, as_of, config, out)
    out.sort(key=_report_order)
    return out


_series_patient = itemgetter(1)  # SeriesRow.patient_pk
_session_patient = itemgetter(0)
_report_order = itemgetter(SeriesCompliance._fields.index("patient_id"),
                           SeriesCompliance._fields.index("series_number"))


def latest_started_windows(session: Session, *, therapist_id: int | None = None,
                           patient_ids: Sequence[int] | None = None, as_of: date,
                           settings: ProtocolConfig | None = None
                           ) -> dict[int, tuple[date, date]]:
    """Patient pk -> (first_infusion, window_end) of the patient's latest series
    that has a completed infusion; what habit adherence compares "during" and "after"."""
    config = settings or load_settings(session)
    series, _ = load_rows(session, as_of, therapist_id=therapist_id,
                          patient_ids=patient_ids, with_sessions=False)
    best: dict[int, tuple[int, date, date]] = {}
    for s, summary in series:
        d = series_dates(s.status, summary, config.grace_days)
        if d.first_infusion is None or d.window_end is None:
            continue
        if s.patient_pk not in best or s.number > best[s.patient_pk][0]:
            best[s.patient_pk] = (s.number, d.first_infusion, d.window_end)
    return {pk: (first, end) for pk, (_, first, end) in best.items()}
