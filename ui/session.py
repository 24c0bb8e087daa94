"""Sign-in for the app: streamlit-authenticator's form, our server-side sessions.

streamlit-authenticator 0.4.2 draws the form and checks the password against a
credentials dict built from the staff table on each run. Everything it cannot
do safely is ours (see docs/security.md):

- the cookie holds a signed token whose SHA-256 is an ``auth_session`` row;
  every run checks that row, so sign-out, password change, deactivation,
  idle timeout and the absolute lifetime end the session for good;
- the library's own cookie re-login (which a copied cookie replays) is
  switched off: only ``_restore_from_cookie`` turns a cookie into a user;
- passwords are checked by ``db.auth.attempt_sign_in``, not by the library:
  one bcrypt check of the same input for every name, throttled per source
  address, and every refusal looks the same;
- the cookie is written by the cookie component on every run until the browser
  confirms it, so neither an early ``st.rerun()`` nor a rerun racing the
  first page load can lose it.
"""
from __future__ import annotations

import secrets
import time
from datetime import datetime

import extra_streamlit_components as stx
import jwt
import streamlit as st
import streamlit_authenticator as stauth
from sqlalchemy import select
from streamlit_authenticator.models import cookie_model

from db import auth as dbauth
from db import staff as dbstaff
from db.audit import utcnow
from db.passwords import WeakPassword, check_strength, verify_password

from . import session_socket
from .access import CURRENT_USER_KEY, CurrentUser
from .database import DatabaseUnavailable, db_session

COOKIE_NAME = "kap_session"
AUTH_KEY = "_kap_auth"                  # {"token_hash": str}
PENDING_KEY = "_kap_cookie_pending"     # {"token", "expires", "nonce"}: cookie not yet confirmed
DEAD_COOKIE_KEY = "_kap_dead_cookie"    # hash of a browser cookie already found ended
NOTICE_KEY = "_kap_sign_in_notice"      # a sentence for the sign-in page
FAILED_KEY = "_kap_login_failed"
LIBRARY_KEYS = ("name", "username", "authentication_status", "email", "roles")

GENERIC_FAILURE = (
    "Sign-in failed. Check your username and password and try again. After "
    f"{dbauth.LOCK_THRESHOLD} failed attempts in a row, sign-in to that account from this "
    f"address is paused for {dbauth.LOCK_BASE.seconds // 60} minutes, and longer after each "
    "further failure; an administrator can lift the pause."
)
NOTICES = {
    "idle": "You were signed out after {idle} without activity. Please sign in again.",
    "expired": "Your session reached its maximum length. Please sign in again.",
    "ended": "Your session was ended (signed out elsewhere, or your password was changed). "
             "Please sign in again.",
    "inactive": "This account is no longer active. Ask an administrator if that is a mistake.",
    "signed_out": "You have signed out.",
}


class _QuietCookieManager(stx.CookieManager):
    """The library's cookie manager without its "read all cookies" component.

    That component reports back on every page load and so reruns the app a
    moment after it first appears; a sign-in submitted in that moment was
    lost (the rerun interrupts the run holding the click). We read cookies
    from ``st.context.cookies`` instead; setting and deleting still go through
    the component.
    """

    def __init__(self, key: str = "init") -> None:
        self.cookie_manager = self._component()
        self.cookies = {}

    def delete(self, cookie: str, key: str = "delete") -> None:
        self.cookie_manager(method="delete", cookie=cookie, key=key, default=False)
        self.cookies.pop(cookie, None)

    @staticmethod
    def _component():
        from extra_streamlit_components.CookieManager import _component_func

        return _component_func


class _QuietStx:
    CookieManager = _QuietCookieManager


# Only streamlit-authenticator's cookie model sees the quiet manager.
cookie_model.stx = _QuietStx


def _new_token(username: str, key: str, expires_at: datetime) -> str:
    # Library-compatible payload (username, exp_date) plus a random session id,
    # so every sign-in gets its own unguessable token.
    payload = {"username": username, "exp_date": expires_at.timestamp(),
               "sid": secrets.token_urlsafe(24)}
    return jwt.encode(payload, key, algorithm="HS256")


