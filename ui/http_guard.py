"""What the web server refuses before Streamlit sees a request (issue 15).

dashboard.py hands ``middleware()`` to ``st.App``; ``streamlit run dashboard.py``
finds that ``app`` and serves it through uvicorn. The middleware is plain ASGI
(it never reads a request body) and does three things:

- **uploads** (``PUT /_stcore/upload_file/<session id>/<file id>``) are taken
  only for a Streamlit session whose last run was signed in as a role that may
  open the Import page, and only from a browser that sends that sign-in's
  cookie. Anyone else gets 403 before a byte of the body is read, so anonymous
  uploads cannot fill memory. Streamlit itself accepted them from any session;
- **exported files** (``/media/...``) are served only to a browser whose cookie
  belongs to a live signed-in Streamlit session, and always with
  ``Cache-Control: no-store``;
- **headers**: every HTTP response says who may frame it, what may run in it
  and what it may leak (``SECURITY_HEADERS``).

The grants are kept in this process: the script calls ``grant`` or ``revoke``
on every run (ui/session.py), and a grant dies with its Streamlit session.
"""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

from starlette.requests import cookie_parser

from db.auth import token_hash

from .pages import IMPORT_DATA, roles_for

#: Roles whose sessions may upload: exactly those that may open the Import page.
UPLOAD_ROLES: frozenset[str] = frozenset(roles_for(IMPORT_DATA))

# Streamlit needs inline styles and scripts, and Vega compiles chart
# expressions with ``new Function``; components (the cookie writer) run in
# same-origin iframes, so frames are allowed from 'self' only.
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
    "style-src 'self' 'unsafe-inline'",
    # The favicon (page_icon=":material/...") is drawn from Google's icon font service.
    "img-src 'self' data: blob: https://fonts.gstatic.com",
    "font-src 'self' data:",
    "connect-src 'self' ws: wss:",
    "media-src 'self' blob:",
    "worker-src 'self' blob:",
    "frame-src 'self'",
    "frame-ancestors 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
))

SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "SAMEORIGIN",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}

_UPLOAD = re.compile(r"/_stcore/upload_file/(?P<session>[^/]+)/[^/]+/?$")
_MEDIA = re.compile(r"^/media/")


@dataclass(frozen=True)
class Grant:
    role: str
    token_hash: str  # SHA-256 of the sign-in cookie (db.auth.token_hash)


_lock = threading.Lock()
_grants: dict[str, Grant] = {}


def grant(session_id: str | None, role: str, token_hash: str) -> None:
    """Record that Streamlit session ``session_id`` is signed in (called on every signed-in run)."""
    if session_id:
        with _lock:
            _grants[session_id] = Grant(role, token_hash)
            crowded = len(_grants) > _PRUNE_ABOVE
        if crowded:  # browsers closed without signing out leave grants behind
            _prune()


_PRUNE_ABOVE = 500


def _prune() -> None:
    with _lock:
        ids = list(_grants)
    dead = [sid for sid in ids if not _live(sid)]
    with _lock:
        for sid in dead:
            _grants.pop(sid, None)


def revoke(session_id: str | None) -> None:
    """Forget a session's sign-in (called on every signed-out run and at sign-out)."""
    if session_id:
        with _lock:
            _grants.pop(session_id, None)


def grant_of(session_id: str | None) -> Grant | None:
    """The sign-in this process last saw for a Streamlit session, or None."""
    if not session_id:
        return None
    with _lock:
        return _grants.get(session_id)


def _live(session_id: str) -> bool:
    try:
        from streamlit import runtime

        return runtime.get_instance().is_active_session(session_id)
    except Exception:  # noqa: BLE001 - no runtime (unit tests): trust the grant table
        return True


def _cookie_name() -> str:
    from .session import COOKIE_NAME  # ui.session imports this module: import it late

    return COOKIE_NAME


def _cookie_hash(scope: dict[str, Any]) -> str | None:
    """db.auth.token_hash of the sign-in cookie the request carries, or None."""
    cookie_name = _cookie_name()
    for name, value in scope.get("headers", ()):
        if name == b"cookie":
            found = cookie_parser(value.decode("latin-1")).get(cookie_name)
            if found:
                return token_hash(found)
    return None


def upload_allowed(session_id: str, cookie_hash: str | None) -> bool:
    with _lock:
        found = _grants.get(session_id)
    return (found is not None and cookie_hash is not None and found.role in UPLOAD_ROLES
            and found.token_hash == cookie_hash and _live(session_id))


def media_allowed(cookie_hash: str | None) -> bool:
    if cookie_hash is None:
        return False
    with _lock:
        sessions = [sid for sid, g in _grants.items() if g.token_hash == cookie_hash]
    return any(_live(sid) for sid in sessions)


def _with_headers(headers: list, extra: dict[str, str]) -> list:
    # Ours win over a header of the same name (e.g. a media file's Cache-Control).
    names = {name.lower().encode() for name in extra}
    kept = [(n, v) for n, v in headers if n.lower() not in names]
    return kept + [(name.lower().encode(), value.encode("latin-1")) for name, value in extra.items()]


async def _refuse(send, status: int, text: str) -> None:
    body = text.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": _with_headers([(b"content-type", b"text/plain; charset=utf-8"),
                                          (b"content-length", str(len(body)).encode())],
                                         {**SECURITY_HEADERS, "Cache-Control": "no-store"})})
    await send({"type": "http.response.body", "body": body})


class HttpGuard:
    """Pure ASGI middleware: refuses uploads and media as above, adds the headers."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        method = scope.get("method", "GET")
        extra = dict(SECURITY_HEADERS)
        upload = _UPLOAD.search(path)
        if upload and method in ("PUT", "POST"):
            if not upload_allowed(upload.group("session"), _cookie_hash(scope)):
                await _refuse(send, 403, "Uploads need a signed-in session that may import.")
                return
        elif _MEDIA.search(path):
            extra["Cache-Control"] = "no-store"
            if not media_allowed(_cookie_hash(scope)):
                await _refuse(send, 403, "Sign in to download this file.")
                return

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": _with_headers(list(message.get("headers", [])), extra)}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def middleware() -> list:
    """The middleware list for ``st.App``."""
    from starlette.middleware import Middleware

    return [Middleware(HttpGuard)]
