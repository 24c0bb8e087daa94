"""The audit trail: one function writes every event, in the caller's transaction."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from .models import AuditEvent


def utcnow() -> datetime:
    return datetime.now(UTC)


def record(
    session: Session,
    actor: str,
    action: str,
    patient_ref: str | None = None,
    **detail: Any,
) -> AuditEvent:
    """Add an audit event to ``session``; it is written when the caller commits.

    Writing in the caller's transaction means a change and its audit event are
    saved together or not at all.
    """
    event = AuditEvent(
        at=utcnow(),
        actor=actor,
        action=action,
        patient_ref=patient_ref,
        detail=json.dumps(detail, default=str, sort_keys=True),
    )
    session.add(event)
    return event