def _signature_ok(token: str, key: str) -> bool:
    try:
        jwt.decode(token, key, algorithms=["HS256"])
        return True
    except jwt.PyJWTError:
        return False


def _is_https() -> bool:
    try:
        url = st.context.url or ""
        proto = st.context.headers.get("X-Forwarded-Proto", "")
    except Exception:  # no browser context (AppTest)
        return False
    return url.startswith("https://") or proto.lower() == "https"


def _source_address() -> str:
    """Where this browser connects from; None (the server's own machine) is one address.

    Behind a reverse proxy this is its ``X-Forwarded-For``, which uvicorn
    trusts from 127.0.0.1 only (``FORWARDED_ALLOW_IPS``).
    """
    try:
        ip = st.context.ip_address
    except Exception:  # no browser context
        ip = None
    return dbauth.source_address(ip if isinstance(ip, str) else None)  # AppTest gives a mock


def _attempt_sign_in(name: str, password: str) -> dbauth.SignInAttempt:
    """db.auth's check of one attempt, after the slow-down it asks for (outside any transaction)."""
    with db_session() as session:
        delay = dbauth.sign_in_delay(session, name)
    if delay:
        time.sleep(delay)
    with db_session() as session:
        outcome = dbauth.attempt_sign_in(session, name, password, _source_address())
        session.commit()
    return outcome


