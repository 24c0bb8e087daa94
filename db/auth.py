"""Server-side sign-in state: revocable sessions, throttling, idle logoff.

Plain Python over the database, so every app server sharing it agrees. The
Streamlit side (``ui.session``) only moves tokens between the browser and
these functions.

Rules kept here, and only here (docs/security.md says what they guarantee):

- Sign-in (``attempt_sign_in``): every attempt that reaches the password does
  exactly one bcrypt check of the same input (``db.passwords.bcrypt_input``),
  against the account's hash or, for a name without a usable account, a dummy
  hash of the same cost: the answer and its time do not tell which names exist.
- Throttling, per source address (OWASP ASVS V2.2.1):
  ``LOCK_THRESHOLD`` failures in a row on one account from one address lock
  that account *from that address* for ``LOCK_BASE``, doubled by each further
  failure after a lock ends (up to ``LOCK_MAX``); the right password is refused
  meanwhile. Attempts during a lock are refused and counted as refused but never
  lengthen it, and failures from another address never lock it: they only slow
  sign-in on names like it by at most ``SLOW_MAX`` seconds (``sign_in_delay``).
  One address may fail ``ADDRESS_LIMIT`` times within ``ADDRESS_WINDOW`` over
  all names before it is refused outright for ``ADDRESS_LOCK``.
- Failures are aggregated: one ``login_throttle`` row per (account, address),
  with every name that has no account in one ``UNKNOWN_ACCOUNT`` row, so a
  failed attempt updates at most three rows and adds at most one audit event;
  the audit names only real accounts.
- Sessions: a row per signed-in browser; the browser's cookie is the preimage
  of ``token_hash``. A session ends on sign-out, password change,
  deactivation, idle timeout or its absolute lifetime, and an ended row never
  comes back to life. Any page run counts as activity and moves the idle
  clock on (written at most every ``touch_interval``).
"""
from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import bcrypt
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from . import audit
from .audit import utcnow
from .models import AuthSession, LoginThrottle, Staff
from .passwords import check_against
from .text_rules import storable_identifier

LOCK_THRESHOLD = 5
# Failures before a first lock are forgotten after this long without another.
FAILURE_WINDOW = timedelta(minutes=15)
LOCK_BASE = timedelta(minutes=15)
LOCK_MAX = timedelta(hours=24)
# Once locked, a streak is forgotten only after this long without a failure.
STREAK_MEMORY = timedelta(hours=24)
# Failures on a name from any address slow its sign-in, never refuse it.
SLOW_WINDOW = timedelta(minutes=15)
SLOW_STEP = 0.25  # seconds per failure past LOCK_THRESHOLD
SLOW_MAX = 3.0
SLOW_BUCKETS = 4096  # names are slowed by a hash bucket, known or not
# One address, all names together: far above one account's threshold.
ADDRESS_LIMIT = 100
ADDRESS_WINDOW = timedelta(minutes=15)
ADDRESS_LOCK = timedelta(minutes=15)
# Throttle rows no lock or streak can need any more are deleted.
PRUNE_AFTER = STREAK_MEMORY + LOCK_MAX
PRUNE_BATCH = 100  # per failed attempt, so its cost stays bounded

# Markers in login_throttle.username; no username can be one (db.staff.USERNAME_RE).
UNKNOWN_ACCOUNT = "?"
ANY_ACCOUNT = "*"
ANY_ADDRESS = "*"
# Who the audit names for attempts on names that have no account.
ANONYMOUS_ACTOR = "(unknown user)"
# The source address of a browser on the server's own machine (st.context.ip_address is None).
LOCAL_ADDRESS = "local"
INVALID_ADDRESS = "not-an-ip"
ADDRESS_MAX = 64

# last_seen_at is written at most this often (one write a minute per user, not
# one per click), and never less often than a tenth of the idle limit.
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


def touch_interval(idle: timedelta | None) -> timedelta:
    """How stale last_seen_at may get: activity is never lost by more than a tenth of the limit."""
    return TOUCH_INTERVAL if idle is None else min(TOUCH_INTERVAL, idle / 10)


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
    """The name as the sign-in form compares it (the library lower-cases and strips).

    A control character (a NUL, say) is shown as ``\\uXXXX`` rather than sent to
    the database, which refused it with an error instead of an answer; no
    username has one (db.staff), so such a name is simply unknown (issue 15).
    """
    return storable_identifier((typed or "").strip().lower(), max_length=USERNAME_MAX) or ""


def source_address(ip: str | None) -> str:
    """The throttling key of a browser's address; None (the same machine) is LOCAL_ADDRESS.

    Only an IP address is kept as it is (normalised); anything else a forged
    X-Forwarded-For could carry (text, a formula) becomes one shared INVALID_ADDRESS.
    """
    ip = (ip or "").strip()
    if not ip:
        return LOCAL_ADDRESS
    try:
        return str(ipaddress.ip_address(ip))[:ADDRESS_MAX]
    except ValueError:
        return INVALID_ADDRESS


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands timezone-aware columns back naive; they were written in UTC.
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# --- throttling -------------------------------------------------------------

