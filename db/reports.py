"""`python -m db report`: the protocol reports as CSV or JSON.

The row builders here are what the app's exports call too, so a report and a
dashboard download of the same thing hold the same rows.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from operator import itemgetter
from typing import IO, Any

from sqlalchemy.orm import Session

from .csv_safety import write_csv, write_csv_columns
from .protocol import (
    DEFAULT_WEEKS,
    ProtocolConfig,
    SeriesCompliance,
    compliance_values,
    compute_compliance,
    habit_adherence,
    outcome_summaries,
)

COMPLIANCE_COLUMNS = (
    "patient_id", "series", "kind", "therapist", "series_status", "infusions_completed",
    "infusions_planned", "first_infusion", "last_infusion", "next_infusion", "preparation",
    "preparation_date", "integration_attended", "integration_upcoming", "integration_required",
    "unrecorded", "window_end", "status", "flags", "reason",
)
ADHERENCE_COLUMNS = (
    "patient_id", "habit", "target_per_week", "start_date", "end_date", "weeks_counted",
    "adherence_pct", "streak_weeks", "during_series_pct", "after_series_pct",
)
OUTCOME_COLUMNS = (
    "patient_id", "instrument", "baseline", "baseline_date", "latest", "latest_date", "change",
    "band", "response", "remission", "worsening", "n_scores",
)
KINDS = ("compliance", "adherence", "outcomes")


# Report column -> SeriesCompliance attribute, in column order.
_COMPLIANCE_ATTRS = {
    "patient_id": "patient_id", "series": "series_number", "kind": "kind",
    "therapist": "therapist_username", "series_status": "series_status",
    "infusions_completed": "infusions_completed", "infusions_planned": "infusions_planned",
    "first_infusion": "first_infusion", "last_infusion": "last_infusion",
    "next_infusion": "next_infusion", "preparation": "preparation",
    "preparation_date": "preparation_date", "integration_attended": "integration_attended",
    "integration_upcoming": "integration_upcoming",
    "integration_required": "integration_required", "unrecorded": "unrecorded",
    "window_end": "window_end", "status": "status", "flags": "flags", "reason": "reason",
}
assert tuple(_COMPLIANCE_ATTRS) == COMPLIANCE_COLUMNS


# SeriesCompliance is a NamedTuple: its fields are read by position, in C.
_COMPLIANCE_POSITIONS = [SeriesCompliance._fields.index(a) for a in _COMPLIANCE_ATTRS.values()]
_pick_compliance = itemgetter(*_COMPLIANCE_POSITIONS)
_COMPLIANCE_GETTERS = [itemgetter(i) for i in _COMPLIANCE_POSITIONS]


def compliance_table(session: Session, as_of: date, *, therapist_id: int | None = None,
                     patient_ids: Sequence[int] | None = None,
                     settings: ProtocolConfig | None = None) -> list[tuple[Any, ...]]:
    """One tuple per series, values in COMPLIANCE_COLUMNS order; flags as a tuple."""
    return list(map(_pick_compliance,
                    compute_compliance(session, as_of, therapist_id=therapist_id,
                                       patient_ids=patient_ids, settings=settings)))


def compliance_rows(session: Session, as_of: date, *, therapist_id: int | None = None,
                    patient_ids: Sequence[int] | None = None,
                    settings: ProtocolConfig | None = None) -> list[dict[str, Any]]:
    """One dict per series, keys COMPLIANCE_COLUMNS; flags as a list."""
    rows = []
    for values in compliance_table(session, as_of, therapist_id=therapist_id,
                                   patient_ids=patient_ids, settings=settings):
        row = dict(zip(COMPLIANCE_COLUMNS, values))
        row["flags"] = list(row["flags"])
        rows.append(row)
    return rows


def adherence_rows(session: Session, as_of: date, *, weeks: int = DEFAULT_WEEKS,
                   therapist_id: int | None = None,
                   patient_ids: Sequence[int] | None = None) -> list[dict[str, Any]]:
    return [
        {
            "patient_id": h.patient_id, "habit": h.habit, "target_per_week": h.target_per_week,
            "start_date": h.start_date, "end_date": h.end_date, "weeks_counted": h.weeks_counted,
            "adherence_pct": h.adherence_pct, "streak_weeks": h.streak_weeks,
            "during_series_pct": h.during_series_pct, "after_series_pct": h.after_series_pct,
        }
        for h in habit_adherence(session, as_of, weeks=weeks, therapist_id=therapist_id,
                                 patient_ids=patient_ids)
    ]


def outcome_rows(session: Session, as_of: date, *, therapist_id: int | None = None,
                 patient_ids: Sequence[int] | None = None) -> list[dict[str, Any]]:
    return [
        {
            "patient_id": o.patient_id, "instrument": o.instrument, "baseline": o.baseline,
            "baseline_date": o.baseline_date, "latest": o.latest, "latest_date": o.latest_date,
            "change": o.change, "band": o.band, "response": o.response,
            "remission": o.remission, "worsening": o.worsening, "n_scores": o.n_scores,
        }
        for o in outcome_summaries(session, as_of, therapist_id=therapist_id,
                                   patient_ids=patient_ids)
    ]


def _json_default(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def rows_for(session: Session, kind: str, *, as_of: date,
             weeks: int = DEFAULT_WEEKS) -> tuple[list[dict[str, Any]], tuple[str, ...]]:
    if kind == "compliance":
        return compliance_rows(session, as_of), COMPLIANCE_COLUMNS
    if kind == "adherence":
        return adherence_rows(session, as_of, weeks=weeks), ADHERENCE_COLUMNS
    if kind == "outcomes":
        return outcome_rows(session, as_of), OUTCOME_COLUMNS
    raise ValueError(f"unknown report {kind!r}; choose one of {', '.join(KINDS)}")


def run(session: Session, kind: str, *, as_of: date, fmt: str = "csv",
        weeks: int = DEFAULT_WEEKS, out: IO[str]) -> int:
    """Write report ``kind`` to ``out``; returns the number of rows.

    CSV has a header row even when there are no rows; JSON is a list of objects
    with ISO dates and flags as a list.
    """
    if fmt == "csv" and kind == "compliance":
        # Straight from the engine's results to the file, column by column: a
        # clinic-wide report has one row per series, and rows in between
        # (dicts above all) cost more than the rules.
        series = compliance_values(session, as_of)
        write_csv_columns([list(map(get, series)) for get in _COMPLIANCE_GETTERS], out,
                          COMPLIANCE_COLUMNS)
        return len(series)
    rows, columns = rows_for(session, kind, as_of=as_of, weeks=weeks)
    if fmt == "csv":
        write_csv(rows, out, columns)
    elif fmt == "json":
        json.dump(rows, out, default=_json_default, indent=1)
        out.write("\n")
    else:
        raise ValueError(f"unknown format {fmt!r}; choose csv or json")
    return len(rows)
