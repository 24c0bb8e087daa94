"""db.auth: per-address throttling and its attacks, equal work per attempt, sessions (idle,
lifetime, revocation), on both databases."""
from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import bcrypt
import pytest
from sqlalchemy import func, select

from db import auth, cli, staff
from db.models import AuditEvent, AuthSession, LoginThrottle
from db.passwords import MAX_PASSWORD_BYTES, hash_password
from db.queries import audit_log

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
SETTINGS = auth.SessionSettings(idle_minutes=15, max_session_hours=12, team_screen_days=7)
PASSWORD = "correct horse battery"
ATTACKER = "203.0.113.9"
OFFICE = "198.51.100.7"


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def seconds(n: float) -> timedelta:
    return timedelta(seconds=n)


@pytest.fixture
def cheap_bcrypt(monkeypatch):
    """Four bcrypt rounds instead of twelve for accounts and the dummy: the same code path,
    fast enough for attacks of hundreds of attempts."""
    gensalt = bcrypt.gensalt
    monkeypatch.setattr(bcrypt, "gensalt", lambda rounds=4, prefix=b"2b": gensalt(4, prefix))
    monkeypatch.setattr(auth, "_DUMMY_HASH", bcrypt.hashpw(b"dummy", gensalt(4)).decode())


def add(session, username="maya", role="therapist", password=PASSWORD):
    staff.add_user(session, username, f"{username.title()} Person", role)
    staff.set_password(session, username, password)
    session.commit()


def actions(session, action=None) -> list[AuditEvent]:
    q = select(AuditEvent).order_by(AuditEvent.id)
    if action:
        q = q.where(AuditEvent.action == action)
    return list(session.scalars(q))


def attempt(session, username, password, address, at) -> auth.SignInAttempt:
    result = auth.attempt_sign_in(session, username, password, address, at)
    session.commit()
    return result


def fail(session, username, at, address=ATTACKER) -> auth.SignInAttempt:
    return attempt(session, username, "not the password", address, at)


def rows(session) -> int:
    return session.scalar(select(func.count()).select_from(LoginThrottle))


# --- throttling: one account from one address ---------------------------------------

def test_five_failures_lock_the_account_from_that_address_only(session, cheap_bcrypt):
    add(session)
    for i in range(4):
        assert fail(session, "maya", T0 + minutes(i)).refused == "bad credentials"
    fifth = fail(session, "maya", T0 + minutes(4))
    assert fifth.refused == "locked" and fifth.locked_until == T0 + minutes(4) + auth.LOCK_BASE
    # The right password is refused from the attacker's address for the whole lock...
    right = attempt(session, "maya", PASSWORD, ATTACKER, T0 + minutes(5))
    assert not right.ok and right.refused == "locked"
    # ...and accepted at once from anywhere else.
    assert attempt(session, "maya", PASSWORD, OFFICE, T0 + minutes(5)).ok
    assert attempt(session, "maya", PASSWORD, ATTACKER, fifth.locked_until).ok
    assert len(actions(session, "auth.locked")) == 1
    # Failures are aggregated: one audit line for the run of failures, one for the lock.
    assert len(actions(session, "auth.login_failed")) == 2  # first failure; right password while locked
    assert [json.loads(e.detail)["address"] for e in actions(session, "auth.locked")] == [ATTACKER]


def test_the_lock_grows_with_each_failure_after_it(session, cheap_bcrypt):
    add(session)
    for i in range(5):
        last = fail(session, "maya", T0 + seconds(i))
    ends = [last.locked_until]
    for _ in range(3):
        ends.append(fail(session, "maya", ends[-1]).locked_until)
    lengths = [b - a for a, b in zip(ends, ends[1:])]
    assert lengths == [auth.LOCK_BASE * 2, auth.LOCK_BASE * 4, auth.LOCK_BASE * 8]
    assert auth.lock_duration(60) == auth.LOCK_MAX


def test_attempts_during_a_lock_are_refused_and_never_lengthen_it(session, cheap_bcrypt):
    add(session)
    for i in range(5):
        lock_end = fail(session, "maya", T0 + seconds(i)).locked_until
    for i in range(20):  # hammering during the lock, from the same address and others
        assert fail(session, "maya", T0 + minutes(1 + i * 0.5)).locked_until == lock_end
        assert fail(session, "maya", T0 + minutes(1 + i * 0.5), address=f"10.0.0.{i}").refused == "bad credentials"
    row = session.scalar(select(LoginThrottle).where(LoginThrottle.username == "maya",
                                                     LoginThrottle.address == ATTACKER))
    assert (row.failures, row.refused) == (5, 20)
    assert attempt(session, "maya", PASSWORD, ATTACKER, lock_end).ok


