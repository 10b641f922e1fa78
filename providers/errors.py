"""Errors every adapter raises, so callers classify failures without knowing the provider.

Two families drive the retry policy (workers/base.py ``retry_on=``):

* :class:`TransientProviderError`: try again later (timeouts, connection errors, 5xx, 429).
  ``retry_after`` (seconds) is set when the provider said how long to wait (Retry-After).
  ``outcome_unknown`` is True when the request may have reached the provider (a read timeout,
  a 5xx after sending): for ``book`` that means the order may exist, so resolve it with
  ``find_by_reference`` (or a re-``book`` on an idempotent API), never a blind re-create.
* :class:`PermanentProviderError` and its subclasses: retrying the same request will not
  help; fail the attempt or fail over to another provider.

Messages are short English developer text plus the provider's own code in ``code``; the
delivery side translates outcomes for users.
"""

from __future__ import annotations


class ProviderError(Exception):
    """Base class; ``provider`` names the adapter, ``code`` the provider's error code if any."""

    def __init__(self, message: str, *, provider: str = "", code: str | None = None,
                 status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.code = code
        self.status_code = status_code

    def __str__(self) -> str:
        parts = [f"{self.provider}: " if self.provider else "", self.message]
        if self.code:
            parts.append(f" [{self.code}]")
        if self.status_code:
            parts.append(f" (HTTP {self.status_code})")
        return "".join(parts)


class TransientProviderError(ProviderError):
    def __init__(self, message: str, *, retry_after: float | None = None,
                 outcome_unknown: bool = False, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after
        self.outcome_unknown = outcome_unknown


class PermanentProviderError(ProviderError):
    """Rejected for good: validation, business rule, unsupported request."""


class OutOfServiceArea(PermanentProviderError):
    """The pickup or drop-off is outside the area or beyond the maximum distance."""


class QuoteExpired(PermanentProviderError):
    """The quote is past its validity; ask for a new one."""


class OrderNotFound(PermanentProviderError):
    """No order with that id (or reference) at the provider."""


class AuthenticationFailed(PermanentProviderError):
    """Credentials missing, wrong or revoked: an operator must fix the settings."""


class CapabilityNotSupported(PermanentProviderError):
    """The provider (or its API) cannot do this, e.g. look an order up by our reference."""


class CancelNotAllowed(PermanentProviderError):
    """The order is past the point where the provider allows a cancel (usually pickup)."""


class WebhookRejected(PermanentProviderError):
    """A webhook failed verification (signature, token, timestamp) or cannot be parsed.

    Answer it with 401/400 and do not store it as an event.
    """
