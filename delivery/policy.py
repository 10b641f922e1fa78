"""Per-office delivery policy with deployment-wide defaults.

Resolution: built-in defaults < ``SIPOKE_DELIVERY__*`` settings < the office's own row
(``delivery_policies``, edited by the office admin). The pickup point is always the office's
coordinates.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy.orm import Session

from core import audit
from core.errors import NotFound, ValidationFailed
from core.models import User
from core.settings import Settings
from delivery.models import DeliveryPolicy


class ChoicePolicy(StrEnum):
    resident = "resident"  # the resident picks among the quotes
    cheapest = "cheapest"
    fastest = "fastest"
    preferred = "preferred"  # first provider of preferred_order that answered


class SubsidyRule(BaseModel):
    """First matching rule applies. Matches a household marked by phone, an RW, or anyone
    (no criteria). ``free`` pays everything; otherwise ``amount_off`` and/or ``percent_off``,
    capped by ``max_amount``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=80)
    phones: list[str] = Field(default_factory=list)
    rws: list[str] = Field(default_factory=list)
    free: bool = False
    amount_off: int = Field(default=0, ge=0)
    percent_off: int = Field(default=0, ge=0, le=100)
    max_amount: int | None = Field(default=None, ge=0)

    def matches(self, *, phone: str | None, rw: str | None) -> bool:
        if not self.phones and not self.rws:
            return True
        return (phone is not None and phone in self.phones) or (rw is not None and rw in self.rws)

    def subsidy_for(self, price: int) -> int:
        amount = price if self.free else self.amount_off + price * self.percent_off // 100
        if self.max_amount is not None:
            amount = min(amount, self.max_amount)
        return max(0, min(amount, price))


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # None: every enabled provider of the deployment.
    enabled_providers: list[str] | None = None
    choice_policy: ChoicePolicy = ChoicePolicy.resident
    preferred_order: list[str] = Field(default_factory=list)
    max_distance_m: int = Field(default=25_000, gt=0)
    # From the first quote until the delivery must have a courier, else office pickup.
    time_budget_min: float = Field(default=90, gt=0)
    # An attempt still without a courier after this is cancelled and failed over.
    no_courier_timeout_min: float = Field(default=10, gt=0)
    quote_deadline_s: float = Field(default=5, gt=0, le=60)
    late_pickup_min: float = Field(default=45, gt=0)
    late_delivery_min: float = Field(default=120, gt=0)
    # Poll an active attempt whose last update is older than this (webhooks may be lost).
    poll_after_s: float = Field(default=120, gt=0)
    # The sweeper re-drives work left in a transient state for longer than this.
    stuck_after_s: float = Field(default=120, gt=0)
    subsidy_rules: list[SubsidyRule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _lower_names(self) -> Policy:
        if self.enabled_providers is not None:
            self.enabled_providers = [p.lower() for p in self.enabled_providers]
        self.preferred_order = [p.lower() for p in self.preferred_order]
        return self

    def subsidy(self, price: int, *, phone: str | None, rw: str | None) -> tuple[int, str | None]:
        for rule in self.subsidy_rules:
            if rule.matches(phone=phone, rw=rw):
                return rule.subsidy_for(price), rule.name
        return 0, None


def defaults(settings: Settings) -> dict[str, Any]:
    return Policy.model_validate(settings.delivery or {}).model_dump(mode="json")


def for_office(session: Session, settings: Settings, office_id: uuid.UUID) -> Policy:
    base = defaults(settings)
    row = session.get(DeliveryPolicy, office_id)
    merged = {**base, **(row.settings if row else {})}
    try:
        return Policy.model_validate(merged)
    except ValidationError:
        # A stored override made invalid by a later change must not stop deliveries.
        return Policy.model_validate(base)


def overrides(session: Session, office_id: uuid.UUID) -> dict[str, Any]:
    row = session.get(DeliveryPolicy, office_id)
    return dict(row.settings) if row else {}


def update(session: Session, settings: Settings, actor: User, changes: dict[str, Any]
           ) -> Policy:
    """Store the office admin's overrides (a null value returns a field to the default)."""
    if actor.office_id is None:
        raise NotFound("Kantor tidak ditemukan.")
    unknown = set(changes) - set(Policy.model_fields)
    if unknown:
        raise ValidationFailed(sorted(unknown)[0], "Pengaturan tidak dikenal.")
    row = session.get(DeliveryPolicy, actor.office_id)
    current = dict(row.settings) if row else {}
    merged = {k: v for k, v in {**current, **changes}.items() if v is not None}
    try:
        checked = Policy.model_validate({**defaults(settings), **merged})
    except ValidationError as exc:
        raise ValidationFailed.from_errors(exc.errors()) from None
    stored = {k: checked.model_dump(mode="json")[k] for k in merged}
    if row is None:
        row = DeliveryPolicy(office_id=actor.office_id, settings=stored)
        session.add(row)
    else:
        row.settings = stored
    audit.record(session, action="delivery.policy_updated", entity_type="office",
                 entity_id=actor.office_id, office_id=actor.office_id, actor=actor,
                 data={"before": current, "after": stored})
    session.flush()
    return checked
