"""Biteship settings, from ``SIPOKE_PROVIDERS__BITESHIP__<KEY>`` only."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator

from providers.base import ProviderSettings

BASE_URL = "https://api.biteship.com"


class BiteshipSettings(ProviderSettings):
    priority: int = 40
    base_url: str | None = BASE_URL
    # ``biteship_test.`` keys run in testing mode (orders are never picked up),
    # ``biteship_live.`` keys book real couriers.
    api_key: SecretStr | None = None
    # Instant couriers to ask (comma list of Biteship courier codes) and the service codes
    # accepted from them; instant services need coordinates, which we always send.
    couriers: str = "gojek,grab"
    courier_services: str = "instant"
    # The custom header name/value typed into the Biteship dashboard ("Headers Signature
    # Key/Secret"): a static shared secret echoed on every webhook, not an HMAC [UNCERTAIN].
    webhook_header: str = "X-Sipoke-Webhook-Token"
    webhook_secret: SecretStr | None = None
    # Biteship examples use local numbers (08...); "e164" sends +62... [UNCERTAIN].
    phone_format: Literal["local", "e164"] = "local"
    # Declared value of the envelope, rupiah (Biteship asks an item value).
    declared_value: int = Field(default=0, ge=0)
    # Biteship states no rate validity [UNCERTAIN].
    quote_validity_s: int = Field(default=300, gt=0)

    @model_validator(mode="after")
    def _credentials_when_enabled(self) -> BiteshipSettings:
        if self.enabled and not self.api_key:
            raise ValueError("Biteship is enabled but API_KEY is not set")
        return self

    @property
    def url(self) -> str:
        return (self.base_url or BASE_URL).rstrip("/")

    def courier_list(self) -> list[str]:
        return [c.strip().lower() for c in self.couriers.split(",") if c.strip()]

    def service_list(self) -> list[str]:
        return [c.strip().lower() for c in self.courier_services.split(",") if c.strip()]
