"""In-house provider settings: ``SIPOKE_PROVIDERS__INHOUSE__<KEY>``: the provider's own
(enabled, priority) and the fleet's (fees, radius, offer and search windows)."""

from __future__ import annotations

from fleet.config import FleetSettings
from providers.base import ProviderSettings


class InhouseSettings(FleetSettings, ProviderSettings):
    enabled: bool = True
    # Tried first: the office's own couriers cost the resident least.
    priority: int = 10
