"""Fetch what a deferred ``st.download_button`` serves, in AppTest.

A browser asks the server to run the button's callable and then fetches
``/media/<id>``; here the same MediaFileManager call runs the callable (no
click, as a client that skips it would do) and the stored file is read back.
AppTest makes a MediaFileManager per run and drops it afterwards, so
:func:`run_keeping_files` runs the app once more and keeps that run's manager.
"""
from __future__ import annotations

from unittest.mock import patch

import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import app_test as app_test_module

from ui import http_guard

# The Streamlit session id of every AppTest run (streamlit/testing/v1/local_script_runner.py).
APPTEST_SESSION = "test session id"


@pytest.fixture
def signed_in_browser():
    """This AppTest's browser session holds a sign-in, as ui/session.py publishes
    it in the app for each run; revoke it to play signing out."""
    http_guard.grant(APPTEST_SESSION, "signed-in", "hash-of-the-sign-in-cookie")
    yield
    http_guard.revoke(APPTEST_SESSION)


def run_keeping_files(at) -> MediaFileManager:
    """Run ``at`` once; the media file manager that run registered its downloads with."""
    kept: list[MediaFileManager] = []

    class Keeping(MediaFileManager):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            kept.append(self)

    with patch.object(app_test_module, "MediaFileManager", Keeping):
        at.run()
    assert not at.exception, at.exception
    return kept[-1]


def download(at, key: str, *, before_fetch=None) -> str:
    """Rerun ``at``, then fetch the file behind its download button ``key``, as text
    (``before_fetch()``, if given, runs between the two)."""
    manager = run_keeping_files(at)
    if before_fetch is not None:
        before_fetch()
    buttons = [b for b in at.get("download_button") if b.key == key]
    assert buttons, f"no download button {key!r} on the page"
    file_id = buttons[0].proto.deferred_file_id
    assert file_id, f"{key!r} is not a deferred download (its file was built at draw time)"
    url = manager.execute_deferred(file_id)
    return manager._storage.get_file(url.rsplit("/", 1)[-1]).content.decode("utf-8")