def test_a_lock_cannot_be_renewed_for_ever_and_the_owner_signs_in_throughout(session, cheap_bcrypt):
    """The attack of the issue: fail five times, then once more the moment each lock ends,
    from one address and from eight; the admin signs in from the office all day long."""
    add(session, "admin", "admin")
    attackers = [ATTACKER] + [f"192.0.2.{i}" for i in range(1, 8)]
    guesses = {a: 0 for a in attackers}
    next_try = {a: T0 for a in attackers}
    for step in range(24 * 60):  # a day, minute by minute
        at = T0 + minutes(step)
        for a in attackers:
            if at >= next_try[a]:
                result = fail(session, "admin", at, address=a)
                guesses[a] += 1
                next_try[a] = result.locked_until or at  # again the moment the lock ends
        if step % 60 == 30:  # the admin, every hour, from the office
            assert auth.sign_in_delay(session, "admin", at) <= auth.SLOW_MAX
            assert attempt(session, "admin", PASSWORD, OFFICE, at).ok, at
    at = T0 + timedelta(days=1)
    # Each address got its five, then a guess per doubling lock: a dozen a day, not 480.
    assert max(guesses.values()) <= auth.LOCK_THRESHOLD + 8
    assert not attempt(session, "admin", PASSWORD, ATTACKER, at).ok


def test_failures_from_many_addresses_slow_the_account_a_little_and_never_lock_it(session, cheap_bcrypt):
    add(session, "admin", "admin")
    for i in range(30):  # 120 failures, four from each of 30 addresses: none locks
        for j in range(4):
            assert fail(session, "admin", T0 + seconds(i * 4 + j), f"10.1.{i}.1").refused == "bad credentials"
    now = T0 + minutes(5)
    assert 0 < auth.sign_in_delay(session, "admin", now) <= auth.SLOW_MAX <= 5
    assert attempt(session, "admin", PASSWORD, OFFICE, now).ok
    # A made-up name in the same hash bucket would be slowed alike; the delay says nothing.
    assert auth.slow_bucket("admin") == auth.slow_bucket("  ADMIN ")
    assert auth.sign_in_delay(session, "admin", now + auth.SLOW_WINDOW) == 0


def test_a_made_up_name_is_slowed_exactly_like_a_real_one(session, cheap_bcrypt):
    add(session, "admin", "admin")
    for name in ("admin", "ghost-name"):
        for i in range(12):
            fail(session, name, T0 + seconds(i), f"10.2.{i}.1")
    now = T0 + minutes(1)
    assert auth.slow_bucket("admin") != auth.slow_bucket("ghost-name")
    assert auth.sign_in_delay(session, "admin", now) == auth.sign_in_delay(session, "ghost-name", now) > 0


def test_one_address_is_refused_on_every_name_far_above_one_accounts_limit(session, cheap_bcrypt, monkeypatch):
    add(session, "maya")
    add(session, "omar")
    assert auth.ADDRESS_LIMIT >= 10 * auth.LOCK_THRESHOLD
    for i in range(auth.ADDRESS_LIMIT - 1):
        fail(session, f"made-up-{i}", T0 + seconds(i))
    assert attempt(session, "omar", PASSWORD, ATTACKER, T0 + seconds(100)).ok  # still allowed
    fail(session, "someone", T0 + seconds(101))
    fail(session, "someone", T0 + seconds(102))
    checks = []
    with monkeypatch.context() as m:
        m.setattr(bcrypt, "checkpw", lambda *a: checks.append(a) or True)
        refused = attempt(session, "maya", PASSWORD, ATTACKER, T0 + seconds(103))
    assert refused.refused == "address locked" and checks == []  # refused without a bcrypt check
    assert attempt(session, "maya", PASSWORD, OFFICE, T0 + seconds(104)).ok
    assert len(actions(session, "auth.address_locked")) == 1
    assert attempt(session, "maya", PASSWORD, ATTACKER, T0 + seconds(102) + auth.ADDRESS_LOCK).ok