@dataclass(frozen=True)
class SignInAttempt:
    """What one sign-in attempt came to. The caller shows the same message for every refusal."""

    ok: bool
    username: str | None = None       # the account signed in, when ok
    refused: str | None = None        # "bad credentials", "locked", "address locked"
    locked_until: datetime | None = None


@dataclass(frozen=True)
class AccountThrottle:
    """An account's throttles, for the admin's Users page."""

    locked_from: int      # addresses it is locked from now
    failing_from: int     # addresses with failures counted against it
    locked_until: datetime | None  # the latest running lock's end


def lock_duration(failures: int) -> timedelta:
    """How long the ``failures``-th failure in a row locks its account from its address."""
    if failures < LOCK_THRESHOLD:
        return timedelta(0)
    return min(LOCK_MAX, LOCK_BASE * 2 ** min(failures - LOCK_THRESHOLD, 20))


def slow_bucket(username: str) -> str:
    """The row that slows a typed name: the same for a real or a made-up name."""
    digest = int(hashlib.sha256(normalize_username(username).encode()).hexdigest(), 16)
    return f"#{digest % SLOW_BUCKETS:03x}"


def _account_key(session: Session, name: str) -> tuple[str, Staff | None]:
    staff = session.scalar(select(Staff).where(Staff.username == name)) if name else None
    return (staff.username if staff is not None else UNKNOWN_ACCOUNT), staff


def _get(session: Session, key: str, address: str, *, for_update: bool = False) -> LoginThrottle | None:
    q = (select(LoginThrottle).where(LoginThrottle.username == key, LoginThrottle.address == address)
         .execution_options(populate_existing=True))
    if for_update:
        q = q.with_for_update()
    return session.scalar(q)


def _get_or_create(session: Session, key: str, address: str, now: datetime) -> LoginThrottle:
    """The (key, address) row, created if need be and locked for this transaction.

    INSERT ... ON CONFLICT DO NOTHING then SELECT ... FOR UPDATE: two servers
    failing at once both count, and neither trips over the other's insert.
    """
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    for _ in range(3):  # a prune on another server may delete the row in between: insert again
        session.execute(
            insert(LoginThrottle)
            .values(username=key, address=address, failures=0, refused=0, first_at=now, last_at=now)
            .on_conflict_do_nothing(index_elements=["username", "address"]))
        row = _get(session, key, address, for_update=True)
        if row is not None:
            return row
    raise RuntimeError(f"login_throttle row ({key!r}, {address!r}) keeps disappearing")


def _locked(row: LoginThrottle | None, now: datetime) -> datetime | None:
    until = _aware(row.locked_until) if row is not None else None
    return until if until is not None and until > now else None


def sign_in_delay(session: Session, typed_username: str, now: datetime | None = None) -> float:
    """Seconds to wait before checking a password for this name: at most SLOW_MAX.

    Counts recent failures on the name's hash bucket from every address, so a
    made-up name and a real one are slowed alike, and nobody is ever refused by it.
    """
    now = now or utcnow()
    row = _get(session, slow_bucket(typed_username), ANY_ADDRESS)
    if row is None or now - _aware(row.first_at) >= SLOW_WINDOW:
        return 0.0
    return min(SLOW_MAX, SLOW_STEP * max(0, row.failures - LOCK_THRESHOLD))


def attempt_sign_in(session: Session, typed_username: str, password: str, address: str,
                    now: datetime | None = None) -> SignInAttempt:
    """Check one sign-in attempt from ``address`` and count it; the caller commits.

    Wait ``sign_in_delay`` first (outside the transaction). Whatever the name and
    the password's length, a refusal that depends on the name costs one bcrypt
    check of the same input; only a locked address is refused without one.
    """
    now = now or utcnow()
    address = source_address(address)
    name = normalize_username(typed_username)
    whole_address = _get(session, ANY_ACCOUNT, address)
    if (until := _locked(whole_address, now)) is not None:
        row = _get_or_create(session, ANY_ACCOUNT, address, now)
        row.refused += 1
        row.last_at = now
        return SignInAttempt(False, refused="address locked", locked_until=until)

    key, staff = _account_key(session, name)
    usable = staff is not None and staff.active and staff.password_hash
    if usable:
        matched = check_against(password, staff.password_hash)
    else:
        waste_password_check(password)
        matched = False
    lock = _locked(_get(session, key, address), now)
    if matched and lock is None:
        # Success clears this address's streak only: another address's lock stays.
        session.execute(delete(LoginThrottle).where(LoginThrottle.username == key,
                                                    LoginThrottle.address == address))
        return SignInAttempt(True, username=staff.username)
    lock = _record_failure(session, key, name, address, now, right_password=matched)
    return SignInAttempt(False, refused="locked" if lock else "bad credentials", locked_until=lock)


