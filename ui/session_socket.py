"""A sign-in belongs to the connection it was made on, not to a Streamlit session id (issue 15).

Anyone who connects to ``/_stcore/stream`` with another browser's session id
(they appear in upload URLs, hence in proxy and server logs) resumes that
session's ``st.session_state``, sign-in included. So ui/session.py records the
socket a sign-in was made or restored on (its ``Sec-WebSocket-Key``, fresh for
every connection) and, when a run arrives over another socket, keeps the
sign-in only if that socket's handshake carried the sign-in's own cookie.
``st.context.cookies`` holds the handshake's cookies, which is what is wanted:
a browser reconnecting after a network blip sends the cookie, someone holding
only the session id does not.

It also tells ui/http_guard.py, on every run, whether this session is signed
in and as whom, so uploads and exported files are refused to everyone else.
"""
from __future__ import annotations

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from db import auth as dbauth

from . import http_guard

SOCKET_KEY = "_kap_socket"  # Sec-WebSocket-Key of the connection the sign-in is bound to


def current_socket() -> str | None:
    """This run's connection key, or None without a browser (AppTest)."""
    try:
        value = st.context.headers.get("Sec-WebSocket-Key")
    except Exception:  # noqa: BLE001 - no browser context
        return None
    return value if isinstance(value, str) and value else None


def _handshake_cookie(cookie_name: str) -> str | None:
    try:
        value = st.context.cookies.get(cookie_name)
    except Exception:  # noqa: BLE001 - no browser context
        return None
    return value if isinstance(value, str) and value else None


def bind() -> None:
    """Bind the sign-in being made or restored in this run to this run's connection."""
    st.session_state[SOCKET_KEY] = current_socket()


def still_bound(token_hash: str, cookie_name: str) -> bool:
    """Whether a sign-in held in session state may be used over this run's connection.

    Same connection: yes. Another connection: only if its handshake carried the
    sign-in's cookie, and then the sign-in moves to it.
    """
    socket = current_socket()
    if socket is None or st.session_state.get(SOCKET_KEY) == socket:
        return True
    cookie = _handshake_cookie(cookie_name)
    if cookie is not None and dbauth.token_hash(cookie) == token_hash:
        st.session_state[SOCKET_KEY] = socket
        return True
    return False


def session_id() -> str | None:
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else None


def publish(role: str | None, token_hash: str | None) -> None:
    """Tell the HTTP guard this session's sign-in (role and cookie hash), or that there is none."""
    if role is None or token_hash is None:
        http_guard.revoke(session_id())
    else:
        http_guard.grant(session_id(), role, token_hash)


def refuse_new_socket(user: object) -> None:
    """Audit a sign-in refused because its session id came back over a connection without its cookie."""
    from db import audit

    from .database import db_session

    with db_session() as session:
        audit.record(session, getattr(user, "username", None) or "(signed out)", "access.denied",
                     None, page="(session)", role=getattr(user, "role", None),
                     reason="session id reused on a new connection without the sign-in cookie")
        session.commit()
    http_guard.revoke(session_id())