def test_a_flood_of_made_up_names_costs_bounded_rows_and_a_readable_audit(session, cheap_bcrypt):
    add(session, "maya")
    for a in range(3):
        for i in range(150):
            fail(session, f"nobody-{a}-{i}", T0 + seconds(a * 150 + i), address=f"10.9.9.{a}")
    fail(session, "maya", T0 + timedelta(hours=1), address="10.9.9.0")
    # Per address: the unknown-name row and the address's total; the rest are the
    # fixed set of hash buckets that slow names.
    per_address = select(func.count()).select_from(LoginThrottle).where(
        LoginThrottle.address != auth.ANY_ADDRESS)
    assert session.scalar(per_address) == 3 * 2 + 1  # and maya's own row
    assert rows(session) <= 3 * 2 + auth.SLOW_BUCKETS
    events = actions(session)
    failures = [e for e in events if e.action.startswith("auth.")]
    # Per address: the first failure, the lock of the unknown-name row, the address's
    # lock; and one line for maya's failure. Not one line per attempt.
    assert len(failures) == 3 * 3 + 1, [(e.actor, e.action) for e in failures]
    assert {e.actor for e in failures} == {auth.ANONYMOUS_ACTOR, "maya"}
    assert all("nobody" not in e.detail for e in events)
    actors, _ = audit_log.filter_options(session)
    assert not any(a.startswith("nobody") for a in actors)
    assert auth.ANONYMOUS_ACTOR not in actors


def test_source_addresses_are_ip_addresses_or_one_shared_key():
    assert auth.source_address(None) == auth.source_address("  ") == auth.LOCAL_ADDRESS
    assert auth.source_address(" 203.0.113.9 ") == "203.0.113.9"
    assert auth.source_address("2001:DB8::0:1") == "2001:db8::1"
    for forged in ("=HYPERLINK(\"http://x\")", "a" * 500, "10.0.0.1, 10.0.0.2", "\x00"):
        assert auth.source_address(forged) == auth.INVALID_ADDRESS


def test_a_success_clears_its_own_address_only(session, cheap_bcrypt):
    add(session)
    for i in range(4):
        fail(session, "maya", T0 + seconds(i), ATTACKER)
        fail(session, "maya", T0 + seconds(i), OFFICE)
    assert attempt(session, "maya", PASSWORD, OFFICE, T0 + minutes(1)).ok
    # The office's count starts again; the attacker's fifth still locks.
    assert fail(session, "maya", T0 + minutes(2), OFFICE).refused == "bad credentials"
    assert fail(session, "maya", T0 + minutes(2), ATTACKER).refused == "locked"


def test_failures_before_a_lock_are_forgotten_after_fifteen_quiet_minutes(session, cheap_bcrypt):
    add(session)
    for i in range(4):
        fail(session, "maya", T0 + minutes(i))
    assert fail(session, "maya", T0 + minutes(3) + auth.FAILURE_WINDOW).refused == "bad credentials"
    for i in range(3):
        fail(session, "maya", T0 + minutes(20 + i))
    assert fail(session, "maya", T0 + minutes(23)).refused == "locked"


def test_inactive_and_passwordless_accounts_are_refused_like_unknown_names(session, cheap_bcrypt):
    add(session, "maya")
    add(session, "lena")
    staff.add_user(session, "nopass", "No Password", "therapist")
    staff.deactivate(session, "lena")
    session.commit()
    assert attempt(session, "maya", PASSWORD, OFFICE, T0).ok
    for name in ("lena", "nopass", "ghost", ""):
        assert attempt(session, name, PASSWORD, OFFICE, T0).refused == "bad credentials"


def test_rows_no_lock_needs_any_more_are_pruned(session, cheap_bcrypt):
    add(session)
    fail(session, "maya", T0)
    assert rows(session) == 3  # maya from ATTACKER, ATTACKER's total, maya's slow-down bucket
    later = T0 + auth.PRUNE_AFTER + minutes(1)
    fail(session, "ghost", later, OFFICE)
    left = {(r.username, r.address) for r in session.scalars(select(LoginThrottle))}
    assert left == {(auth.UNKNOWN_ACCOUNT, OFFICE), (auth.ANY_ACCOUNT, OFFICE),
                    (auth.slow_bucket("ghost"), auth.ANY_ADDRESS)}


def test_unlock_clears_every_throttle_on_the_account(session, cheap_bcrypt):
    add(session)
    add(session, "omar")
    for address in (ATTACKER, OFFICE):
        for i in range(6):
            fail(session, "maya", T0 + seconds(i), address)
    for i in range(5):
        fail(session, "omar", T0 + seconds(i), ATTACKER)
    assert auth.account_throttle(session, "maya", T0 + minutes(1)).locked_from == 2
    assert auth.unlock(session, "MAYA", actor="admin") >= 2
    session.commit()
    assert auth.account_throttle(session, "maya", T0 + minutes(1)).locked_from == 0
    for address in (ATTACKER, OFFICE):
        assert attempt(session, "maya", PASSWORD, address, T0 + minutes(1)).ok
    assert not attempt(session, "omar", PASSWORD, ATTACKER, T0 + minutes(1)).ok  # only maya's
    event = actions(session, "auth.unlock")[-1]
    assert event.actor == "admin" and json.loads(event.detail)["username"] == "maya"
    with pytest.raises(ValueError):
        auth.unlock(session, "ghost", actor="admin")


