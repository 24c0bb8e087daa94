"""Staff accounts and the server-side state that sign-in needs."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..limits import IDENTIFIER_MAX
from .base import Base, enum_check

ROLES = ("therapist", "medical_director", "admin", "team_screen")


class Staff(Base):
    __tablename__ = "staff"
    __table_args__ = (CheckConstraint(enum_check("role", ROLES), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(IDENTIFIER_MAX), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(32))
    # bcrypt hash; NULL until a password is set (the account cannot sign in).
    password_hash: Mapped[str | None] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(default=True)
    # Set by an admin's password reset: the user chooses a new one at next sign-in.
    must_change_password: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class LoginThrottle(Base):
    """Failed sign-ins, aggregated: one row per (account, source address).

    ``username`` is a real account's username, ``UNKNOWN_ACCOUNT`` for every
    name that has no account, or ``ANY_ACCOUNT`` for the address's total over
    all names. Usernames never start with either marker (db.staff.USERNAME_RE).
    A failed attempt updates at most two rows and never adds one per attempt,
    so a flood costs a bounded amount; db.auth holds the rules.
    """

    __tablename__ = "login_throttle"
    __table_args__ = (
        UniqueConstraint("username", "address", name="uq_login_throttle_username_address"),
        Index("ix_login_throttle_last_at", "last_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(IDENTIFIER_MAX))
    address: Mapped[str] = mapped_column(String(64))
    # Failures counted in the current streak (or window, for ANY_ACCOUNT).
    failures: Mapped[int] = mapped_column(Integer, default=0)
    # Attempts refused while locked: shown to admins, never lengthen the lock.
    refused: Mapped[int] = mapped_column(Integer, default=0)
    first_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AuthSession(Base):
    """A signed-in browser session, revocable server-side.

    The cookie carries only ``token_hash``'s preimage; ending a row here signs
    that cookie out for good, whatever the browser still holds.
    """

    __tablename__ = "auth_session"
    __table_args__ = (Index("ix_auth_session_staff_id_ended_at", "staff_id", "ended_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    end_reason: Mapped[str | None] = mapped_column(Text)
