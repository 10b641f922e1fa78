from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.models import (
    CoverLetter,
    CoverLetterStatus,
    DocumentRequest,
    RequestState,
    RequestUpload,
    UploadKind,
)


class RequestRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, request: DocumentRequest) -> DocumentRequest:
        self.session.add(request)
        self.session.flush()
        return request

    def get(self, request_id: uuid.UUID | str, *, lock: bool = False
            ) -> DocumentRequest | None:
        try:
            request_id = uuid.UUID(str(request_id))  # callers outside HTTP may pass strings
        except ValueError:
            return None
        stmt = select(DocumentRequest).where(DocumentRequest.id == request_id)
        if lock:
            stmt = stmt.with_for_update(of=DocumentRequest)
        return self.session.scalar(stmt)

    def of_resident(self, resident_id: uuid.UUID, *, limit: int, offset: int
                    ) -> list[DocumentRequest]:
        stmt = (select(DocumentRequest).where(DocumentRequest.resident_id == resident_id)
                .order_by(DocumentRequest.created_at.desc(), DocumentRequest.id)
                .limit(limit).offset(offset))
        return list(self.session.scalars(stmt))

    def queue(self, office_id: uuid.UUID, *, states: Iterable[RequestState],
              assigned_to: uuid.UUID | None, limit: int, offset: int) -> list[DocumentRequest]:
        """Oldest state change first: the request that waited longest is served first."""
        stmt = (select(DocumentRequest)
                .where(DocumentRequest.office_id == office_id,
                       DocumentRequest.state.in_([str(s) for s in states]))
                .order_by(DocumentRequest.state_changed_at, DocumentRequest.id)
                .limit(limit).offset(offset))
        if assigned_to is not None:
            stmt = stmt.where(DocumentRequest.assigned_to_id == assigned_to)
        return list(self.session.scalars(stmt))

    def count_by_state(self, office_id: uuid.UUID, states: Iterable[RequestState]
                       ) -> dict[str, int]:
        """The office's requests in each of ``states`` (zero included), counted in SQL."""
        wanted = [str(s) for s in states]
        rows = self.session.execute(
            select(DocumentRequest.state, func.count())
            .where(DocumentRequest.office_id == office_id, DocumentRequest.state.in_(wanted))
            .group_by(DocumentRequest.state))
        counts = {str(state): n for state, n in rows}
        return {state: counts.get(state, 0) for state in wanted}

    def references(self, office_id: uuid.UUID, request_ids: Iterable[uuid.UUID]
                   ) -> dict[uuid.UUID, str]:
        """The reference numbers of many of an office's requests, in one query."""
        ids = list(request_ids)
        if not ids:
            return {}
        rows = self.session.execute(
            select(DocumentRequest.id, DocumentRequest.reference)
            .where(DocumentRequest.office_id == office_id, DocumentRequest.id.in_(ids)))
        return dict(rows.all())

    def reference_taken(self, reference: str) -> bool:
        return self.session.scalar(
            select(DocumentRequest.id).where(DocumentRequest.reference == reference)) is not None

    def by_verification_code(self, code: str) -> DocumentRequest | None:
        return self.session.scalar(
            select(DocumentRequest).where(DocumentRequest.verification_code == code))

    # uploads ----------------------------------------------------------------------------
    def upload(self, request_id: uuid.UUID, upload_id: uuid.UUID) -> RequestUpload | None:
        return self.session.scalar(select(RequestUpload).where(
            RequestUpload.id == upload_id, RequestUpload.request_id == request_id))

    def current_uploads(self, request_id: uuid.UUID, kind: UploadKind) -> list[RequestUpload]:
        stmt = select(RequestUpload).where(
            RequestUpload.request_id == request_id, RequestUpload.kind == str(kind),
            RequestUpload.replaced_at.is_(None)).order_by(RequestUpload.created_at)
        return list(self.session.scalars(stmt))

    def count_uploads(self, request_id: uuid.UUID) -> int:
        return self.session.scalar(select(func.count(RequestUpload.id)).where(
            RequestUpload.request_id == request_id)) or 0

    def add_upload(self, upload: RequestUpload) -> RequestUpload:
        self.session.add(upload)
        self.session.flush()
        return upload

    def purgeable_uploads(self, *, states: Iterable[RequestState], before: datetime,
                          limit: int) -> list[RequestUpload]:
        stmt = (select(RequestUpload)
                .join(DocumentRequest, DocumentRequest.id == RequestUpload.request_id)
                .where(RequestUpload.storage_key.is_not(None),
                       DocumentRequest.state.in_([str(s) for s in states]),
                       DocumentRequest.state_changed_at < before)
                .order_by(RequestUpload.created_at).limit(limit))
        return list(self.session.scalars(stmt))

    # cover letters ------------------------------------------------------------------------
    def cover_letters_for_rw(self, office_id: uuid.UUID, rw: str,
                             status: CoverLetterStatus | None, *, limit: int, offset: int
                             ) -> list[CoverLetter]:
        stmt = (select(CoverLetter)
                .where(CoverLetter.office_id == office_id, CoverLetter.rw == rw)
                .order_by(CoverLetter.created_at, CoverLetter.id).limit(limit).offset(offset))
        if status is not None:
            stmt = stmt.where(CoverLetter.status == str(status))
        return list(self.session.scalars(stmt))

    def add_cover_letter(self, letter: CoverLetter) -> CoverLetter:
        self.session.add(letter)
        self.session.flush()
        return letter
