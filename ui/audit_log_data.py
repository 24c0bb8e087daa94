"""Reads for the Audit log page, each in its own short session.

The page wires widgets to these; what a reader may see of an event's detail is
decided in ``db.queries.audit_log`` (``reader_role``). Not cached: the trail
is read as it is at each run.
"""
from __future__ import annotations

from db.queries import audit_log
from ui.database import db_session


def filter_options() -> tuple[list[str], list[str]]:
    """The users (staff accounts with events) and the actions the filters offer."""
    with db_session() as session:
        return audit_log.filter_options(session)


def search(flt: audit_log.AuditFilter, *, page: int, page_size: int,
           reader_role: str) -> audit_log.AuditPage:
    """One page of the events matching ``flt``, details as ``reader_role`` may read them."""
    with db_session() as session:
        return audit_log.search(session, flt, page=page, page_size=page_size,
                                reader_role=reader_role)
