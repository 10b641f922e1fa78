"""Core models. Import order here is the registration order; ``sipoke.models`` adds the
other packages' models after these."""

from core.models.accounts import AuthSession, OtpChallenge, Role, User
from core.models.audit import AuditEvent, UploadAccess
from core.models.catalog import Service
from core.models.limits import AttemptCounter
from core.models.notifications import Notification, NotificationStatus
from core.models.offices import Office
from core.models.outbox import OutboxMessage
from core.models.requests import (
    CoverLetter,
    CoverLetterStatus,
    DocumentRequest,
    HandoverMethod,
    RequestState,
    RequestUpload,
    UploadKind,
)

__all__ = [
    "AttemptCounter",
    "AuditEvent",
    "AuthSession",
    "CoverLetter",
    "CoverLetterStatus",
    "DocumentRequest",
    "HandoverMethod",
    "Notification",
    "NotificationStatus",
    "Office",
    "OtpChallenge",
    "OutboxMessage",
    "RequestState",
    "RequestUpload",
    "Role",
    "Service",
    "UploadAccess",
    "UploadKind",
    "User",
]
