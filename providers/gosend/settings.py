"""GoSend settings, from ``SIPOKE_PROVIDERS__GOSEND__<KEY>`` only."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator

from providers.base import ProviderSettings

STAGING_URL = "https://integration-kilat-api.gojekapi.com"
PRODUCTION_URL = "https://kilat-api.gojekapi.com"


class GoSendSettings(ProviderSettings):
    priority: int = 10
    # Staging by default: production needs BASE_URL=https://kilat-api.gojekapi.com, so a
    # deployment never books real couriers by accident.
    base_url: str | None = STAGING_URL
    client_id: str | None = None
    pass_key: SecretStr | None = None
    # "Instant" or "SameDay" ("InstantCar" is mentioned once [UNCERTAIN]).
    shipment_method: str = "Instant"
    payment_type: int = 3  # corporate billing, as every known integration sends
    # The static token GoSend sends with each webhook, and the header carrying it: production
    # code reads ``Authorization``; one package used ``X-Callback-Token`` [UNCERTAIN].
    webhook_token: SecretStr | None = None
    webhook_header: str = "Authorization"
    # GoSend states no quote validity [UNCERTAIN]: how long we treat a price as bookable.
    quote_validity_s: int = Field(default=300, gt=0)
    # No idempotency key: before creating, look our reference up (storeOrderId). One
    # production codebase saw that lookup answer 5xx [UNCERTAIN]; a 5xx makes the booking
    # retry later (never a blind re-create). Set false only if the lookup is broken.
    lookup_before_book: bool = True

    @model_validator(mode="after")
    def _credentials_when_enabled(self) -> GoSendSettings:
        if self.enabled and not (self.client_id and self.pass_key):
            raise ValueError("GoSend is enabled but CLIENT_ID / PASS_KEY are not set")
        return self

    @property
    def url(self) -> str:
        return (self.base_url or STAGING_URL).rstrip("/")
