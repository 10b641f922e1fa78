"""The adapter contract: what every courier provider (built-in or third-party) implements.

Writing an adapter
------------------
1. Subclass :class:`ProviderSettings` for your configuration (credentials as ``SecretStr``);
   the registry fills it from ``SIPOKE_PROVIDERS__<NAME>__<KEY>`` (keys lower-cased).
2. Subclass :class:`ProviderAdapter`: set ``name`` (lower-case, the webhook path segment
   ``/webhooks/{name}``), ``display_name``, ``settings_model`` and ``capabilities``. A
   provider spoken to over HTTP subclasses :class:`HttpProviderAdapter` instead, which
   builds and closes the client, settles a refused cancel and decodes webhooks around a
   few hooks (``client_type``, ``send_cancel``, ``webhook_updates``).
3. Keep I/O out of the mapping: put request building and response parsing in a pure
   ``mapping.py`` (dicts in, contract types out) and the httpx calls in ``client.py`` using
   :class:`providers.http.ProviderHttp`, which turns transport failures into
   :mod:`providers.errors`.
4. Register it: a line in ``providers.registry.BUILTIN`` for in-tree adapters, or an entry
   point ``[project.entry-points."sipoke.providers"] name = "pkg.module:AdapterClass"``.
5. Make it pass the contract suite ``tests/providers/contract.py`` (see its docstring).

Semantics every adapter guarantees
----------------------------------
* All methods are synchronous and may be called from several threads at once (the delivery
  side fans quotes out over threads with a deadline), so keep per-call state local.
* Never call an adapter inside a database transaction (docs/architecture.md rule 1).
* ``book`` is idempotent on ``BookingRequest.reference``: the same reference returns the
  same order and never creates a second one. Where the API has no idempotency key, the
  adapter looks the reference up first when it can, and always sends the reference as the
  provider's client reference so ``find_by_reference`` can resolve an unknown outcome.
* ``find_by_reference`` returns ``None`` when the provider positively has no order with
  that reference, and raises :class:`CapabilityNotSupported` where the API has no lookup.
* ``get_status`` returns the provider's current view as a :class:`TrackingUpdate` (its
  ``provider_event_id`` is stable for an unchanged state, so polling stores no duplicates).
* ``cancel`` is idempotent: cancelling a cancelled order succeeds; past the provider's
  cancel window it raises :class:`CancelNotAllowed`.
* ``webhooks_configured`` says whether the secrets webhooks are checked with are set; the
  webhook door (``/webhooks/{name}``) answers 404 and stores nothing unless the provider is
  enabled and configured (:meth:`ProviderAdapter.accepts_webhooks`), so an adapter that
  receives webhooks names those settings in ``webhook_secret_settings``.
* ``verify_webhook`` checks the RAW body bytes and headers before anything is parsed, in
  constant time (``hmac.compare_digest``), and raises :class:`WebhookRejected`. The body it
  sees is empty or JSON nested at most 200 levels deep (the door checks that first).
  ``parse_webhook`` turns a verified body into zero or more updates (zero for events we do
  not track, e.g. a wallet balance change). Header names are matched case-insensitively.
* Errors are only :mod:`providers.errors` types; nothing provider-specific leaks out.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Protocol, Self

import httpx
import orjson
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from providers.errors import (
    AuthenticationFailed,
    CancelNotAllowed,
    CapabilityNotSupported,
    OrderNotFound,
    PermanentProviderError,
    WebhookRejected,
)
from providers.parsing import is_empty_ping
from providers.status import BEFORE_PICKUP, DeliveryStatus
from providers.types import (
    Booking,
    BookingRequest,
    Quote,
    QuoteRequest,
    TrackingUpdate,
    VehicleType,
)


class ProviderSettings(BaseModel):
    """Settings every provider has. Subclasses add credentials (as ``SecretStr``)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    enabled: bool = False
    # Lower runs first when the delivery side orders providers (ties: by name).
    priority: int = 100
    base_url: str | None = None
    # Per-call timeouts (seconds). Keep them short: a booking that times out is looked up.
    connect_timeout: float = Field(default=3.0, gt=0)
    read_timeout: float = Field(default=10.0, gt=0)


