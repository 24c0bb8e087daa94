"""Streamlit's own protocol, spoken the way an attacker does: plain HTTP and a raw websocket.

``RawSession`` connects to ``/_stcore/stream`` (optionally with somebody
else's session id, optionally without any cookie), asks for a run, and
collects every text the server sends back. ``xsrf_cookie`` gets the
double-submit token that uploads and the websocket need. ``session_ids`` reads
the session ids a real browser's (Playwright) websocket is given.
"""
from __future__ import annotations

import time
import urllib.request
from dataclasses import dataclass, field

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.sync.client import connect

XSRF_COOKIE = "_streamlit_xsrf"


def xsrf_cookie(base: str) -> str:
    """A fresh XSRF cookie value, as Streamlit sets it on any page or health check."""
    with urllib.request.urlopen(f"{base}/_stcore/health", timeout=10) as response:
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            if name.strip() == XSRF_COOKIE:
                return rest.split(";", 1)[0]
    raise AssertionError("the server set no XSRF cookie")


def rss_bytes(pid: int) -> int:
    """Resident memory of a process (Linux)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@dataclass
class RunResult:
    session_id: str | None
    texts: list[str] = field(default_factory=list)
    finished: int = 0
    downloads: dict[str, str] = field(default_factory=dict)  # label -> deferred file id

    @property
    def text(self) -> str:
        return "\n".join(self.texts)


class RawSession:
    """One websocket to /_stcore/stream; ``cookies`` are all the handshake sends."""

    def __init__(self, base: str, *, session_id: str | None = None,
                 cookies: dict[str, str] | None = None) -> None:
        self.base = base
        self.xsrf = xsrf_cookie(base)
        jar = {XSRF_COOKIE: self.xsrf, **(cookies or {})}
        protocols = ["streamlit", self.xsrf] + ([session_id] if session_id else [])
        self._connection = connect(
            base.replace("http://", "ws://") + "/_stcore/stream",
            subprotocols=protocols, origin=base, max_size=None, open_timeout=15,
            additional_headers={"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())})
        self.ws = self._connection.__enter__()
        self.session_id = session_id

    def run(self, *, query: str = "", page: str = "", settle: float = 2.0,
            timeout: float = 60.0) -> RunResult:
        """Ask for a run and collect what comes back until the app has been quiet for ``settle`` s."""
        msg = BackMsg()
        msg.rerun_script.query_string = query
        msg.rerun_script.page_name = page
        self.ws.send(msg.SerializeToString())
        result = RunResult(self.session_id)
        deadline = time.monotonic() + timeout
        quiet_until = None
        while time.monotonic() < deadline:
            wait = 1.0 if quiet_until is None else max(0.05, quiet_until - time.monotonic())
            try:
                raw = self.ws.recv(timeout=wait)
            except TimeoutError:
                if quiet_until is not None and time.monotonic() >= quiet_until:
                    break
                continue
            if isinstance(raw, str):
                continue
            fwd = ForwardMsg()
            fwd.ParseFromString(raw)
            kind = fwd.WhichOneof("type")
            if kind == "new_session":
                result.session_id = self.session_id = fwd.new_session.initialize.session_id
            elif kind == "delta":
                result.texts.append(str(fwd.delta))
                element = fwd.delta.new_element
                if element.WhichOneof("type") == "download_button":
                    button = element.download_button
                    result.downloads[button.label] = button.deferred_file_id
            elif kind == "script_finished":
                result.finished += 1
                quiet_until = time.monotonic() + settle
            if kind != "script_finished" and quiet_until is not None:
                quiet_until = time.monotonic() + settle
        return result

    def deferred_file(self, file_id: str, timeout: float = 60.0) -> tuple[str, str]:
        """Ask for a deferred download's file as the browser does, without any click:
        (url, error message)."""
        msg = BackMsg()
        msg.backend_operation_request.request_id = f"raw-{file_id}"
        msg.backend_operation_request.session_id = self.session_id or ""
        msg.backend_operation_request.deferred_file.file_id = file_id
        self.ws.send(msg.SerializeToString())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                raw = self.ws.recv(timeout=1.0)
            except TimeoutError:
                continue
            if isinstance(raw, str):
                continue
            fwd = ForwardMsg()
            fwd.ParseFromString(raw)
            if fwd.WhichOneof("type") == "backend_operation_response":
                answer = fwd.backend_operation_response
                return answer.deferred_file.url, answer.error_msg
        raise AssertionError("no answer to the deferred file request")

    def close(self) -> None:
        self._connection.__exit__(None, None, None)

    def __enter__(self) -> RawSession:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def session_ids(page) -> list[str]:
    """Start recording the session ids a Playwright page's websocket is given (call before goto)."""
    seen: list[str] = []

    def on_frame(payload) -> None:
        if isinstance(payload, (bytes, bytearray)):
            fwd = ForwardMsg()
            try:
                fwd.ParseFromString(bytes(payload))
            except Exception:  # noqa: BLE001 - not a ForwardMsg
                return
            if fwd.WhichOneof("type") == "new_session":
                seen.append(fwd.new_session.initialize.session_id)

    page.on("websocket", lambda ws: ws.on("framereceived", on_frame))
    return seen


def multipart(size: int, name: str = "patients.csv") -> tuple[bytes, str]:
    """A multipart/form-data body of one file of ``size`` bytes, and its content type."""
    boundary = "kaptestboundary7MA4YWxkTrZu0gW"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
            "Content-Type: text/csv\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    return head + b"x" * size + tail, f"multipart/form-data; boundary={boundary}"