class SignIn:
    """One run's sign-in machinery. Build it before ``st.navigation`` on every run."""

    def __init__(self, cookie_key: str, settings: dbauth.SessionSettings) -> None:
        self.key = cookie_key
        self.settings = settings
        self.authenticator: stauth.Authenticate | None = None

    # --- every run -------------------------------------------------------------

    def establish(self) -> dbauth.SignedIn | None:
        """The signed-in user after checking the server-side session, or None.

        Sets or clears ``st.session_state["current_user"]`` accordingly.
        """
        if st.session_state.get(AUTH_KEY) and not session_socket.still_bound(
                st.session_state[AUTH_KEY]["token_hash"], COOKIE_NAME):
            self._leave_socket()
        signed_in = self._check_current() if st.session_state.get(AUTH_KEY) else self._restore_from_cookie()
        self._build_authenticator(signed_in)
        if signed_in is None:
            st.session_state.pop(CURRENT_USER_KEY, None)
            for key in LIBRARY_KEYS:
                st.session_state[key] = None
        else:
            st.session_state[CURRENT_USER_KEY] = CurrentUser(
                signed_in.staff_id, signed_in.username, signed_in.full_name, signed_in.role)
            # Keep the library's idea of who is signed in in step with ours.
            st.session_state.update({"authentication_status": True, "username": signed_in.username,
                                     "name": signed_in.full_name, "roles": [signed_in.role]})
        session_socket.publish(
            signed_in.role if signed_in is not None and not signed_in.must_change_password else None,
            (st.session_state.get(AUTH_KEY) or {}).get("token_hash"))
        return signed_in

    def _check_current(self) -> dbauth.SignedIn | None:
        token_hash = st.session_state[AUTH_KEY]["token_hash"]
        with db_session() as session:
            check = dbauth.check_session(session, token_hash, self.settings)
            session.commit()
        if check.user is None:
            self._forget(check.reason)
        return check.user

    def _restore_from_cookie(self) -> dbauth.SignedIn | None:
        # A new browser session (a reload, a new tab): the cookie may name a live session.
        try:
            raw = st.context.cookies.get(COOKIE_NAME)
        except Exception:  # no browser context (AppTest)
            raw = None
        if not isinstance(raw, str) or not raw:
            return None
        token_hash = dbauth.token_hash(raw)
        if token_hash == st.session_state.get(DEAD_COOKIE_KEY) or not _signature_ok(raw, self.key):
            return None
        with db_session() as session:
            check = dbauth.check_session(session, token_hash, self.settings)
            session.commit()
        if check.user is None:
            st.session_state[DEAD_COOKIE_KEY] = token_hash
            if check.reason in ("idle", "expired", "inactive"):
                self._notice(check.reason)
            return None
        st.session_state[AUTH_KEY] = {"token_hash": token_hash}
        session_socket.bind()
        return check.user

    def _forget(self, reason: str | None) -> None:
        auth = st.session_state.pop(AUTH_KEY, None)
        if auth:
            st.session_state[DEAD_COOKIE_KEY] = auth["token_hash"]
        st.session_state.pop(PENDING_KEY, None)
        st.session_state.pop(CURRENT_USER_KEY, None)
        session_socket.publish(None, None)
        if reason in NOTICES:
            self._notice(reason)

    def _leave_socket(self) -> None:
        # The session id came back over a connection without this sign-in's
        # cookie: drop the sign-in here, audited, but not the server-side
        # session (its own browser reconnects with the cookie).
        session_socket.refuse_new_socket(st.session_state.get(CURRENT_USER_KEY))
        for key in (AUTH_KEY, PENDING_KEY, CURRENT_USER_KEY):
            st.session_state.pop(key, None)

    def _notice(self, reason: str) -> None:
        minutes = self.settings.idle_minutes
        idle = f"{minutes:g} minute" + ("" if minutes == 1 else "s")
        st.session_state[NOTICE_KEY] = NOTICES[reason].format(idle=idle)

    # --- the library -------------------------------------------------------------

    def _build_authenticator(self, signed_in: dbauth.SignedIn | None) -> None:
        # Passwords are checked by db.auth (attempt_sign_in), never by the library.
        credentials = {"usernames": {}}
        if signed_in is None:
            # Reach the database anyway, so an outage shows before anyone types a password.
            with db_session() as session:
                session.execute(select(1))
        # Built on every run: the form, sign-out and cookie writes all go through it.
        self.authenticator = stauth.Authenticate(
            credentials, COOKIE_NAME, self.key, 1, auto_hash=False, login_sleep_time=0)
        controller = self.authenticator.authentication_controller
        library_login = controller.login

        def login(username=None, password=None, *args, token=None, **kwargs):
            if token is not None and not username:
                # The library's cookie re-login would accept a revoked cookie: ours decides.
                return None
            return self._check_password(library_login, username, password, *args, **kwargs)

        controller.login = login
        # The library writes its cookie once, right after login; ours is written
        # until the browser confirms it (see write_cookie).
        self.authenticator.cookie_controller.set_cookie = lambda: None

    def _check_password(self, library_login, username, password, *args, **kwargs) -> bool | None:
        name = dbauth.normalize_username(username)
        if not name or not password:
            st.session_state[FAILED_KEY] = "Enter your username and password."
            return None
        # The library strips the password before checking; so do we.
        outcome = _attempt_sign_in(name, password.strip())
        if outcome.ok:
            try:
                self._start(name)
            except ValueError:  # deactivated between the check and now
                pass
            else:
                st.session_state.pop(FAILED_KEY, None)
                return True
        for key in LIBRARY_KEYS:
            st.session_state[key] = None
        st.session_state["authentication_status"] = False
        st.session_state[FAILED_KEY] = GENERIC_FAILURE
        return False

    def _start(self, username: str) -> None:
        """Open a server-side session and queue its cookie."""
        with db_session() as session:
            staff_row = dbstaff.get_by_username(session, username)
            if staff_row is None or not staff_row.active:
                raise ValueError("inactive")
            now = utcnow()
            expires_at = now + self.settings.lifetime(staff_row.role)
            token = _new_token(username, self.key, expires_at)
            dbauth.start_session(session, username, token, now)
            session.commit()
        st.session_state[AUTH_KEY] = {"token_hash": dbauth.token_hash(token)}
        session_socket.bind()
        st.session_state[PENDING_KEY] = {"token": token, "expires": expires_at.isoformat(),
                                         "nonce": secrets.token_hex(4)}
        st.session_state.pop(NOTICE_KEY, None)

    def write_cookie(self) -> None:
        """Hand a new sign-in's cookie to the browser; call on every signed-in run.

        The component is drawn again on each run until it reports that the
        browser has the cookie. dashboard.py draws it at the foot of the
        sidebar, where its empty frame takes no room from the page.
        """
        pending = st.session_state.get(PENDING_KEY)
        if not pending or self.authenticator is None:
            return
        manager = self.authenticator.cookie_controller.cookie_model.cookie_manager
        options = {"path": "/", "expires": pending["expires"], "sameSite": "strict"}
        if _is_https():
            options["secure"] = True
        done = manager.cookie_manager(method="set", cookie=COOKIE_NAME, value=pending["token"],
                                      options=options, key=f"kap_cookie_set_{pending['nonce']}",
                                      default=False)
        if done:
            st.session_state.pop(PENDING_KEY, None)

    def watch_idle(self, signed_in: dbauth.SignedIn) -> None:
        """Clear the screen when the idle limit passes, even if nobody clicks.

        A fragment re-checks (once a minute at the default 15-minute limit)
        without counting as activity; when the session has run out it reruns the
        whole app, which shows sign-in.
        """
        limit = self.settings.idle_limit(signed_in.role)
        if limit is None:
            return
        token_hash = st.session_state[AUTH_KEY]["token_hash"]
        every = max(5.0, min(60.0, limit.total_seconds() / 3))

        @st.fragment(run_every=every)
        def idle_watch() -> None:
            if st.session_state.get(AUTH_KEY, {}).get("token_hash") != token_hash:
                return
            try:
                with db_session() as session:
                    check = dbauth.check_session(session, token_hash, self.settings, touch=False)
                    session.commit()
            except DatabaseUnavailable:
                return
            if check.user is None:
                self._forget(check.reason)
                st.rerun(scope="app")

        with st.sidebar:
            idle_watch()

    # --- pages and buttons --------------------------------------------------------------

    def login_form(self) -> bool:
        """Draw the sign-in form; True once this run signed someone in."""
        assert self.authenticator is not None
        self.authenticator.login(
            location="main", key="kap_login", clear_on_submit=True,
            fields={"Form name": "Sign in", "Username": "Username", "Password": "Password",
                    "Login": "Sign in"})
        message = st.session_state.get(FAILED_KEY)
        if message and not st.session_state.get(AUTH_KEY):
            st.error(message, icon=":material/lock:")
        return bool(st.session_state.get(AUTH_KEY))

    def sign_out(self) -> None:
        auth = st.session_state.get(AUTH_KEY)
        if auth:
            with db_session() as session:
                dbauth.end_session(session, auth["token_hash"], reason="signed out")
                session.commit()
        self._forget(None)
        if self.authenticator is not None and st.session_state.get("authentication_status"):
            # Clears the library's state and deletes the browser's cookie; the
            # session row is already ended, so a copy of the cookie is useless.
            self.authenticator.logout(location="unrendered")
        for key in LIBRARY_KEYS:
            st.session_state[key] = None
        self._notice("signed_out")

    def change_password(self, signed_in: dbauth.SignedIn, new: str, repeat: str) -> str | None:
        """Set a new password for the signed-in user; an error sentence, or None when done.

        Changing the password ends every session of the user (db.staff), so a
        fresh one is opened for this browser.
        """
        if new != repeat:
            return "The two passwords differ."
        if new != new.strip():
            return "The password must not start or end with a space."
        try:
            check_strength(new)
        except WeakPassword as exc:
            return str(exc)
        with db_session() as session:
            staff_row = dbstaff.get_by_username(session, signed_in.username)
            if staff_row is not None and verify_password(new, staff_row.password_hash):
                return "Choose a password different from the current one."
            dbstaff.set_password(session, signed_in.username, new, actor=signed_in.username,
                                 must_change=False)
            session.commit()
        st.session_state.pop(AUTH_KEY, None)
        self._start(signed_in.username)
        return None
