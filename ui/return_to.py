"""Links that survive sign-in (issue 19): the page and patient a signed-out visitor asked for.

While nobody is signed in, dashboard.py registers the sign-in page under the
URL of every registered page as well (hidden, ``gate_routes``), so a link such
as ``/patient?patient=KAP-000088`` shows the sign-in form under that address
instead of Streamlit's "Page not found… Running the app's main page".

Each signed-out run keeps what was asked for in ``st.session_state``
(``remember``), which lives as long as the browser's Streamlit session: the
form's submit, the cookie component's reruns and an idle logoff's rerun all
stay in it. The first signed-in run takes it back (``take``) and opens that
page with those parameters. A role that may not open the page lands on it
anyway and is refused and audited there, as every other request is.

Nothing here can redirect anywhere else: only a page of ui/pages.py's
registry can be kept (matched on its URL path, never a URL), and only the
query parameters named in ``KEPT_PARAMS``, each checked with db/text_rules'
identifier check; the rest is dropped.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st

from db.text_rules import identifier_problem

from .pages import all_page_paths

RETURN_KEY = "_kap_return_to"

#: The query parameters a link may carry through sign-in, each with its check.
KEPT_PARAMS: dict[str, Callable[[str], str | None]] = {"patient": identifier_problem}


@dataclass(frozen=True)
class Requested:
    path: str                                   # a registered page file, e.g. "pages/patient.py"
    params: dict[str, str] = field(default_factory=dict)


def url_path_of(path: str) -> str:
    """The URL path Streamlit gives ``st.Page(path)``: the file's name without ``.py``."""
    return Path(path).stem


def requested(url_path: str, query: Mapping[str, object]) -> Requested | None:
    """What a visit to ``/<url_path>?<query>`` asks for, or None when it names no registered page."""
    path = next((p for p in all_page_paths() if url_path_of(p) == url_path), None)
    if path is None:
        return None
    params = {}
    for name, problem in KEPT_PARAMS.items():
        value = query.get(name)
        if isinstance(value, list):  # a parameter given twice: the last one, as st.query_params does
            value = value[-1] if value else None
        if isinstance(value, str) and value.strip() and problem(value.strip()) is None:
            params[name] = value.strip()
    return Requested(path, params)


def gate_routes(render: Callable[[], None], title: str, icon: str) -> list:
    """``render`` as the default page, and hidden under every registered page's URL too."""
    return [st.Page(render, title=title, icon=icon, default=True)] + [
        st.Page(render, title=title, icon=icon, url_path=url_path_of(path), visibility="hidden")
        for path in all_page_paths()]


def remember(page) -> None:
    """Keep the page (and its known parameters) this signed-out run was asked for.

    The app's own address (the sign-in page) keeps nothing and forgets an
    earlier request: the visitor has gone to the front door.
    """
    asked = requested(page.url_path, st.query_params.to_dict())
    if asked is None:
        st.session_state.pop(RETURN_KEY, None)
    else:
        st.session_state[RETURN_KEY] = asked


def take(page) -> None:
    """On a signed-in run: open the page kept before sign-in, once.

    ``page`` is what ``st.navigation`` resolved. When it already is the kept
    page, only the query parameters are set to the kept ones; otherwise this
    switches to the kept page (which ends this run).
    """
    asked = st.session_state.pop(RETURN_KEY, None)
    if not isinstance(asked, Requested):
        return
    if page.url_path != url_path_of(asked.path):
        st.switch_page(asked.path, query_params=asked.params)
    if st.query_params.to_dict() != asked.params:
        st.query_params.from_dict(asked.params)
