"""Bring any database to the newest schema with Alembic."""
from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from .config import PROJECT_ROOT
from .models import ProtocolSettings
from .engine import session_factory


def alembic_config() -> Config:
    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "db" / "migrations"))
    return cfg


def upgrade(engine: Engine) -> None:
    """Migrate to head, then make sure the protocol settings row exists."""
    cfg = alembic_config()
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")
    with session_factory(engine)() as session, session.begin():
        if session.get(ProtocolSettings, 1) is None:
            session.add(ProtocolSettings(id=1))
