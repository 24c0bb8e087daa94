"""The audit trail, read back: filtered, newest first, one page at a time.

Dates are the clinic's calendar days in UTC (the trail is stored in UTC); the
bounds are computed here and passed as parameters so both databases agree.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Select, exists, func, literal, select
from sqlalchemy.orm import Session

from ..models import AuditEvent, Staff

MAX_PAGE_SIZE = 500
# An export walks the trail in slices of this many rows, so memory stays flat.
EXPORT_BATCH = 2_000
# Actors that are not staff accounts but that the user filter offers.
SYSTEM_ACTORS = ("cli", "demo")


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    patient_ref: str | None = None
    action: str | None = None
    start: date | None = None  # inclusive
    end: date | None = None  # inclusive

    def describe(self) -> dict[str, str]:
        """The filters in force, for the audit event of an export.

        Prefixed so they never clash with the event's own ``action`` and
        ``patient_ref`` fields.
        """
        return {f"filter_{k}": str(v) for k, v in vars(self).items() if v not in (None, "")}


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: datetime
    actor: str
    action: str
    patient_ref: str | None
    detail: str  # compact one-line text of the stored JSON


@dataclass(frozen=True)
class AuditPage:
    rows: list[AuditRow]
    total: int
    page: int  # 1-based
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _filtered(query: Select, f: AuditFilter) -> Select:
    if f.actor:
        query = query.where(AuditEvent.actor == f.actor.strip())
    if f.patient_ref:
        query = query.where(AuditEvent.patient_ref == f.patient_ref.strip())
    if f.action:
        query = query.where(AuditEvent.action == f.action.strip())
    if f.start:
        query = query.where(AuditEvent.at >= _day_start(f.start))
    if f.end:
        query = query.where(AuditEvent.at < _day_start(f.end + timedelta(days=1)))
    return query


# Minimum necessary: who reads the values in an event's detail. The medical
# director reads the whole trail. Anyone else (the admin, who never sees a
# record) reads who did what, when and to which chart, and of an event about a
# patient only the names of the fields it changed (never a name, a date of
# birth, intentions, a score or a date of care), plus the keys below, which say
# how and why. Free text a user typed into a list filter is hidden from them too.
# One rule, for the Audit log page and its CSV alike (``reader_role``).
DETAIL_VALUE_ROLES = frozenset({"medical_director"})
PATIENT_EVENT_OPEN_KEYS = frozenset({
    "page", "route", "reason", "what", "list", "rows", "role", "patient_pk", "session_id",
    "series_id", "infusion_id", "measure_id", "habit_id", "sessions_moved",
})
TYPED_TEXT_KEYS = frozenset({"search"})
HIDDEN = "(hidden)"


def reads_values(reader_role: str | None) -> bool:
    return reader_role in DETAIL_VALUE_ROLES


def visible_detail(detail: dict, *, about_patient: bool, reader_role: str | None) -> dict:
    """The part of an event's detail that ``reader_role`` may read (see above)."""
    if reads_values(reader_role):
        return detail
    shown: dict = {}
    before, after = detail.get("before"), detail.get("after")
    changes = isinstance(before, dict) or isinstance(after, dict)
    if changes and about_patient:
        old = before if isinstance(before, dict) else {}
        new = after if isinstance(after, dict) else {}
        shown["changed"] = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
    for key, value in detail.items():
        if changes and about_patient and key in ("before", "after"):
            continue
        hidden = (key in TYPED_TEXT_KEYS
                  or (about_patient and key not in PATIENT_EVENT_OPEN_KEYS))
        shown[key] = HIDDEN if hidden else value
    return shown


def _detail_text(raw: str, *, about_patient: bool = False,
                 reader_role: str | None = None) -> str:
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return raw if reads_values(reader_role) else HIDDEN
    if isinstance(value, dict):
        value = visible_detail(value, about_patient=about_patient, reader_role=reader_role)
        return "; ".join(f"{k}: {json.dumps(v) if isinstance(v, dict | list) else v}"
                         for k, v in value.items())
    return str(value) if reads_values(reader_role) else HIDDEN


def _row(event: AuditEvent, reader_role: str | None = None) -> AuditRow:
    at = event.at if event.at.tzinfo else event.at.replace(tzinfo=UTC)  # SQLite drops the zone
    return AuditRow(event.id, at.astimezone(UTC), event.actor, event.action, event.patient_ref,
                    _detail_text(event.detail, about_patient=event.patient_ref is not None,
                                 reader_role=reader_role))


def search(session: Session, f: AuditFilter, *, page: int = 1, page_size: int = 50,
           reader_role: str | None = None) -> AuditPage:
    """One page of the events matching ``f``, newest first, and how many match;
    details as ``reader_role`` may read them (by default: without values)."""
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    total = session.scalar(_filtered(select(func.count()).select_from(AuditEvent), f)) or 0
    pages = max(1, -(-total // page_size))
    page = max(1, min(page, pages))
    q = (_filtered(select(AuditEvent), f)
         .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
         .offset((page - 1) * page_size).limit(page_size))
    return AuditPage([_row(e, reader_role) for e in session.scalars(q)], total, page,
                     page_size)


def iter_events(session: Session, f: AuditFilter, *,
                reader_role: str | None = None) -> Iterator[AuditRow]:
    """Every event matching ``f``, newest first, read in batches (for exports);
    details as in :func:`search`."""
    last: tuple[datetime, int] | None = None
    while True:
        q = _filtered(select(AuditEvent), f)
        if last is not None:
            # Keyset paging: stable while new events arrive, and no deep OFFSET.
            at, eid = last
            q = q.where((AuditEvent.at < at) | ((AuditEvent.at == at) & (AuditEvent.id < eid)))
        batch = list(session.scalars(q.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
                                     .limit(EXPORT_BATCH)))
        if not batch:
            return
        for e in batch:
            yield _row(e, reader_role)
        last = (batch[-1].at, batch[-1].id)


def filter_options(session: Session) -> tuple[list[str], list[str]]:
    """The users and the actions that appear in the trail, sorted, for the filters.

    Users are real staff accounts (and the command line's and demo's names)
    with at least one event: a name typed at sign-in is never offered, so a
    flood of made-up names cannot bury the list. One probe per account, on the
    (actor, at) index, however long the trail.
    """
    names = select(Staff.username.label("actor")).union(
        *(select(literal(name).label("actor")) for name in SYSTEM_ACTORS)).subquery()
    actors = list(session.scalars(
        select(names.c.actor)
        .where(exists(select(AuditEvent.id).where(AuditEvent.actor == names.c.actor)))
        .order_by(names.c.actor)))
    actions = list(session.scalars(select(AuditEvent.action).distinct()
                                   .order_by(AuditEvent.action)))
    return actors, actions


def export_rows(rows: Iterator[AuditRow]) -> Iterator[dict[str, object]]:
    """Rows for a CSV export, in a fixed column order."""
    for r in rows:
        yield {"at_utc": r.at.isoformat(timespec="seconds"), "user": r.actor, "action": r.action,
               "patient": r.patient_ref or "", "detail": r.detail}