class Capabilities(BaseModel):
    """What a provider can do; the delivery side filters providers with it."""

    model_config = ConfigDict(frozen=True)

    vehicle_types: frozenset[VehicleType] = frozenset({VehicleType.motorcycle})
    max_distance_m: int | None = None
    max_weight_g: int | None = None
    # Largest parcel (length, width, height) in cm.
    max_dimensions_cm: tuple[int, int, int] | None = None
    round_trip: bool = False
    multi_stop: bool = False
    pin_proof: bool = False
    photo_proof: bool = False
    cash_on_delivery: bool = False
    scheduled: bool = False
    # True: status arrives by webhook (poll only as a safety net); False: polling only.
    webhooks: bool = False
    lookup_by_reference: bool = False
    quote_validity_s: int | None = None
    # Statuses in which the provider still accepts a cancel.
    cancellable_statuses: frozenset[DeliveryStatus] = BEFORE_PICKUP

    def can_cancel(self, status: DeliveryStatus) -> bool:
        return status in self.cancellable_statuses

    def as_dict(self) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        data["vehicle_types"] = sorted(data["vehicle_types"])
        data["cancellable_statuses"] = sorted(
            self.cancellable_statuses, key=lambda s: s.rank)
        return data


class ProviderAdapter(ABC):
    """One courier provider behind the contract. Build with its settings; close when done."""

    name: ClassVar[str]
    display_name: ClassVar[str]
    settings_model: ClassVar[type[ProviderSettings]] = ProviderSettings
    capabilities: ClassVar[Capabilities] = Capabilities()
    # The settings holding the secrets this provider's webhooks are checked with.
    webhook_secret_settings: ClassVar[tuple[str, ...]] = ()

    def __init__(self, settings: ProviderSettings) -> None:
        self.settings = settings

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None = None) -> Self:
        """Build from a raw mapping such as ``settings.providers[name]``."""
        return cls(cls.settings_model.model_validate(dict(config or {})))

    # --- quoting and booking -----------------------------------------------------------

    @abstractmethod
    def quote(self, request: QuoteRequest) -> Quote:
        """Price a trip. Raises OutOfServiceArea, CapabilityNotSupported, transient errors."""

    @abstractmethod
    def book(self, request: BookingRequest) -> Booking:
        """Place the order for ``request.quote``; idempotent on ``request.reference``.

        Raises QuoteExpired when the quote is no longer honoured.
        """

    # --- following an order ------------------------------------------------------------

    @abstractmethod
    def get_status(self, provider_order_id: str) -> TrackingUpdate:
        """The provider's current view of the order. Raises OrderNotFound."""

    @abstractmethod
    def cancel(self, provider_order_id: str, *, reason: str = "") -> None:
        """Cancel the order. Idempotent; raises CancelNotAllowed, OrderNotFound."""

    def find_by_reference(self, reference: str) -> Booking | None:
        """The order created for OUR reference, None if there is none."""
        raise CapabilityNotSupported("lookup by reference is not supported", provider=self.name)

    # --- webhooks ------------------------------------------------------------------------

    def webhooks_configured(self) -> bool:
        """Whether the secrets this provider's webhooks are checked with (the settings named
        in ``webhook_secret_settings``) are all set; without webhooks it is False."""
        secrets = [revealed(getattr(self.settings, setting))
                   for setting in self.webhook_secret_settings]
        return bool(secrets) and all(secrets)

    def accepts_webhooks(self) -> bool:
        """Webhooks are taken only for a provider that is switched on and configured: a
        provider that is off, or has no secret to check them with, never accepts one."""
        return self.settings.enabled and self.webhooks_configured()

    def is_probe(self, body: bytes) -> bool:
        """A verified body that carries no update and is only the provider checking the
        URL: answered 200 and never stored. Default: empty, or an empty JSON object/list."""
        return is_empty_ping(body)

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> None:
        """Raise WebhookRejected unless the raw ``body`` is authentic."""
        raise CapabilityNotSupported("this provider sends no webhooks", provider=self.name)

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> list[TrackingUpdate]:
        """Normalized updates carried by a VERIFIED webhook body (may be empty)."""
        raise CapabilityNotSupported("this provider sends no webhooks", provider=self.name)

    # --- helpers for implementations -------------------------------------------------------

    def ensure_vehicle(self, vehicle: VehicleType) -> None:
        """Raise CapabilityNotSupported for a vehicle type this provider does not offer."""
        if vehicle not in self.capabilities.vehicle_types:
            raise CapabilityNotSupported(f"vehicle '{vehicle}' is not offered",
                                         provider=self.name)

    def ensure_quotable(self, request: QuoteRequest) -> None:
        """The capability checks every ``quote`` starts with: vehicle type and scheduling."""
        self.ensure_vehicle(request.vehicle)
        if request.scheduled_at is not None and not self.capabilities.scheduled:
            raise CapabilityNotSupported("scheduled pickups are not supported",
                                         provider=self.name)

    def ensure_bookable(self, request: BookingRequest) -> None:
        """The capability checks every ``book`` starts with: cash on delivery and PIN proof."""
        if request.cash_on_delivery is not None and not self.capabilities.cash_on_delivery:
            raise CapabilityNotSupported("cash on delivery is not supported",
                                         provider=self.name)
        if request.require_pin and not self.capabilities.pin_proof:
            raise CapabilityNotSupported("PIN proof is not supported", provider=self.name)

    def settle_refused_cancel(self, provider_order_id: str,
                              refusal: PermanentProviderError) -> None:
        """What a provider's refusal to cancel means: nothing, if the order is already
        cancelled (cancel is idempotent); otherwise :class:`CancelNotAllowed`. Refusals that
        are not about the order's state (credentials, unknown order) pass through."""
        if isinstance(refusal, AuthenticationFailed | OrderNotFound):
            raise refusal
        if self.get_status(provider_order_id).status is DeliveryStatus.cancelled:
            return
        if isinstance(refusal, CancelNotAllowed):
            raise refusal
        raise CancelNotAllowed(refusal.message, provider=self.name, code=refusal.code,
                               status_code=refusal.status_code) from refusal

    # --- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        """Release connections; adapters holding an httpx client override this."""
        return None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


