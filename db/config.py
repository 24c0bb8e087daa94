"""Where the clinic database lives.

Order: the ``DATABASE_URL`` environment variable, else ``[connections.clinic] url``
in ``.streamlit/secrets.toml``, else the embedded demo database ``data/clinic.db``.
"""
from __future__ import annotations

import os
import tomllib
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# KAP_DATA_DIR moves the embedded demo database and the demo cookie key elsewhere
# (browser tests run the app against a throw-away folder, never the repo's data/).
DATA_DIR = Path(os.environ.get("KAP_DATA_DIR", "").strip() or PROJECT_ROOT / "data").resolve()
DEFAULT_SQLITE_PATH = DATA_DIR / "clinic.db"
SECRETS_PATH = PROJECT_ROOT / ".streamlit" / "secrets.toml"


def read_secrets(path: Path = SECRETS_PATH) -> dict:
    """The parsed secrets file, or an empty dict when there is none."""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        return {}


def configured_url(secrets: dict | None = None) -> str | None:
    """The URL a deployment configured, or None when running on the embedded default."""
    env = os.environ.get("DATABASE_URL", "").strip()
    if env:
        return env
    secrets = read_secrets() if secrets is None else secrets
    url = secrets.get("connections", {}).get("clinic", {}).get("url")
    return url.strip() if isinstance(url, str) and url.strip() else None


def database_url(secrets: dict | None = None) -> str:
    return configured_url(secrets) or f"sqlite:///{DEFAULT_SQLITE_PATH}"


def is_demo_mode(secrets: dict | None = None) -> bool:
    """Demo mode: no database configured and no secrets file at all.

    A real deployment (a ``DATABASE_URL`` or a secrets file) never gets demo
    accounts or generated keys.
    """
    if os.environ.get("DATABASE_URL", "").strip():
        return False
    secrets = read_secrets() if secrets is None else secrets
    return not secrets
