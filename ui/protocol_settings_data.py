"""Reads and the save for the Protocol settings page, each in its own session.

The rules (bounds, version check, audit) are ``db.protocol``'s: this module
only opens the session and commits, so the page never does.
"""
from __future__ import annotations

from db.protocol import ProtocolConfig, load_settings, update_settings
from ui.database import db_session


def current_settings() -> ProtocolConfig:
    with db_session() as session:
        return load_settings(session)


def save_settings(username: str, version: int, **values: object) -> ProtocolConfig:
    """Save ``values`` over settings ``version``; raises ``db.protocol``'s
    SettingsConflict (someone saved first) or SettingsError (a value refused)."""
    with db_session() as session:
        saved = update_settings(session, username, version, **values)
        session.commit()
        return saved
