"""What every recording function shares: who may write, how a save fails, and
the one transaction each save runs in.

Every public write in ``db.recording`` is one unit of work: it validates, checks
access, writes the change and its audit event, and commits; on any failure it
rolls back, so nothing is ever half-saved.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from .. import audit, clock
from ..models import Patient
from ..queries.patient import can_view
from ..text_rules import control_character_problem

T = TypeVar("T")

# Roles that record care; whose patients they may touch is ``can_view``'s rule.
RECORDING_ROLES = ("therapist", "medical_director")


class ActorLike(Protocol):
    """The signed-in user: ``ui.access.CurrentUser`` fits, so does :class:`Actor`."""

    id: int
    username: str
    role: str


@dataclass(frozen=True)
class Actor:
    id: int
    username: str
    role: str


class ValidationError(ValueError):
    """Values a user must fix; ``errors`` maps each field to a plain sentence."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


class RecordChanged(RuntimeError):
    """Someone else saved this record since the form was loaded.

    ``current`` holds the record's values as they are now (None when it was
    removed), so the form can show them instead of overwriting them.
    """

    def __init__(self, what: str, current: dict[str, Any] | None) -> None:
        self.what = what
        self.current = current
        super().__init__(
            f"This {what} was changed by someone else since you opened it. "
            "Its current values are shown; check them and save again if needed."
        )


class AccessDenied(PermissionError):
    """The user may not change this record (not their patient, or not their role)."""

    def __init__(self, message: str, patient_ref: str | None = None) -> None:
        self.patient_ref = patient_ref
        super().__init__(message)


class Errors:
    """Collects field messages so a form shows them all at once."""

    def __init__(self) -> None:
        self.items: dict[str, str] = {}

    def add(self, field: str, message: str) -> None:
        self.items.setdefault(field, message)

    def __contains__(self, field: str) -> bool:
        return field in self.items

    def raise_if_any(self) -> None:
        if self.items:
            raise ValidationError(self.items)


def fmt_day(d: date) -> str:
    """A date as a clinician reads it: 'Mon 7 Dec 2026'."""
    return f"{d:%a} {d.day} {d:%b %Y}"


def check_required_text(errors: Errors, field: str, value: str, *, empty: str, max_chars: int,
                        noun: str, multiline: bool = False) -> bool:
    """A field that must hold some text, at most ``max_chars`` long, without control
    characters; ``empty`` says what to enter, ``noun`` names the field ('The name ...').
    False when a message was added, so a caller checks duplicates only on good text."""
    if not value:
        errors.add(field, empty)
    elif len(value) > max_chars:
        errors.add(field, f"At most {max_chars} characters.")
    elif problem := control_character_problem(value, multiline=multiline):
        errors.add(field, f"The {noun} {problem}.")
    else:
        return True
    return False


def check_not_future(errors: Errors, field: str, d: date | None, what: str) -> None:
    """``what`` names the record, e.g. 'an attended session'."""
    today = clock.today()
    if d is not None and d > today:
        errors.add(field, f"{fmt_day(d)} is in the future: {what} can only be recorded once "
                          f"it has happened (today is {fmt_day(today)}).")


# How far ahead a date may be booked or planned: anything later is a mistyped year
# (the form's date field takes any year, so this is the only bound).
YEARS_AHEAD = 2


def latest_ahead() -> date:
    today = clock.today()
    try:
        return today.replace(year=today.year + YEARS_AHEAD)
    except ValueError:  # 29 February
        return today.replace(year=today.year + YEARS_AHEAD, day=28)


def check_not_too_far(errors: Errors, field: str, d: date | None) -> None:
    """A date at most ``YEARS_AHEAD`` years from today."""
    latest = latest_ahead()
    if d is not None and d > latest:
        errors.add(field, f"{fmt_day(d)} is more than {YEARS_AHEAD} years ahead: check the year "
                          f"(the latest is {fmt_day(latest)}).")


def check_not_before_intake(errors: Errors, field: str, d: date | None, patient: Patient) -> None:
    if d is not None and d < patient.intake_date:
        errors.add(field, f"{fmt_day(d)} is before this patient's intake on "
                          f"{fmt_day(patient.intake_date)}.")


def check_role(actor: ActorLike, roles: tuple[str, ...], doing: str) -> None:
    if actor.role not in roles:
        raise AccessDenied(f"Your role may not {doing}.")


def check_patient_access(session: Session, actor: ActorLike, patient: Patient) -> None:
    """Write to a patient only where the record may be read (``can_view``):
    therapists their own patients, the medical director any."""
    check_role(actor, RECORDING_ROLES, "record care")
    if not can_view(session, actor.role, actor.id, patient):
        raise AccessDenied("This patient is not on your caseload.", patient.patient_id)


def load_row(session: Session, model: type[T], pk: int, what: str) -> T:
    """The row fresh from the database: a copy the session already holds may be
    older than a save made meanwhile by someone else, and checks must see theirs."""
    row = session.get(model, pk, populate_existing=True)
    if row is None:
        raise ValidationError({what: f"This {what} no longer exists."})
    return row


def reloader(model: type[T], pk: int,
             snapshot: Callable[[T], dict[str, Any]]) -> Callable[[Session], dict[str, Any] | None]:
    """``unit_of_work``'s ``reload``: the row's values as they are now, None once removed."""
    def reload(session: Session) -> dict[str, Any] | None:
        row = session.get(model, pk, populate_existing=True)
        return None if row is None else snapshot(row)
    return reload


def load_patient(session: Session, actor: ActorLike, patient_pk: int) -> Patient:
    """The patient, fresh from the database, once the actor may write to them."""
    check_role(actor, RECORDING_ROLES, "record care")
    patient = load_row(session, Patient, patient_pk, "patient")
    check_patient_access(session, actor, patient)
    return patient


def values(row: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    """The named attributes of a row as plain values, for audit and RecordChanged."""
    return {f: getattr(row, f) for f in fields}


def check_version(what: str, row: Any, expected_version: int | None,
                  snapshot: Callable[[Any], dict[str, Any]]) -> None:
    """Refuse a save made from a form older than the row it would overwrite."""
    if expected_version is not None and row.version != expected_version:
        raise RecordChanged(what, snapshot(row))


@contextmanager
def unit_of_work(session: Session, actor: ActorLike, what: str,
                 reload: Callable[[Session], dict[str, Any] | None] | None = None,
                 duplicate: tuple[str, str] | None = None) -> Iterator[None]:
    """Run one save as one transaction: commit on success, roll back on any failure.

    A concurrent save caught at the UPDATE itself (``StaleDataError``) becomes
    :class:`RecordChanged` with the fresh values; a refusal is audited on its own
    after the rollback, so the trail shows attempts that wrote nothing.
    """
    try:
        yield
        session.flush()
        session.commit()
    except StaleDataError:
        session.rollback()
        raise RecordChanged(what, reload(session) if reload else None) from None
    except IntegrityError as exc:
        session.rollback()
        if duplicate and unique_violation(exc):
            raise ValidationError({duplicate[0]: duplicate[1]}) from None
        raise
    except AccessDenied as denied:
        session.rollback()
        audit.record(session, actor.username, "record.refused", denied.patient_ref,
                     what=what, reason=str(denied))
        session.commit()
        raise
    except BaseException:
        session.rollback()
        raise


def unique_violation(exc: IntegrityError) -> bool:
    """True when the database refused a duplicate (a race the form's check lost)."""
    text = str(exc.orig).lower()
    return "unique" in text or "duplicate" in text
