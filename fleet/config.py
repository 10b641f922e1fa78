"""How the office runs its fleet: ``SIPOKE_PROVIDERS__INHOUSE__<KEY>`` (the same block that
enables the in-house adapter, so one place configures the office's couriers)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from core.settings import Settings


class FleetSettings(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    # The resident's fee: flat + per started km, integer rupiah (0 = free service).
    fee_flat: int = Field(default=0, ge=0)
    fee_per_km: int = Field(default=0, ge=0)
    max_distance_m: int = Field(default=15_000, gt=0)
    quote_validity_s: int = Field(default=900, gt=0)
    # A courier has this long to accept before the offer goes to the next one.
    offer_timeout_s: int = Field(default=120, gt=0)
    # Nobody accepting within this window ends the job as no_courier (the delivery fails over).
    search_timeout_s: int = Field(default=900, gt=0)
    # Average courier speed for the ETA estimate (m/s; 6 = 21.6 km/h in city traffic).
    speed_mps: float = Field(default=6.0, gt=0)


def fleet_settings(settings: Settings) -> FleetSettings:
    return FleetSettings.model_validate(settings.provider("inhouse"))
