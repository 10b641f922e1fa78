from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.models import AuthSession, LoginFailure, OtpChallenge, Role, User


class UserRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def by_phone(self, phone: str) -> User | None:
        return self.session.scalar(select(User).where(User.phone == phone))

    def by_username(self, username: str) -> User | None:
        return self.session.scalar(select(User).where(User.username == username))

    def nik_taken(self, office_id: uuid.UUID, nik_hash: str) -> bool:
        stmt = select(User.id).where(User.office_id == office_id, User.nik_hash == nik_hash)
        return self.session.scalar(stmt) is not None

    def in_office(self, office_id: uuid.UUID, user_id: uuid.UUID) -> User | None:
        return self.session.scalar(
            select(User).where(User.id == user_id, User.office_id == office_id)
        )

    def list_office(self, office_id: uuid.UUID | None, *, roles: list[Role] | None = None,
                    limit: int = 100, offset: int = 0) -> list[User]:
        stmt = select(User).order_by(User.created_at, User.id).limit(limit).offset(offset)
        if office_id is not None:
            stmt = stmt.where(User.office_id == office_id)
        if roles:
            stmt = stmt.where(User.role.in_([str(r) for r in roles]))
        return list(self.session.scalars(stmt))

    def add(self, user: User) -> User:
        self.session.add(user)
        self.session.flush()
        return user


class AuthSessionRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def by_token_hash(self, token_hash: str) -> AuthSession | None:
        return self.session.scalar(select(AuthSession).where(AuthSession.token_hash == token_hash))


class OtpRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def count_since(self, *, since: datetime, phone: str | None = None,
                    client_ip: str | None = None) -> int:
        stmt = select(func.count(OtpChallenge.id)).where(OtpChallenge.created_at >= since)
        if phone is not None:
            stmt = stmt.where(OtpChallenge.phone == phone)
        if client_ip is not None:
            stmt = stmt.where(OtpChallenge.client_ip == client_ip)
        return self.session.scalar(stmt) or 0

    def latest_open(self, phone: str, now: datetime) -> OtpChallenge | None:
        stmt = (
            select(OtpChallenge)
            .where(OtpChallenge.phone == phone, OtpChallenge.consumed_at.is_(None),
                   OtpChallenge.expires_at > now)
            .order_by(OtpChallenge.id.desc())
            .limit(1)
            .with_for_update()
        )
        return self.session.scalar(stmt)


class LoginFailureRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def count_since(self, *, since: datetime, username: str | None = None,
                    client_ip: str | None = None) -> int:
        stmt = select(func.count(LoginFailure.id)).where(LoginFailure.created_at >= since)
        if username is not None:
            stmt = stmt.where(LoginFailure.username == username)
        if client_ip is not None:
            stmt = stmt.where(LoginFailure.client_ip == client_ip)
        return self.session.scalar(stmt) or 0

    def add(self, *, username: str, client_ip: str, at: datetime) -> None:
        self.session.add(LoginFailure(username=username[:60], client_ip=client_ip[:64],
                                      created_at=at))
