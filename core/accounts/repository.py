from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.models import AuthSession, OtpChallenge, Role, User


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

    def revoke_all_of(self, user_id: uuid.UUID, now: datetime) -> int:
        stmt = (
            update(AuthSession)
            .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )
        return self.session.execute(stmt).rowcount or 0


class OtpRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, challenge: OtpChallenge) -> OtpChallenge:
        self.session.add(challenge)
        return challenge

    def latest_open(self, phone: str, now: datetime) -> OtpChallenge | None:
        stmt = (
            select(OtpChallenge)
            .where(OtpChallenge.phone == phone, OtpChallenge.consumed_at.is_(None),
                   OtpChallenge.expires_at > now)
            .order_by(OtpChallenge.id.desc())
            .limit(1)
        )
        return self.session.scalar(stmt)

    def take_attempt(self, challenge_id: int, max_attempts: int) -> int | None:
        """Count one try of a code before it is checked, in one conditional statement (atomic
        on both databases); None when the code has no tries left or was used meanwhile."""
        stmt = (
            update(OtpChallenge)
            .where(OtpChallenge.id == challenge_id, OtpChallenge.attempts < max_attempts,
                   OtpChallenge.consumed_at.is_(None))
            .values(attempts=OtpChallenge.attempts + 1)
            .returning(OtpChallenge.attempts)
            .execution_options(synchronize_session=False)
        )
        return self.session.execute(stmt).scalar()

    def consume(self, challenge_id: int, now: datetime) -> bool:
        """Use a code once: of two requests with the right code, only one signs in."""
        stmt = (
            update(OtpChallenge)
            .where(OtpChallenge.id == challenge_id, OtpChallenge.consumed_at.is_(None))
            .values(consumed_at=now)
            .execution_options(synchronize_session=False)
        )
        return (self.session.execute(stmt).rowcount or 0) == 1