class ApiClient(Protocol):
    """What :class:`HttpProviderAdapter` needs of a provider's API client."""

    def close(self) -> None: ...


class HttpProviderAdapter(ProviderAdapter):
    """A provider spoken to over HTTP that calls back with JSON webhooks.

    The parts such adapters share, around small hooks for what is the provider's own: the API
    client (``client_type``) is built once with the adapter (:meth:`open_client`; tests pass
    a fake ``transport``) and closed with it; :meth:`cancel` sends the provider's cancel
    (:meth:`send_cancel`) and settles a refusal (:meth:`settle_refused_cancel`);
    :meth:`parse_webhook` answers a probe with no updates and hands the decoded body to the
    provider's pure mapping (:meth:`webhook_updates`). Checking a webhook stays with each
    adapter (``verify_webhook``): every provider authenticates its webhooks differently.
    """

    # The provider's API client, built as ``client_type(settings, transport=transport)``.
    client_type: ClassVar[Callable[..., ApiClient]]
    client: ApiClient

    def __init__(self, settings: ProviderSettings, *,
                 transport: httpx.BaseTransport | None = None) -> None:
        super().__init__(settings)
        self.client = self.open_client(transport)

    def open_client(self, transport: httpx.BaseTransport | None) -> ApiClient:
        """The API client for ``self.settings``; an adapter without a client class of its own
        (the sandbox speaks through :class:`providers.http.ProviderHttp`) builds it here."""
        return self.client_type(self.settings, transport=transport)

    @abstractmethod
    def send_cancel(self, provider_order_id: str, reason: str) -> None:
        """Ask the provider to cancel; a refusal raises a PermanentProviderError."""

    @abstractmethod
    def webhook_updates(self, event: Any) -> list[TrackingUpdate]:
        """The updates a verified webhook's decoded JSON carries (pure: no I/O)."""

    def cancel(self, provider_order_id: str, *, reason: str = "") -> None:
        try:
            self.send_cancel(provider_order_id, reason)
        except PermanentProviderError as exc:
            self.settle_refused_cancel(provider_order_id, exc)

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> list[TrackingUpdate]:
        if self.is_probe(body):
            return []
        try:
            return self.webhook_updates(orjson.loads(body))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise WebhookRejected(f"malformed webhook: {exc!r}", provider=self.name) from exc

    def close(self) -> None:
        self.client.close()


def revealed(secret: SecretStr | None) -> str:
    """The value of an optional secret setting, ``""`` when it is unset."""
    return secret.get_secret_value() if secret else ""


def header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup for plain dicts as well as httpx/Starlette headers."""
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    for key, val in headers.items():
        if key.lower() == lowered:
            return val
    return None


__all__ = [
    "Capabilities",
    "HttpProviderAdapter",
    "ProviderAdapter",
    "ProviderSettings",
    "header",
    "revealed",
]
