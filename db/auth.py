"""Server-side sign-in state: revocable sessions, throttling, idle logoff.

Plain Python over the database, so every app server sharing it agrees. The
Streamlit side (``ui.session``) only moves tokens between the browser and
these functions.

Rules kept here, and only here:

- Throttling: ``LOCK_THRESHOLD`` failed attempts for one typed username within
  ``FAILURE_WINDOW`` lock that name for ``LOCK_DURATION``. Failures are kept by
  the name as typed, so names that do not exist lock the same way and the
  answer never tells whether an account exists. Attempts made while locked
  are refused without being counted, so a lock ends on time.
- Sessions: a row per signed-in browser; the browser's cookie is the preimage
  of ``token_hash``. A session ends on sign-out, password change,
  deactivation, idle timeout or its absolute lifetime, and an ended row never
  comes back to life.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import bcrypt
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from . import audit
from .audit import utcnow
from .models import AuthSession, LoginFailure, Staff

LOCK_THRESHOLD = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOCK_DURATION = timedelta(minutes=15)
# last_seen_at is written at most this often: one write a minute per user, not one per click.
TOUCH_INTERVAL = timedelta(seconds=60)
USERNAME_MAX = 64

# A real bcrypt hash (same cost as db.passwords) checked when the typed name has
# no usable account, so that "no such user" takes as long as "wrong password".
_DUMMY_HASH = bcrypt.hashpw(b"no account has this password", bcrypt.gensalt()).decode()


@dataclass(frozen=True)
class SessionSettings:
    """How long sessions live; read from secrets ``[auth]`` by the app."""

    idle_minutes: float = 15
    max_session_hours: float = 12
    # The meeting-room display stays signed in for a week: no idle logoff,
    # but still revocable and still bounded.
    team_screen_days: float = 7

    def idle_limit(self, role: str) -> timedelta | None:
        return None if role == "team_screen" else timedelta(minutes=self.idle_minutes)

    def lifetime(self, role: str) -> timedelta:
        if role == "team_screen":
            return timedelta(days=self.team_screen_days)
        return timedelta(hours=self.max_session_hours)


@dataclass(frozen=True)
class SignedIn:
    """The user behind a valid session, as the app needs it on every run."""

    session_id: int
    staff_id: int
    username: str
    full_name: str
    role: str
    must_change_password: bool
    expires_at: datetime


@dataclass(frozen=True)
class SessionCheck:
    user: SignedIn | None
    # Why there is no user: unknown, ended, inactive, idle, expired.
    reason: str | None = None


def normalize_username(typed: str | None) -> str:
    """The name as the sign-in form compares it (the library lower-cases and strips)."""
    return (typed or "").strip().lower()[:USERNAME_MAX]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(value: datetime) -> datetime:
    # SQLite hands timezone-aware columns back naive; they were written in UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# --- throttling -------------------------------------------------------------

def _lock_end(times: list[datetime], now: datetime) -> datetime | None:
    """When the lock ends, given one name's recent failure times in order (None: not locked)."""
    lock_end: datetime | None = None
    for i, t in enumerate(times):
        if lock_end is not None and t < lock_end:
            continue
        counted = [u for u in times[: i + 1]
                   if u > t - FAILURE_WINDOW and (lock_end is None or u >= lock_end)]
        if len(counted) >= LOCK_THRESHOLD:
            lock_end = t + LOCK_DURATION
    return lock_end if lock_end is not None and lock_end > now else None


def _recent_failures(session: Session, now: datetime, names=None) -> dict[str, list[datetime]]:
    # A lock can only be running if its failures fall in the last window + lock.
    q = (select(LoginFailure.username, LoginFailure.at)
         .where(LoginFailure.at > now - FAILURE_WINDOW - LOCK_DURATION, LoginFailure.at <= now)
         .order_by(LoginFailure.username, LoginFailure.at))
    if names is not None:
        q = q.where(LoginFailure.username.in_(names))
    found: dict[str, list[datetime]] = {}
    for username, at in session.execute(q):
        found.setdefault(username, []).append(_aware(at))
    return found


def locked_until(session: Session, username: str, now: datetime | None = None) -> datetime | None:
    """When the lock on ``username`` ends, or None when it is not locked."""
    now = now or utcnow()
    name = normalize_username(username)
    return _lock_end(_recent_failures(session, now, [name]).get(name, []), now)


def locked_usernames(session: Session, now: datetime | None = None) -> set[str]:
    """Every staff username locked right now, in one query.

    Only real accounts are looked at, so a flood of made-up names costs nothing here.
    """
    now = now or utcnow()
    recent = _recent_failures(session, now, select(Staff.username))
    return {name for name, times in recent.items() if _lock_end(times, now) is not None}


