"""The app's secrets and the rules a deployment's cookie key must meet.

Secrets come from Streamlit (``.streamlit/secrets.toml``); AppTest can inject
them with ``at.secrets``. Demo mode generates its own key instead.
"""
from __future__ import annotations

import os
import secrets as pysecrets
import tomllib
from pathlib import Path

import streamlit as st

from db import config
from db.auth import SessionSettings

MIN_COOKIE_KEY_LENGTH = 32
EXAMPLE_SECRETS = config.PROJECT_ROOT / ".streamlit" / "secrets.toml.example"
# Keys printed in streamlit-authenticator's documentation and in tutorials:
# anyone can sign cookies with them.
WELL_KNOWN_KEYS = frozenset({
    "some_key", "some_signature_key", "random_signature_key", "abcdef", "secret",
    "changeme", "change-me", "your-secret-key", "cookie_key",
})


class ConfigRefused(RuntimeError):
    """The deployment's secrets are unusable; the text says why, in plain words."""


def app_secrets() -> dict:
    """The secrets Streamlit loaded, or {} when there are none."""
    try:
        return st.secrets.to_dict()
    except FileNotFoundError:  # StreamlitSecretNotFoundError subclasses it
        return {}


def is_demo_mode() -> bool:
    return config.is_demo_mode(app_secrets())


def session_settings(secrets: dict | None = None) -> SessionSettings:
    auth = (app_secrets() if secrets is None else secrets).get("auth", {})
    defaults = SessionSettings()

    def number(name: str, default: float) -> float:
        value = auth.get(name, default)
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise ConfigRefused(f"[auth] {name} in secrets must be a number, not {value!r}.") from None
        if value <= 0:
            raise ConfigRefused(f"[auth] {name} in secrets must be greater than 0.")
        return value

    return SessionSettings(
        idle_minutes=number("idle_minutes", defaults.idle_minutes),
        max_session_hours=number("max_session_hours", defaults.max_session_hours),
        team_screen_days=number("team_screen_days", defaults.team_screen_days),
    )


def example_key() -> str | None:
    try:
        with EXAMPLE_SECRETS.open("rb") as fh:
            return tomllib.load(fh).get("auth", {}).get("cookie_key")
    except (FileNotFoundError, tomllib.TOMLDecodeError):
        return None


def check_cookie_key(key: object) -> str:
    """The key if a deployment may use it; else ConfigRefused saying why."""
    where = "[auth] cookie_key in .streamlit/secrets.toml"
    if not isinstance(key, str) or not key.strip():
        raise ConfigRefused(
            f"No cookie key is set. Add {where}: a random string of at least "
            f"{MIN_COOKIE_KEY_LENGTH} characters, the same on every app server "
            "(for example the output of `python -c \"import secrets; print(secrets.token_urlsafe(48))\"`)."
        )
    if len(key) < MIN_COOKIE_KEY_LENGTH:
        raise ConfigRefused(
            f"The cookie key is too short ({len(key)} characters). {where} must be at least "
            f"{MIN_COOKIE_KEY_LENGTH} random characters."
        )
    if key in WELL_KNOWN_KEYS or key == example_key():
        raise ConfigRefused(
            f"The cookie key is a published example key: anyone could forge sign-in cookies with it. "
            f"Put a new random key in {where}."
        )
    if len(set(key)) < 10:
        raise ConfigRefused(
            f"The cookie key repeats a few characters; it is not random. Put a new random key in {where}."
        )
    return key


def demo_cookie_key(data_dir: Path | None = None) -> str:
    """The demo's own key: generated once, kept in data/cookie_key, owner-only."""
    data_dir = data_dir or config.DATA_DIR
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = data_dir / "cookie_key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        os.chmod(path, 0o600)
        key = path.read_text().strip()
        if len(key) >= MIN_COOKIE_KEY_LENGTH:
            return key
        # A damaged key file: replace it (old demo cookies simply stop working).
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC, 0o600)
    key = pysecrets.token_urlsafe(48)
    with os.fdopen(fd, "w") as fh:
        fh.write(key + "\n")
    return key


def cookie_key() -> str:
    """The key that signs sign-in cookies, or ConfigRefused outside demo mode."""
    if is_demo_mode():
        return demo_cookie_key()
    return check_cookie_key(app_secrets().get("auth", {}).get("cookie_key"))
