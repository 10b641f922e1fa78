"""One settings object for the whole deployment, read from ``SIPOKE_*`` environment variables.

Nested settings use ``__``: ``SIPOKE_PROVIDERS__LALAMOVE__API_KEY`` lands in
``settings.providers["lalamove"]["api_key"]``. Embedded defaults need no other service: a
SQLite database and a SQLite-backed Celery broker under ``./var/``.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
from datetime import time
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings import SettingsError as PydanticSettingsError

ENV_PREFIX = "SIPOKE_"
TEMPLATE_NAME = r"^[a-z0-9_]{1,512}$"  # WhatsApp message template names


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class NotificationChannelName(StrEnum):
    console = "console"
    http = "http"
    whatsapp = "whatsapp"


DEFAULT_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
DEFAULT_TILE_ATTRIBUTION = "© OpenStreetMap contributors"

class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="ignore",
        case_sensitive=False,
    )

    env: Environment = Environment.development
    var_dir: Path = Path("var")
    database_url: str = ""
    broker_url: str = ""
    # Prefix for every Redis key of the broker, so deployments (or test runs) can share a Redis.
    broker_key_prefix: str = Field(default="", max_length=60, pattern=r"^[A-Za-z0-9:._-]*$")
    secret_key: SecretStr | None = None
    base_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    upload_dir: Path | None = None
    log_level: str = "INFO"
    # One JSON object a line; unset: JSON in production, readable text with timestamps
    # elsewhere (`make run`).
    log_json: bool | None = None

    # Auth
    session_ttl_hours: int = Field(default=24 * 14, ge=1)
    otp_ttl_seconds: int = Field(default=300, ge=30, le=3600)
    otp_max_attempts: int = Field(default=5, ge=1, le=20)
    otp_per_phone_per_window: int = Field(default=3, ge=1)
    otp_per_client_per_window: int = Field(default=20, ge=1)
    otp_window_seconds: int = Field(default=900, ge=60)
    password_min_length: int = Field(default=10, ge=8)
    # Failed staff password sign-ins per username / per client address per OTP window,
    # after which even the right password is refused until the window passes.
    login_failures_per_user: int = Field(default=10, ge=1)
    login_failures_per_client: int = Field(default=50, ge=1)
    # Wrong pickup codes at the counter before the code locks (an operator then checks the
    # KTP and sends the resident a new one); document verifications per client address per
    # minute.
    pickup_code_max_attempts: int = Field(default=5, ge=1, le=20)
    verify_per_client_per_minute: int = Field(default=30, ge=1)

    # Notifications
    notify_channel: NotificationChannelName = NotificationChannelName.console
    notify_gateway_url: str | None = None
    notify_gateway_token: SecretStr | None = None
    notify_max_retries: int = Field(default=5, ge=0, le=20)
    # WhatsApp Business Cloud API (SIPOKE_NOTIFY_CHANNEL=whatsapp): template messages sent
    # from the office's own number (offices.whatsapp_phone_number_id) or this default one; a
    # message WhatsApp cannot deliver goes once by SMS through the gateway above, when set.
    whatsapp_access_token: SecretStr | None = None
    whatsapp_phone_number_id: str | None = Field(default=None, pattern=r"^\d{5,32}$")
    whatsapp_app_secret: SecretStr | None = None  # checks X-Hub-Signature-256 of receipts
    whatsapp_verify_token: SecretStr | None = None  # answers Meta's hub.challenge
    whatsapp_api_url: str = "https://graph.facebook.com/v23.0"
    whatsapp_language: str = Field(default="id", pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$")
    # Approved template names: the sign-in code (an authentication template with a copy-code
    # button), the handover PIN and every other message (utility templates).
    whatsapp_template_otp: str = Field(default="sipoke_kode_masuk", pattern=TEMPLATE_NAME)
    whatsapp_template_pin: str = Field(default="sipoke_pin_serah_terima", pattern=TEMPLATE_NAME)
    whatsapp_template_status: str = Field(default="sipoke_pemberitahuan", pattern=TEMPLATE_NAME)
    # How long after a WhatsApp send a "failed" receipt still sends the SMS instead; a code's
    # text is kept (for that SMS) until WhatsApp reports it delivered or this window ends.
    whatsapp_fallback_window_seconds: int = Field(default=900, ge=60, le=86400)

    # Workers
    task_soft_time_limit: int = Field(default=60, ge=1)
    task_time_limit: int = Field(default=90, ge=2)
    visibility_timeout: int = Field(default=3600, ge=60)
    outbox_relay_interval: float = Field(default=2.0, gt=0)
    outbox_publish_after_commit: bool = True

    # Uploads and retention
    max_upload_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    upload_retention_days: int = Field(default=365, ge=1)

    # HTTP guard rails. Largest request body that is not an upload (JSON API, page forms) and
    # largest provider webhook: more is refused with 413 before it is read (core.bodies).
    max_json_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_webhook_body_bytes: int = Field(default=256 * 1024, ge=1024)
    # Addresses or networks (comma list, or "*") of the proxies whose X-Forwarded-For and
    # X-Forwarded-Proto the API believes; empty: nobody's, the peer address is the client.
    trusted_proxies: str = ""
    # Bearer token /metrics asks for. Unset: /metrics is open in development and test, and
    # not served (404) in production.
    metrics_token: SecretStr | None = None

    # Maps on the pages (Leaflet): the tile server ({z}/{x}/{y}, {s} allowed) and the credit
    # its licence asks for; the pages fall back to a plain grid when tiles cannot load. An
    # optional Nominatim-compatible geocoder (GET {url}/search?format=json&q=...) adds an
    # address search to the drop-off map. Their hosts are allowed by the pages' CSP.
    map_tile_url: str = DEFAULT_TILE_URL
    map_tile_attribution: str = Field(default=DEFAULT_TILE_ATTRIBUTION, max_length=300)
    geocoder_url: str | None = None

    # Providers: free-form per-provider settings, validated by each adapter's own model.
    providers: dict[str, dict[str, Any]] = Field(default_factory=dict)
    # Deployment-wide delivery defaults (SIPOKE_DELIVERY__TIME_BUDGET_MIN=90, ...), validated
    # by delivery.policy; each office may override them.
    delivery: dict[str, Any] = Field(default_factory=dict)
    # Seconds between delivery sweeps (polling claims, re-drives, watchdog, SLA timers).
    delivery_sweep_interval: float = Field(default=15.0, gt=0)

    # Backups (core.backup): where `sipoke backup` and the nightly backup put their archives
    # (default var/backups), whether beat makes one every night at ``backup_time`` (Asia/Jakarta)
    # and how many nightly archives are kept.
    backup_dir: Path | None = None
    backup_nightly: bool = False
    backup_time: time = time(2, 0)
    backup_keep: int = Field(default=7, ge=1, le=365)

    # Benchmarks only (bench/): mount POST /bench/noop, the baseline of the webhook ingest
    # figure. Off everywhere else.
    bench_noop_endpoint: bool = False

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("map_tile_url")
    @classmethod
    def _check_tile_url(cls, value: str) -> str:
        if not value:  # empty (an unset compose variable): the OpenStreetMap default
            return DEFAULT_TILE_URL
        if not value.startswith(("http://", "https://")) or \
                not all(part in value for part in ("{z}", "{x}", "{y}")):
            raise ValueError("must be an http(s) URL with {z}, {x} and {y}")
        return value

    @field_validator("map_tile_attribution")
    @classmethod
    def _default_attribution(cls, value: str) -> str:
        return value.strip() or DEFAULT_TILE_ATTRIBUTION

    @field_validator("geocoder_url")
    @classmethod
    def _check_geocoder_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must be a sqlite:/// or postgresql:// URL")
        if value.startswith("postgresql://"):
            # One driver everywhere: psycopg 3.
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value

    @field_validator("broker_url")
    @classmethod
    def _check_broker_url(cls, value: str) -> str:
        if value and not value.startswith(("redis://", "rediss://", "sqla+", "memory://")):
            raise ValueError("must be a redis:// URL or a kombu sqla+ URL")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _check_trusted_proxies(cls, value: str) -> str:
        entries = [entry.strip() for entry in value.split(",") if entry.strip()]
        for entry in entries:
            if entry != "*":
                try:
                    ipaddress.ip_network(entry, strict=False)
                except ValueError:
                    raise ValueError(f"{entry!r} is not an IP address or network") from None
        return ",".join(entries)

    @field_validator("whatsapp_access_token", "whatsapp_app_secret", "whatsapp_verify_token",
                     "whatsapp_phone_number_id", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        # docker-compose passes an unset variable as "" (`${VAR:-}`): that means no value.
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        return None if text == "" else value

    @field_validator("whatsapp_api_url")
    @classmethod
    def _check_whatsapp_api_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must start with https://")
        return value.rstrip("/")

    @field_validator("metrics_token", mode="before")
    @classmethod
    def _check_metrics_token(cls, value: Any) -> Any:
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if text is None or text == "":  # an empty variable (compose's default) means unset
            return None
        if len(str(text)) < 16:
            raise ValueError("must be at least 16 characters")
        return value

    @field_validator("providers", mode="before")
    @classmethod
    def _lower_provider_keys(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {
                str(name).lower(): (
                    {str(k).lower(): v for k, v in conf.items()} if isinstance(conf, dict) else conf
                )
                for name, conf in value.items()
            }
        return value

    @model_validator(mode="after")
    def _fill_embedded_defaults(self) -> Settings:
        var = self.var_dir
        if not self.database_url:
            self.database_url = f"sqlite:///{(var / 'sipoke.sqlite3').as_posix()}"
        if not self.broker_url:
            self.broker_url = f"sqla+sqlite:///{(var / 'broker.sqlite3').as_posix()}"
        if self.upload_dir is None:
            self.upload_dir = var / "uploads"
        if self.log_json is None:
            self.log_json = self.env is Environment.production
        if self.backup_dir is None:
            self.backup_dir = var / "backups"
        if self.env is Environment.production and self.secret_key is None:
            raise ValueError("SIPOKE_SECRET_KEY is required when SIPOKE_ENV=production")
        if self.notify_channel is NotificationChannelName.http and not self.notify_gateway_url:
            raise ValueError(
                "SIPOKE_NOTIFY_GATEWAY_URL is required when SIPOKE_NOTIFY_CHANNEL=http"
            )
        if self.notify_channel is NotificationChannelName.whatsapp \
                and self.whatsapp_access_token is None:
            raise ValueError(
                "SIPOKE_WHATSAPP_ACCESS_TOKEN is required when SIPOKE_NOTIFY_CHANNEL=whatsapp"
            )
        if self.task_time_limit <= self.task_soft_time_limit:
            raise ValueError("SIPOKE_TASK_TIME_LIMIT must be above SIPOKE_TASK_SOFT_TIME_LIMIT")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def broker_is_redis(self) -> bool:
        return self.broker_url.startswith(("redis://", "rediss://"))

    def secret(self) -> str:
        """The deployment secret; in development it is generated once and kept under var/."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        path = self.var_dir / "secret_key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()

    def provider(self, name: str) -> dict[str, Any]:
        return dict(self.providers.get(name.lower(), {}))


class SettingsError(Exception):
    """A setting is missing or malformed; ``str()`` is one line naming it."""


def describe_validation_error(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = "__".join(str(p).upper() for p in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        # Cross-field checks already name their variables in the message.
        parts.append(f"{ENV_PREFIX}{loc}: {msg}" if loc else msg)
    return "invalid setting " + "; ".join(parts)


def load_settings(**overrides: Any) -> Settings:
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError(describe_validation_error(exc)) from None
    except PydanticSettingsError as exc:
        # A value that cannot even be decoded (e.g. SIPOKE_PROVIDERS='not json').
        raise SettingsError(_describe_source_error(exc)) from None


def _describe_source_error(exc: PydanticSettingsError) -> str:
    match = re.search(r'field "([^"]+)"', str(exc))
    name = f"{ENV_PREFIX}{match.group(1).upper()}" if match else "settings"
    return f"invalid setting {name}: cannot be parsed ({exc.__cause__ or exc})"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


def reset_settings_cache() -> None:
    get_settings.cache_clear()