def record_failure(session: Session, typed_username: str, now: datetime | None = None) -> datetime | None:
    """Count one failed attempt and audit it; returns the lock's end if the name is locked.

    The caller commits. The caller shows the same message whatever this returns.
    """
    now = now or utcnow()
    username = normalize_username(typed_username)
    known = session.scalar(select(Staff.id).where(Staff.username == username)) is not None
    already = locked_until(session, username, now)
    if already is not None:
        audit.record(session, username or "(blank)", "auth.login_failed",
                     reason="locked", known_user=known)
        return already
    session.add(LoginFailure(username=username, at=now))
    session.flush()
    audit.record(session, username or "(blank)", "auth.login_failed",
                 reason="bad credentials", known_user=known)
    lock_end = locked_until(session, username, now)
    if lock_end is not None:
        audit.record(session, username or "(blank)", "auth.locked", until=lock_end.isoformat(),
                     known_user=known)
    return lock_end


def waste_password_check(password: str) -> None:
    """Spend one bcrypt check, as a real account would, and learn nothing."""
    bcrypt.checkpw((password or "").encode()[:72], _DUMMY_HASH.encode())


# --- accounts that may sign in ------------------------------------------------

def login_credentials(session: Session, now: datetime | None = None) -> dict:
    """The credentials dict streamlit-authenticator checks passwords against.

    Only active accounts with a password, and none that is locked: a locked
    account's right password fails exactly like a wrong one.
    """
    locked = locked_usernames(session, now)
    users = {}
    for s in session.scalars(
        select(Staff).where(Staff.active.is_(True), Staff.password_hash.is_not(None))
    ):
        if s.username in locked:
            continue
        users[s.username] = {
            "name": s.full_name,
            "email": s.email or f"{s.username}@invalid.example",
            "password": s.password_hash,
            "roles": [s.role],
        }
    return {"usernames": users}


# --- sessions -------------------------------------------------------------------

def start_session(session: Session, username: str, token: str, now: datetime | None = None) -> int:
    """Open a session for a successful sign-in; clears the name's failures. Caller commits."""
    now = now or utcnow()
    staff = session.scalar(select(Staff).where(Staff.username == normalize_username(username)))
    if staff is None or not staff.active:
        raise ValueError("only an active account can start a session")
    row = AuthSession(token_hash=token_hash(token), staff_id=staff.id, created_at=now,
                      last_seen_at=now)
    session.add(row)
    session.execute(delete(LoginFailure).where(LoginFailure.username == staff.username))
    session.flush()
    audit.record(session, staff.username, "auth.login", role=staff.role, session_id=row.id)
    return row.id


def check_session(session: Session, token_hash_value: str, settings: SessionSettings,
                  now: datetime | None = None, *, touch: bool = True) -> SessionCheck:
    """Is this browser still signed in? Ends the session when it has just run out.

    ``touch`` counts the call as the user's activity (a page run); the
    periodic idle check passes False. The caller commits.
    """
    now = now or utcnow()
    row = session.scalar(select(AuthSession).where(AuthSession.token_hash == token_hash_value))
    if row is None:
        return SessionCheck(None, "unknown")
    staff = session.get(Staff, row.staff_id)
    if row.ended_at is not None:
        # Deactivating ends the sessions at once; the user should still hear why.
        return SessionCheck(None, "inactive" if staff is None or not staff.active else "ended")
    if staff is None or not staff.active:
        _end(session, row, now, "deactivated")
        return SessionCheck(None, "inactive")
    expires_at = _aware(row.created_at) + settings.lifetime(staff.role)
    if now >= expires_at:
        _end(session, row, now, "expired")
        audit.record(session, staff.username, "auth.session_expired", reason="lifetime",
                     session_id=row.id)
        return SessionCheck(None, "expired")
    idle = settings.idle_limit(staff.role)
    last_seen = _aware(row.last_seen_at)
    if idle is not None and now - last_seen >= idle:
        _end(session, row, now, "idle")
        audit.record(session, staff.username, "auth.session_expired", reason="idle",
                     session_id=row.id)
        return SessionCheck(None, "idle")
    if touch and now - last_seen >= TOUCH_INTERVAL:
        row.last_seen_at = now
    return SessionCheck(SignedIn(row.id, staff.id, staff.username, staff.full_name, staff.role,
                                 staff.must_change_password, expires_at))


def end_session(session: Session, token_hash_value: str, reason: str = "signed out",
                now: datetime | None = None) -> bool:
    """End one session (sign-out); True when it was open. Caller commits."""
    row = session.scalar(select(AuthSession).where(AuthSession.token_hash == token_hash_value))
    if row is None or row.ended_at is not None:
        return False
    _end(session, row, now or utcnow(), reason)
    staff = session.get(Staff, row.staff_id)
    audit.record(session, staff.username if staff else "(unknown)", "auth.logout",
                 reason=reason, session_id=row.id)
    return True


def _end(session: Session, row: AuthSession, now: datetime, reason: str) -> None:
    row.ended_at = now
    row.end_reason = reason


def end_user_sessions(session: Session, staff_id: int, reason: str) -> int:
    """End every open sign-in session of one user; returns how many ended."""
    result = session.execute(
        update(AuthSession)
        .where(AuthSession.staff_id == staff_id, AuthSession.ended_at.is_(None))
        .values(ended_at=utcnow(), end_reason=reason)
    )
    return result.rowcount or 0
