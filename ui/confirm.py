"""Confirmation for destructive or account-changing actions (deactivate, reset a
password, discontinue a series, cancel a booking, revoke anything).

A button opens a dialog that names the record and has one button named for the
action. What the dialog acts on is bound when the button is drawn: the record's
id travels with the pending confirmation, and a confirmation left pending for
another record than the one drawn now is dropped, never carried over.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from .text import md_escape

PENDING_KEY = "kap_confirm_pending"


def _forget() -> None:
    st.session_state.pop(PENDING_KEY, None)


def pending(key: str, record_id: Any) -> bool:
    """Whether the confirmation ``key`` is open for exactly this record."""
    return st.session_state.get(PENDING_KEY) == (key, record_id)


@st.dialog("Please confirm", on_dismiss=_forget)
def _dialog(key: str, record_id: Any, record_label: str, question: str, action_label: str,
            act: Callable[[], Any]) -> None:
    st.markdown(f"**{md_escape(record_label)}**")
    st.write(md_escape(question))
    go, back = st.columns(2)
    if back.button("Cancel", key=f"{key}__cancel", width="stretch"):
        _forget()
        st.rerun()
    if go.button(action_label, key=f"{key}__confirm", type="primary", width="stretch"):
        if not pending(key, record_id):  # the record changed under the dialog: act on nothing
            _forget()
            st.rerun()
        done = act()
        if done is not None and done is not False:
            _forget()
            st.rerun()
        # A refused action keeps the dialog open with its message (shown by ``act``).


def confirm_button(label: str, *, key: str, record_id: Any, record_label: str, question: str,
                   action_label: str, act: Callable[[], Any], **button_kwargs: Any) -> None:
    """Draw ``label``; pressing it asks for confirmation in a dialog naming ``record_label``.

    ``act`` is called only when the dialog's ``action_label`` button is pressed and
    the confirmation is still for ``record_id``; bind the record into ``act`` when
    drawing (e.g. ``lambda: deactivate(user_id)``), never read a widget inside it.
    ``act`` returns something truthy on success (the dialog closes and the page
    reruns) or None/False after showing why it was refused (the dialog stays).
    """
    if st.button(label, key=key, **button_kwargs):
        st.session_state[PENDING_KEY] = (key, record_id)
    held = st.session_state.get(PENDING_KEY)
    if held and held[0] == key and held[1] != record_id:
        _forget()  # asked for another record than the one now on screen
    if pending(key, record_id):
        _dialog(key, record_id, record_label, question, action_label, act)
