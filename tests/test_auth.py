"""db.auth: throttling windows, lockout, sessions (idle, lifetime, revocation), on both databases."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from db import auth, staff
from db.models import AuditEvent, AuthSession, LoginFailure
from db.passwords import hash_password

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
SETTINGS = auth.SessionSettings(idle_minutes=15, max_session_hours=12, team_screen_days=7)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def add(session, username="maya", role="therapist", password="correct horse battery"):
    staff.add_user(session, username, f"{username.title()} Person", role)
    staff.set_password(session, username, password)
    session.commit()


def actions(session, action=None) -> list[AuditEvent]:
    q = select(AuditEvent).order_by(AuditEvent.id)
    if action:
        q = q.where(AuditEvent.action == action)
    return list(session.scalars(q))


def fail(session, username, at):
    result = auth.record_failure(session, username, at)
    session.commit()
    return result


# --- throttling -----------------------------------------------------------------

def test_four_failures_do_not_lock_the_fifth_does(session):
    add(session)
    for i in range(4):
        assert fail(session, "maya", T0 + minutes(i)) is None
    assert auth.locked_until(session, "maya", T0 + minutes(4)) is None
    until = fail(session, "maya", T0 + minutes(4))
    assert until == T0 + minutes(4) + auth.LOCK_DURATION
    assert auth.locked_until(session, "maya", T0 + minutes(5)) == until
    assert len(actions(session, "auth.locked")) == 1
    assert len(actions(session, "auth.login_failed")) == 5


def test_failures_must_fall_within_fifteen_minutes(session):
    add(session)
    # The fifth failure lands exactly 15 minutes after the first: the first no longer counts.
    for offset in (0, 1, 2, 3):
        fail(session, "maya", T0 + minutes(offset))
    assert fail(session, "maya", T0 + minutes(15)) is None
    # One more inside the window of the last five: now five within 15 minutes.
    assert fail(session, "maya", T0 + minutes(15.5)) == T0 + minutes(15.5) + auth.LOCK_DURATION


def test_lock_lasts_fifteen_minutes_and_attempts_while_locked_do_not_extend_it(session):
    add(session)
    for i in range(5):
        fail(session, "maya", T0 + timedelta(seconds=i))
    lock_end = T0 + timedelta(seconds=4) + auth.LOCK_DURATION
    # Hammering during the lock is refused and audited but not counted.
    for i in range(10):
        assert fail(session, "maya", T0 + minutes(1 + i)) == lock_end
    assert session.scalar(select(func.count()).select_from(LoginFailure)) == 5
    locked_audits = [json.loads(e.detail)["reason"] for e in actions(session, "auth.login_failed")]
    assert locked_audits.count("locked") == 10
    assert auth.locked_until(session, "maya", lock_end - timedelta(seconds=1)) == lock_end
    assert auth.locked_until(session, "maya", lock_end) is None
    # After the lock a single failure does not lock again: the old five are spent.
    assert fail(session, "maya", lock_end + timedelta(seconds=1)) is None


def test_unknown_names_lock_exactly_like_real_ones(session):
    add(session)
    for name in ("maya", "nobody-here"):
        results = [fail(session, name, T0 + timedelta(seconds=i)) for i in range(5)]
        assert results[:4] == [None] * 4
        assert results[4] == T0 + timedelta(seconds=4) + auth.LOCK_DURATION
    known = {json.loads(e.detail)["known_user"] for e in actions(session, "auth.locked")}
    assert known == {True, False}


def test_typed_names_are_normalised_like_the_form(session):
    add(session)
    for i in range(5):
        fail(session, "  MAYA ", T0 + timedelta(seconds=i))
    assert auth.locked_until(session, "maya", T0 + minutes(1)) is not None


def test_locked_inactive_and_passwordless_accounts_cannot_sign_in(session):
    add(session, "maya")
    add(session, "omar")
    add(session, "lena")
    staff.add_user(session, "nopass", "No Password", "therapist")
    staff.deactivate(session, "lena")
    session.commit()
    now = T0 + minutes(5)
    for i in range(5):
        fail(session, "omar", T0 + timedelta(seconds=i))
    for i in range(5):
        fail(session, "made-up-name", T0 + timedelta(seconds=i))
    # Only real accounts are reported (a flood of invented names costs nothing here).
    assert auth.locked_usernames(session, now) == {"omar"}
    users = auth.login_credentials(session, now)["usernames"]
    assert set(users) == {"maya"}
    assert users["maya"]["roles"] == ["therapist"]
    assert users["maya"]["password"].startswith("$2")
    # Once the lock has passed, omar may sign in again.
    assert "omar" in auth.login_credentials(session, T0 + minutes(16))["usernames"]


def test_the_dummy_check_costs_what_a_real_check_costs():
    # Same algorithm and cost factor as real hashes, so an unknown name takes as long.
    real = hash_password("whatever password")
    assert auth._DUMMY_HASH[:7] == real[:7]
    auth.waste_password_check("anything")  # runs, returns nothing, never raises


def test_a_successful_sign_in_clears_the_failures(session):
    add(session)
    for i in range(4):
        fail(session, "maya", T0 + timedelta(seconds=i))
    auth.start_session(session, "maya", "token-a", T0 + minutes(1))
    session.commit()
    assert fail(session, "maya", T0 + minutes(2)) is None
    assert session.scalar(select(func.count()).select_from(LoginFailure)) == 1


# --- sessions -----------------------------------------------------------------------

def start(session, username="maya", token="token-a", at=T0):
    sid = auth.start_session(session, username, token, at)
    session.commit()
    return sid


def check(session, token="token-a", at=T0, **kw):
    result = auth.check_session(session, auth.token_hash(token), SETTINGS, at, **kw)
    session.commit()
    return result


def test_a_session_is_stored_by_hash_and_names_its_user(session):
    add(session)
    sid = start(session)
    row = session.get(AuthSession, sid)
    assert row.token_hash == auth.token_hash("token-a") != "token-a"
    result = check(session, at=T0 + minutes(1))
    assert result.user is not None and result.user.username == "maya"
    assert result.user.role == "therapist"
    assert result.user.expires_at == T0 + timedelta(hours=12)
    assert [e.action for e in actions(session, "auth.login")] == ["auth.login"]
    assert check(session, token="some-other-token").reason == "unknown"


def test_only_active_accounts_start_sessions(session):
    add(session)
    add(session, "omar")
    staff.deactivate(session, "omar")
    session.commit()
    with pytest.raises(ValueError):
        auth.start_session(session, "omar", "t", T0)
    with pytest.raises(ValueError):
        auth.start_session(session, "ghost", "t", T0)


def test_last_seen_is_written_at_most_once_a_minute(session):
    add(session)
    sid = start(session)
    check(session, at=T0 + timedelta(seconds=59))
    assert auth._aware(session.get(AuthSession, sid).last_seen_at) == T0
    check(session, at=T0 + timedelta(seconds=60))
    session.expire_all()
    assert auth._aware(session.get(AuthSession, sid).last_seen_at) == T0 + timedelta(seconds=60)
    # The idle watcher looks without counting as activity.
    check(session, at=T0 + minutes(5), touch=False)
    session.expire_all()
    assert auth._aware(session.get(AuthSession, sid).last_seen_at) == T0 + timedelta(seconds=60)


def test_idle_for_fifteen_minutes_ends_the_session(session):
    add(session)
    sid = start(session)
    assert check(session, at=T0 + minutes(14)).user is not None
    # Activity at 14 minutes moved the idle clock on.
    assert check(session, at=T0 + minutes(28)).user is not None
    result = check(session, at=T0 + minutes(43))
    assert result.user is None and result.reason == "idle"
    assert session.get(AuthSession, sid).end_reason == "idle"
    assert check(session, at=T0 + minutes(44)).reason == "ended"
    expired = actions(session, "auth.session_expired")
    assert len(expired) == 1 and json.loads(expired[0].detail)["reason"] == "idle"


def test_the_idle_limit_comes_from_settings(session):
    add(session)
    start(session)
    short = auth.SessionSettings(idle_minutes=2)
    assert auth.check_session(session, auth.token_hash("token-a"), short, T0 + minutes(2)).reason == "idle"


def test_no_session_outlives_twelve_hours_however_active(session):
    add(session)
    start(session)
    at = T0
    while at < T0 + timedelta(hours=11, minutes=50):
        at += minutes(10)
        assert check(session, at=at).user is not None
    result = check(session, at=T0 + timedelta(hours=12))
    assert result.reason == "expired"
    assert json.loads(actions(session, "auth.session_expired")[0].detail)["reason"] == "lifetime"


def test_team_screen_is_exempt_from_idle_but_not_from_lifetime_or_revocation(session):
    add(session, "screen", role="team_screen")
    start(session, "screen", "screen-token")
    assert check(session, "screen-token", T0 + timedelta(days=3)).user is not None
    assert check(session, "screen-token", T0 + timedelta(days=7)).reason == "expired"
    start(session, "screen", "screen-token-2", T0 + timedelta(days=8))
    assert auth.end_session(session, auth.token_hash("screen-token-2"), now=T0 + timedelta(days=8))
    session.commit()
    assert check(session, "screen-token-2", T0 + timedelta(days=8, minutes=1)).reason == "ended"


def test_signing_out_ends_the_session_for_good(session):
    add(session)
    start(session)
    assert auth.end_session(session, auth.token_hash("token-a"), now=T0 + minutes(1))
    session.commit()
    # The same token (a copy of the cookie) never signs in again.
    for later in (minutes(2), timedelta(hours=1)):
        assert check(session, at=T0 + later).reason == "ended"
    assert not auth.end_session(session, auth.token_hash("token-a"))
    assert len(actions(session, "auth.logout")) == 1


def test_a_password_change_ends_every_session_of_that_user_only(session):
    add(session)
    add(session, "omar")
    start(session, "maya", "maya-1")
    start(session, "maya", "maya-2")
    start(session, "omar", "omar-1")
    staff.set_password(session, "maya", "another good password")
    session.commit()
    assert check(session, "maya-1", T0 + minutes(1)).reason == "ended"
    assert check(session, "maya-2", T0 + minutes(1)).reason == "ended"
    assert check(session, "omar-1", T0 + minutes(1)).user is not None


def test_deactivation_ends_sessions_and_an_inactive_account_is_refused(session):
    add(session)
    add(session, "omar")
    start(session, "maya", "maya-1")
    start(session, "omar", "omar-1")
    staff.deactivate(session, "maya")
    session.commit()
    # Ended by the deactivation, and said so: not "signed out elsewhere".
    assert check(session, "maya-1", T0 + minutes(1)).reason == "inactive"
    # Even if only the flag were flipped, the next check refuses and ends the row.
    staff_row = staff.get_by_username(session, "omar")
    staff_row.active = False
    session.commit()
    assert check(session, "omar-1", T0 + minutes(1)).reason == "inactive"
    assert check(session, "omar-1", T0 + minutes(2)).reason == "inactive"  # still inactive: said so each time


def test_session_settings_lifetimes_by_role():
    s = auth.SessionSettings(idle_minutes=20, max_session_hours=8, team_screen_days=3)
    assert s.idle_limit("therapist") == minutes(20)
    assert s.idle_limit("team_screen") is None
    assert s.lifetime("admin") == timedelta(hours=8)
    assert s.lifetime("team_screen") == timedelta(days=3)