def _record_failure(session: Session, key: str, name: str, address: str, now: datetime, *,
                    right_password: bool) -> datetime | None:
    actor = key if key != UNKNOWN_ACCOUNT else ANONYMOUS_ACTOR
    row = _get_or_create(session, key, address, now)
    lock = _locked(row, now)
    if lock is not None:
        row.refused += 1
        row.last_at = now
        if right_password:  # only someone who knows the password gets here: worth a line
            audit.record(session, actor, "auth.login_failed", reason="locked", address=address,
                         until=lock.isoformat())
    else:
        memory = STREAK_MEMORY if row.failures >= LOCK_THRESHOLD else FAILURE_WINDOW
        quiet_since = max(_aware(row.last_at), _aware(row.locked_until) or _aware(row.last_at))
        if row.failures and now - quiet_since >= memory:
            row.failures, row.refused, row.first_at, row.locked_until = 0, 0, now, None
        row.failures += 1
        row.last_at = now
        if row.failures == 1:
            audit.record(session, actor, "auth.login_failed", reason="bad credentials",
                         address=address)
        if row.failures >= LOCK_THRESHOLD:
            lock = now + lock_duration(row.failures)
            row.locked_until = lock
            audit.record(session, actor, "auth.locked", address=address, failures=row.failures,
                         refused=row.refused, until=lock.isoformat())

    whole = _get_or_create(session, ANY_ACCOUNT, address, now)
    if now - _aware(whole.first_at) >= ADDRESS_WINDOW:
        whole.failures, whole.refused, whole.first_at, whole.locked_until = 0, 0, now, None
    whole.failures += 1
    whole.last_at = now
    if whole.failures == ADDRESS_LIMIT:
        whole.locked_until = now + ADDRESS_LOCK
        audit.record(session, ANONYMOUS_ACTOR, "auth.address_locked", address=address,
                     failures=whole.failures, until=whole.locked_until.isoformat())

    bucket = _get_or_create(session, slow_bucket(name), ANY_ADDRESS, now)
    if now - _aware(bucket.first_at) >= SLOW_WINDOW:
        bucket.failures, bucket.first_at = 0, now
    bucket.failures += 1
    bucket.last_at = now

    _prune(session, now)
    return lock


def _prune(session: Session, now: datetime) -> None:
    """Delete a few rows no lock or streak needs any more; rows another attempt holds are skipped."""
    stale = (select(LoginThrottle.id)
             .where(LoginThrottle.last_at < now - PRUNE_AFTER,
                    or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until < now))
             .limit(PRUNE_BATCH).with_for_update(skip_locked=True))
    ids = list(session.scalars(stale))
    if ids:
        session.execute(delete(LoginThrottle).where(LoginThrottle.id.in_(ids)))


def waste_password_check(password: str) -> None:
    """Spend one bcrypt check, as a real account would, and learn nothing."""
    check_against(password, _DUMMY_HASH)


def account_throttle(session: Session, username: str, now: datetime | None = None) -> AccountThrottle:
    now = now or utcnow()
    rows = list(session.scalars(select(LoginThrottle).where(
        LoginThrottle.username == normalize_username(username))))
    locks = [u for u in (_locked(r, now) for r in rows) if u is not None]
    return AccountThrottle(len(locks), sum(1 for r in rows if r.failures), max(locks, default=None))


def unlock(session: Session, username: str, *, actor: str) -> int:
    """Clear every throttle on an account, from every address; audited. Caller commits.

    Returns how many throttle rows were cleared. An address refused for
    failing on every name (ADDRESS_LIMIT) stays refused: it is not the account's.
    """
    name = normalize_username(username)
    if session.scalar(select(Staff.id).where(Staff.username == name)) is None:
        raise ValueError(f"no user named {username!r}")
    cleared = session.execute(delete(LoginThrottle).where(
        LoginThrottle.username.in_([name, slow_bucket(name)]))).rowcount or 0
    audit.record(session, actor, "auth.unlock", username=name, cleared=cleared)
    return cleared


# --- sessions -------------------------------------------------------------------

def start_session(session: Session, username: str, token: str, now: datetime | None = None) -> int:
    """Open a session for a signed-in user (``attempt_sign_in`` said ok). Caller commits."""
    now = now or utcnow()
    staff = session.scalar(select(Staff).where(Staff.username == normalize_username(username)))
    if staff is None or not staff.active:
        raise ValueError("only an active account can start a session")
    row = AuthSession(token_hash=token_hash(token), staff_id=staff.id, created_at=now,
                      last_seen_at=now)
    session.add(row)
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
    if touch and now - last_seen >= touch_interval(idle):
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
