"""Server-side sign-in state: revocable sessions, throttling, idle logoff.

Plain Python over the database, so every app server sharing it agrees.
(Filled in by the app-shell work; ``end_user_sessions`` is used by db.staff.)
"""
from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from .audit import utcnow
from .models import AuthSession


def end_user_sessions(session: Session, staff_id: int, reason: str) -> int:
    """End every open sign-in session of one user; returns how many ended."""
    result = session.execute(
        update(AuthSession)
        .where(AuthSession.staff_id == staff_id, AuthSession.ended_at.is_(None))
        .values(ended_at=utcnow(), end_reason=reason)
    )
    return result.rowcount or 0
