"""Lalamove settings, from ``SIPOKE_PROVIDERS__LALAMOVE__<KEY>`` only."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator

from providers.base import ProviderSettings, revealed

SANDBOX_URL = "https://rest.sandbox.lalamove.com"
PRODUCTION_URL = "https://rest.lalamove.com"


class LalamoveSettings(ProviderSettings):
    priority: int = 30
    # Keys come from the Partner Portal; ``pk_test``/``sk_test`` belong to the sandbox.
    api_key: SecretStr | None = None
    api_secret: SecretStr | None = None
    # UN/LOCODE country code sent as the ``Market`` header (Indonesia = ID).
    market: str = "ID"
    # Service key valid for the city (GET /v3/cities); MOTORCYCLE for documents.
    service_type: str = "MOTORCYCLE"
    language: str = "id_ID"
    # The doc says Request-ID is a MUST; the official SDK never sends it. Ours: a uuid4.
    send_request_id: bool = True
    # Lalamove honours a quotation for 5 minutes; used when a response lacks ``expiresAt``.
    quote_validity_s: int = Field(default=300, gt=0)
    # Webhooks [UNCERTAIN, community consensus]: the in-body signature is HMAC-SHA256 over
    # "<timestamp>\r\nPOST\r\n<path of our webhook URL>\r\n\r\n<JSON of data>". ``webhook_path``
    # must be the path of the URL registered in the Partner Portal; ``webhook_signed_data``
    # says which bytes of ``data`` are signed: "raw" (the substring of the body), "compact"
    # (re-serialized without spaces) or "either" (raw detects any change to the body; use
    # compact/either only if real webhooks fail with raw).
    webhook_path: str = "/webhooks/lalamove"
    webhook_signed_data: Literal["raw", "compact", "either"] = "raw"
    # Signed webhook timestamps older/newer than this are refused as replays. Whether retries
    # (up to 10 within 24 h) are re-signed with a fresh timestamp is not documented
    # [UNCERTAIN]: raise this if retried webhooks are refused.
    webhook_tolerance_s: float = Field(default=900, gt=0)
    # Client-side rate limits per minute; None = Lalamove's documented production limits,
    # or the sandbox ones when the base URL is the sandbox. CLIENT_RATE_LIMITS=false turns
    # them off (tests against a fake); Lalamove's own 429 is still honoured.
    client_rate_limits: bool = True
    quotations_per_minute: int | None = None
    orders_per_minute: int | None = None

    @model_validator(mode="after")
    def _credentials_when_enabled(self) -> LalamoveSettings:
        if self.enabled and not (self.api_key and self.api_secret):
            raise ValueError("Lalamove is enabled but API_KEY / API_SECRET are not set")
        return self

    @property
    def url(self) -> str:
        """BASE_URL, or the environment the key belongs to (``pk_test...`` -> sandbox)."""
        if self.base_url:
            return self.base_url.rstrip("/")
        return PRODUCTION_URL if self.key().startswith("pk_prod") else SANDBOX_URL

    @property
    def is_sandbox(self) -> bool:
        return "sandbox" in self.url

    def key(self) -> str:
        return revealed(self.api_key)

    def secret(self) -> str:
        return revealed(self.api_secret)
