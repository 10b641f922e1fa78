"""GrabExpress settings, from ``SIPOKE_PROVIDERS__GRABEXPRESS__<KEY>`` only."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator

from providers.base import ProviderSettings, revealed

TOKEN_URL = "https://partner-api.grab.com/grabid/v1/oauth2/token"  # noqa: S105 - a URL
SANDBOX_URL = "https://partner-api.grab.com/grab-express-sandbox"
PRODUCTION_URL = "https://partner-api.grab.com/grab-express"
SCOPE = "grab_express.partner_deliveries"


class GrabExpressSettings(ProviderSettings):
    priority: int = 20
    # Sandbox by default; production: BASE_URL=https://partner-api.grab.com/grab-express.
    base_url: str | None = SANDBOX_URL
    client_id: str | None = None
    client_secret: SecretStr | None = None
    token_url: str = TOKEN_URL
    scope: str = SCOPE
    # The C# SDK posts the token request as JSON, community PHP as a form [UNCERTAIN].
    token_request_format: Literal["json", "form"] = "json"  # noqa: S105 - not a password
    # Refresh this long before the token's expires_in runs out (tokens live ~7 days).
    token_refresh_margin_s: int = Field(default=300, ge=0)
    # INSTANT for documents (SAME_DAY/BULK need a pickup schedule).
    service_type: str = "INSTANT"
    # Declared value of the envelope per package, rupiah (Grab asks a price per package).
    declared_value: int = Field(default=0, ge=0)
    # Values agreed with Grab at onboarding, sent back in the webhook headers
    # ``Authorization`` and ``Authorization-Id``; exact comparison rule undocumented
    # [UNCERTAIN]: we compare both exactly (constant time, surrounding spaces ignored).
    webhook_authorization: SecretStr | None = None
    webhook_authorization_id: SecretStr | None = None
    # Grab states no quote validity [UNCERTAIN].
    quote_validity_s: int = Field(default=300, gt=0)
    # GrabExpress Instant distance limit [UNCERTAIN]: refused before asking Grab.
    max_distance_m: int = Field(default=40_000, gt=0)

    @model_validator(mode="after")
    def _credentials_when_enabled(self) -> GrabExpressSettings:
        if self.enabled and not (self.client_id and self.client_secret):
            raise ValueError("GrabExpress is enabled but CLIENT_ID / CLIENT_SECRET are not set")
        return self

    @property
    def url(self) -> str:
        return (self.base_url or SANDBOX_URL).rstrip("/")

    def secret(self) -> str:
        return revealed(self.client_secret)
