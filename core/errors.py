"""Domain errors carry their HTTP status and a machine-readable code; one handler renders them."""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    status_code = 400
    code = "bad_request"
    message = "Permintaan tidak valid."
    # Most errors undo the whole unit of work; a few must keep what was written before them
    # (a wrong one-time code still counts as an attempt).
    persist_changes = False

    def __init__(self, message: str | None = None, **details: Any) -> None:
        self.message = message or self.message
        self.details = details
        super().__init__(self.message)

    def keeping_changes(self) -> AppError:
        self.persist_changes = True
        return self

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return {"error": body}


class NotFound(AppError):
    status_code = 404
    code = "not_found"
    message = "Data tidak ditemukan."


class Unauthorized(AppError):
    status_code = 401
    code = "unauthorized"
    message = "Silakan masuk terlebih dahulu."


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"
    message = "Anda tidak berhak melakukan tindakan ini."


class Conflict(AppError):
    status_code = 409
    code = "conflict"
    message = "Permintaan bertentangan dengan keadaan data saat ini."


class InvalidTransition(Conflict):
    code = "invalid_transition"

    def __init__(self, entity: str, current: str, target: str, allowed: list[str]) -> None:
        super().__init__(
            f"Status {entity} tidak dapat diubah dari '{current}' ke '{target}'.",
            current=current,
            target=target,
            allowed=sorted(allowed),
        )


class ValidationFailed(AppError):
    status_code = 422
    code = "validation_error"
    message = "Data tidak valid."

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, fields=[{"field": field, "message": message}])

    def to_dict(self) -> dict[str, Any]:
        # Rendered like a request validation error (``error.fields``), so API clients read
        # field errors one way; ``self.details["fields"]`` stays for server-side callers.
        body: dict[str, Any] = {"code": self.code, "message": self.message,
                                "fields": self.details["fields"]}
        rest = {k: v for k, v in self.details.items() if k != "fields"}
        if rest:
            body["details"] = rest
        return {"error": body}


class InvalidJson(ValidationFailed):
    """A body that is not JSON, or is nested deeper than ``core.bodies`` allows; the parser's
    reason is the field message."""

    status_code = 400
    code = "invalid_json"

    def __init__(self, reason: str) -> None:
        super().__init__("body", reason)
        self.message = "Format JSON tidak valid."


class TooManyRequests(AppError):
    status_code = 429
    code = "too_many_requests"
    message = "Terlalu banyak percobaan. Coba lagi nanti."

    def __init__(self, message: str | None = None, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        if retry_after is not None:
            self.details["retry_after"] = retry_after


class PayloadTooLarge(AppError):
    status_code = 413
    code = "payload_too_large"
    message = "Data yang dikirim terlalu besar."


class UnsupportedMedia(AppError):
    status_code = 415
    code = "unsupported_media_type"
    message = "Jenis berkas tidak didukung."


class ServiceUnavailable(AppError):
    status_code = 503
    code = "service_unavailable"
    message = "Layanan sedang tidak tersedia."

    def __init__(self, message: str | None = None, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
