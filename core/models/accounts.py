from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, Timestamped, UUIDPk, utcnow
from core.models.offices import Office
from core.models.types import BigIntPk


class Role(StrEnum):
    resident = "resident"
    courier = "courier"
    operator = "operator"
    rw_admin = "rw_admin"
    office_admin = "office_admin"
    platform_admin = "platform_admin"


STAFF_ROLES = frozenset({Role.courier, Role.operator, Role.rw_admin, Role.office_admin,
                         Role.platform_admin})


class User(UUIDPk, Timestamped, Base):
    """Any account. Platform admins have no office; everyone else belongs to exactly one."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("office_id", "nik_hash"),)

    office_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("offices.id"), index=True)
    role: Mapped[Role] = mapped_column(String(20))
    full_name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    username: Mapped[str | None] = mapped_column(String(60), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    # NIK: Fernet ciphertext plus a keyed hash for duplicate checks; never the plain digits.
    nik_ciphertext: Mapped[str | None] = mapped_column(Text)
    nik_hash: Mapped[str | None] = mapped_column(String(64))
    nik_last4: Mapped[str | None] = mapped_column(String(4))
    address: Mapped[str | None] = mapped_column(Text)
    rt: Mapped[str | None] = mapped_column(String(3))
    rw: Mapped[str | None] = mapped_column(String(3))
    lat: Mapped[float | None]
    lng: Mapped[float | None]
    is_active: Mapped[bool] = mapped_column(default=True)
    last_login_at: Mapped[datetime | None]

    office: Mapped[Office | None] = relationship(lazy="joined")

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def nik_masked(self) -> str | None:
        return f"************{self.nik_last4}" if self.nik_last4 else None


class AuthSession(UUIDPk, Base):
    """A sign-in: bearer token for API clients, or a cookie session with its CSRF token."""

    __tablename__ = "auth_sessions"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    client_ip: Mapped[str | None] = mapped_column(String(64))

    user: Mapped[User] = relationship(lazy="joined")


class OtpChallenge(Base):
    """A one-time sign-in code sent to a phone; only its hash is stored."""

    __tablename__ = "otp_challenges"
    __table_args__ = (
        Index("ix_otp_challenges_phone_created", "phone", "created_at"),
        Index("ix_otp_challenges_client_created", "client_ip", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    phone: Mapped[str] = mapped_column(String(20))
    code_hash: Mapped[str] = mapped_column(String(64))
    client_ip: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    consumed_at: Mapped[datetime | None]
