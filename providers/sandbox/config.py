"""Sandbox server configuration and its run-time failure switches."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Switches(BaseModel):
    """Failure modes, settable at start-up and at run time (``PATCH /v1/admin/switches``).

    Rates are probabilities in [0, 1]: 1.0 makes a failure certain, which is what tests use.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    latency_ms: int = Field(default=0, ge=0, le=60_000)
    # Random extra latency per call, uniform in [0, latency_jitter_ms] (on top of latency_ms).
    latency_jitter_ms: int = Field(default=0, ge=0, le=60_000)
    error_rate: float = Field(default=0.0, ge=0, le=1)
    rate_limit_rate: float = Field(default=0.0, ge=0, le=1)
    retry_after_s: int = Field(default=2, ge=0, le=3600)
    hang_after_accept_rate: float = Field(default=0.0, ge=0, le=1)
    hang_seconds: float = Field(default=15.0, ge=0, le=600)
    no_courier_rate: float = Field(default=0.0, ge=0, le=1)
    failed_dropoff_rate: float = Field(default=0.0, ge=0, le=1)
    duplicate_webhooks: bool = False
    out_of_order_webhooks: bool = False
    # Not a failure, but tests need short-lived quotes: validity in real seconds.
    quote_validity_s: float = Field(default=300, ge=0)
    # The simulated clock runs this many times faster than real time.
    time_scale: float = Field(default=10.0, gt=0, le=100_000)


SWITCH_NAMES = tuple(Switches.model_fields)


class SandboxServerConfig(BaseModel):
    """Read from ``settings.providers["sandbox"]`` (env ``SIPOKE_PROVIDERS__SANDBOX__*``);
    the keys the adapter uses (``api_key``, ``webhook_secret``) are shared with it."""

    model_config = ConfigDict(extra="ignore")

    api_key: str = "sandbox-api-key"
    webhook_secret: str = "sandbox-webhook-secret"  # noqa: S105 - the well-known dev value
    # None: no webhooks (polling only); the CLI defaults it to {SIPOKE_BASE_URL}/webhooks/sandbox
    webhook_url: str | None = None
    public_url: str = "http://127.0.0.1:8100"
    webhook_max_attempts: int = Field(default=8, ge=1, le=50)
    webhook_retry_base_s: float = Field(default=1.0, gt=0)
    webhook_timeout_s: float = Field(default=5.0, gt=0)
    max_distance_m: int = Field(default=40_000, gt=0)
    # Simulated seconds: courier search, handover at each end, courier speed, location pings.
    search_s: float = Field(default=20.0, ge=0)
    handover_s: float = Field(default=30.0, ge=0)
    speed_mps: float = Field(default=8.0, gt=0)
    location_ping_s: float = Field(default=60.0, ge=0)
    tick_s: float = Field(default=0.05, gt=0)
    seed: int | None = None
    switches: Switches = Field(default_factory=Switches)

    @classmethod
    def from_mapping(cls, data: dict[str, Any], **overrides: Any) -> SandboxServerConfig:
        """Flat settings (switch names at top level, as env vars give them) plus overrides."""
        flat = {**data, **{k: v for k, v in overrides.items() if v is not None}}
        switch_values = {k: flat.pop(k) for k in list(flat) if k in SWITCH_NAMES}
        return cls(**flat, switches=Switches(**switch_values))
