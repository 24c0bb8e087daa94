"""Cached reads for the caseload and patient pages.

Keys hold the scope (therapist id, patient chart and the asking user), the
as-of date and the protocol settings' version, so a saved settings change is
followed at once and data changes within a minute. Nothing here reads the
current user: pages pass the scope, after their own access check.
"""
from __future__ import annotations

import os
from datetime import date

import streamlit as st

from db.protocol import load_settings
from db.queries import caseload as cq
from db.queries import patient as pq
from ui.database import db_session

# How stale a caseload or record may be on a server other than the one that saved
# the change (the README's figure). KAP_PAGE_CACHE_SECONDS shortens it for tests.
CACHE_TTL_SECONDS = int(os.environ.get("KAP_PAGE_CACHE_SECONDS", "").strip() or 60)


def settings_version() -> int:
    """The protocol settings' version (one row), read on every run to key the caches."""
    with db_session() as session:
        return load_settings(session).version


@st.cache_data(ttl=CACHE_TTL_SECONDS, max_entries=64, show_spinner=False)
def load_caseload(as_of: date, settings_version: int,
                  therapist_id: int | None) -> list[cq.CaseloadRow]:
    del settings_version  # part of the key only
    with db_session() as session:
        return cq.caseload(session, as_of, therapist_id=therapist_id)


@st.cache_data(ttl=300, max_entries=4, show_spinner=False)
def load_therapists() -> list[cq.TherapistOption]:
    with db_session() as session:
        return cq.therapists(session)


@st.cache_data(ttl=CACHE_TTL_SECONDS, max_entries=32, show_spinner=False)
def load_record(chart: str, as_of: date, settings_version: int, user_role: str,
                user_id: int) -> pq.PatientRecord | None:
    """The record of ``chart`` if this user may see it, else None.

    The page checks and audits access before calling; checking again here
    means a cached record can never be handed to a user outside its scope.
    """
    del settings_version
    with db_session() as session:
        ref = pq.viewable_patient(session, chart, user_role, user_id)
        return None if ref is None else pq.patient_record(session, ref.pk, as_of)


# Not cached: one indexed lookup each, and an access decision must be fresh.
def find_patient(chart: str) -> pq.PatientRef | None:
    with db_session() as session:
        return pq.find_patient(session, chart)


def may_view(user_role: str, user_id: int, ref: pq.PatientRef | None) -> bool:
    with db_session() as session:
        return pq.can_view(session, user_role, user_id, ref)


def search_patients(text: str, therapist_id: int | None) -> list[pq.PatientRef]:
    with db_session() as session:
        return pq.search_patients(session, text, therapist_id=therapist_id)