def _cli(engine, monkeypatch, capsys, *args, stdin=""):
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = cli.main(list(args))
    return code, capsys.readouterr()


def test_cli_unlock_and_set_password_lift_the_lock(engine, session, cheap_bcrypt, monkeypatch, capsys):
    add(session)
    for i in range(5):
        fail(session, "maya", T0 + seconds(i))
    now = T0 + minutes(1)
    code, out = _cli(engine, monkeypatch, capsys, "users", "unlock", "maya")
    assert code == 0 and "lifted" in out.out
    assert attempt(session, "maya", PASSWORD, ATTACKER, now).ok
    for i in range(5):
        fail(session, "maya", now + seconds(i))
    code, out = _cli(engine, monkeypatch, capsys, "users", "set-password", "maya",
                     stdin="a brand new passphrase\n")
    assert code == 0 and "lifted" in out.out
    session.expire_all()
    assert attempt(session, "maya", "a brand new passphrase", ATTACKER, now + minutes(1)).ok
    code, out = _cli(engine, monkeypatch, capsys, "users", "unlock", "ghost")
    assert code == 2 and "no user named" in out.err and "Traceback" not in out.err


# --- the same work whatever the name and the password's length -------------------------

def test_every_attempt_costs_one_bcrypt_check_of_the_same_input(session, cheap_bcrypt, monkeypatch):
    add(session)
    for i in range(5):  # maya is locked from ATTACKER: a locked account costs the same too
        auth.attempt_sign_in(session, "maya", "wrong password", ATTACKER, T0 + seconds(i))
    session.commit()
    real = bcrypt.checkpw
    calls = []

    def spy(password, hashed):
        calls.append((len(password), hashed[:7].decode()))
        return real(password, hashed)

    monkeypatch.setattr(bcrypt, "checkpw", spy)
    seen = {}
    for name in ("maya", "nobody-by-that-name"):
        for address in (OFFICE, ATTACKER):
            for password in ("short but wrong", "x" * 80, "é" * 50):
                calls.clear()
                result = auth.attempt_sign_in(session, name, password, address, T0 + minutes(1))
                session.rollback()
                assert not result.ok
                seen[name, address, password] = list(calls)
    for (name, address, password), made in seen.items():
        assert made == [(min(len(password.encode()), MAX_PASSWORD_BYTES), hash_password("x")[:7])], \
            (name, address, password)
    # The 72 bytes bcrypt reads are not the password: more typed after them is refused.
    add(session, "long", password="y" * MAX_PASSWORD_BYTES)
    assert not auth.attempt_sign_in(session, "long", "y" * 80, OFFICE, T0).ok
    assert auth.attempt_sign_in(session, "long", "y" * MAX_PASSWORD_BYTES, OFFICE, T0).ok


def test_the_dummy_check_costs_what_a_real_check_costs():
    # Same algorithm and cost factor as real hashes, so an unknown name takes as long.
    real = hash_password("whatever password")
    assert auth._DUMMY_HASH[:7] == real[:7]
    auth.waste_password_check("x" * 100)  # runs, returns nothing, never raises


# --- weak passwords ---------------------------------------------------------------------

def test_common_passwords_are_refused(session):
    from db.passwords import WeakPassword, check_strength, common_passwords

    assert len(common_passwords()) > 1000
    for weak in ("aaaaaaaaaa", "1234567890", "Password123", " qwertyuiop "):
        with pytest.raises(WeakPassword, match="commonly used"):
            check_strength(weak)
    check_strength("correct horse battery")
    staff.add_user(session, "maya", "Maya Person", "therapist")
    with pytest.raises(WeakPassword):
        staff.set_password(session, "maya", "iloveyou12")


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


def test_activity_extends_even_a_one_minute_idle_window(session):
    """The issue: with idle_minutes=1, clicking every 20 s signed the user out at 60 s."""
    add(session)
    start(session)
    one_minute = auth.SessionSettings(idle_minutes=1)
    for t in range(20, 201, 20):  # a click every 20 seconds for over three minutes
        result = auth.check_session(session, auth.token_hash("token-a"), one_minute, T0 + seconds(t))
        session.commit()
        assert result.user is not None, t
    # Then a minute without a click ends it, on time.
    late = auth.check_session(session, auth.token_hash("token-a"), one_minute, T0 + seconds(260))
    assert late.reason == "idle"
    assert auth.touch_interval(timedelta(minutes=1)) == seconds(6)
    assert auth.touch_interval(timedelta(minutes=15)) == auth.TOUCH_INTERVAL


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
