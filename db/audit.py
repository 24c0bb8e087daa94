"""The audit trail: one function writes every event, in the caller's transaction."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from .models import AuditEvent
from .text_rules import storable_identifier


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
    # A refusal of a bad identifier is audited with it shown, never lost to a
    # database error (a NUL, or longer than the column; issue 15).
    event = AuditEvent(
        at=utcnow(),
        actor=storable_identifier(actor),
        action=action,
        patient_ref=storable_identifier(patient_ref),
        detail=json.dumps(detail, default=str, sort_keys=True),
    )
    session.add(event)
    return event
