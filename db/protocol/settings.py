"""Protocol settings: the integration minimum, the grace window and the default
series length, kept in the single ``protocol_settings`` row.

Every rule reads them through :func:`load_settings`; only the medical director's
page changes them, through :func:`update_settings`, which refuses to overwrite a
save it has not seen (optimistic locking on the row's ``version``).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from .. import audit
from ..limits import (
    DEFAULT_GRACE_DAYS,
    DEFAULT_MIN_INTEGRATION_SESSIONS,
    DEFAULT_PLANNED_INFUSIONS,
    GRACE_DAYS,
    MIN_INTEGRATION_SESSIONS,
    PLANNED_INFUSIONS,
)
from ..models import ProtocolSettings


@dataclass(frozen=True)
class ProtocolConfig:
    min_integration_sessions: int = DEFAULT_MIN_INTEGRATION_SESSIONS
    grace_days: int = DEFAULT_GRACE_DAYS
    default_planned_infusions: int = DEFAULT_PLANNED_INFUSIONS
    version: int = 1


# Inclusive ranges (db.limits, from which the CHECK constraints on protocol_settings
# are built too), so a user hears a plain sentence instead of a database error.
LIMITS: dict[str, tuple[int, int]] = {
    "min_integration_sessions": MIN_INTEGRATION_SESSIONS,
    "grace_days": GRACE_DAYS,
    "default_planned_infusions": PLANNED_INFUSIONS,
}

LABELS = {
    "min_integration_sessions": "minimum integration sessions",
    "grace_days": "grace days",
    "default_planned_infusions": "default planned infusions",
}


class SettingsError(ValueError):
    """A value out of range or a setting that does not exist, in plain words;
    ``errors`` holds one message per setting at fault, for the form to show
    beside each field."""

    def __init__(self, message: str, errors: dict[str, str] | None = None) -> None:
        self.errors = errors or {}
        super().__init__(message)


class SettingsConflict(RuntimeError):
    """Someone else saved the settings since this form was loaded."""


def _config(row: ProtocolSettings) -> ProtocolConfig:
    return ProtocolConfig(
        min_integration_sessions=row.min_integration_sessions,
        grace_days=row.grace_days,
        default_planned_infusions=row.default_planned_infusions,
        version=row.version,
    )


def load_settings(session: Session) -> ProtocolConfig:
    """The clinic's settings; the defaults when the row is missing."""
    row = session.get(ProtocolSettings, 1, populate_existing=True)
    return ProtocolConfig() if row is None else _config(row)


def validate(changes: dict[str, object]) -> dict[str, int]:
    """The changes as ints, or SettingsError naming every bad value."""
    problems: dict[str, str] = {}
    clean: dict[str, int] = {}
    for key, value in changes.items():
        if key not in LIMITS:
            problems[key] = f"{key}: not a protocol setting"
            continue
        low, high = LIMITS[key]
        # bool is an int in Python; a tick box must not become "1 session".
        if isinstance(value, bool) or not isinstance(value, int):
            problems[key] = f"{LABELS[key]}: must be a whole number"
        elif not low <= value <= high:
            problems[key] = f"{LABELS[key]}: must be between {low} and {high}"
        else:
            clean[key] = value
    if problems:
        raise SettingsError("; ".join(problems.values()), problems)
    return clean


def update_settings(session: Session, actor: str, expected_version: int,
                    **changes: object) -> ProtocolConfig:
    """Apply ``changes`` if nobody saved since ``expected_version``; the caller commits.

    Raises SettingsError for bad values (nothing is changed) and SettingsConflict
    when the row's version moved on, both before writing and, for a save that
    lands between our read and our write, at the UPDATE itself.
    """
    clean = validate(changes)
    row = session.get(ProtocolSettings, 1, populate_existing=True)
    if row is None:
        defaults = ProtocolConfig()
        row = ProtocolSettings(id=1, min_integration_sessions=defaults.min_integration_sessions,
                               grace_days=defaults.grace_days,
                               default_planned_infusions=defaults.default_planned_infusions)
        session.add(row)
        session.flush()
    if row.version != expected_version:
        raise SettingsConflict(
            "the protocol settings were changed by someone else since you opened them; "
            "reload to see their values"
        )
    before = _config(row)
    for key, value in clean.items():
        setattr(row, key, value)
    if session.is_modified(row):
        row.updated_at = audit.utcnow()
        row.updated_by = actor
    try:
        session.flush()
    except StaleDataError:
        session.rollback()
        raise SettingsConflict(
            "the protocol settings were changed by someone else while you saved; "
            "reload to see their values"
        ) from None
    after = _config(row)
    audit.record(session, actor, "protocol_settings.update",
                 before={k: v for k, v in asdict(before).items()},
                 after={k: v for k, v in asdict(after).items()})
    return after
