from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, Timestamped, UUIDPk

# The requirement that stands for the RT/RW cover letter: issued in the system by the head of
# the resident's RW (``core.requests.cover_letters``), neither uploaded nor brought along.
COVER_LETTER_REQUIREMENT = "pengantar_rt_rw"


class Service(UUIDPk, Timestamped, Base):
    """One service an office offers (a letter, a cover letter for Dukcapil, a recommendation).

    Every office owns its own copy: it starts from the template in ``core.catalog.template``
    and is edited by the office admin. ``requirements`` is a list of
    ``{"code", "name", "upload": bool, "original": bool}`` (``upload``: a scan must be sent
    online; ``original``: the original is shown when the document is handed over);
    ``fields`` is the form the resident fills:
    ``{"name", "label", "required", "max_length", "type"}`` (``type``: text, long_text, date or
    number; text when absent).
    """

    __tablename__ = "services"
    __table_args__ = (UniqueConstraint("office_id", "code"),)

    office_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("offices.id"), index=True)
    code: Mapped[str] = mapped_column(String(60))
    name: Mapped[str] = mapped_column(String(160))
    description: Mapped[str] = mapped_column(Text, default="")
    legal_basis: Mapped[list[Any]] = mapped_column(default=list)
    requirements: Mapped[list[Any]] = mapped_column(default=list)
    fields: Mapped[list[Any]] = mapped_column(default=list)
    flow_steps: Mapped[list[Any]] = mapped_column(default=list)
    processing_days: Mapped[int] = mapped_column(default=1)
    fee: Mapped[int] = mapped_column(default=0)  # integer rupiah
    online: Mapped[bool] = mapped_column(default=True)
    deliverable: Mapped[bool] = mapped_column(default=True)
    needs_cover_letter: Mapped[bool] = mapped_column(default=False)
    # The resident may download the signed scan (and so may decide no paper has to travel).
    digital_copy: Mapped[bool] = mapped_column(default=False)
    counter_note: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(default=True)
    sort_order: Mapped[int] = mapped_column(default=100)

    def requirement(self, code: str) -> dict[str, Any] | None:
        return next((r for r in self.requirements or [] if r.get("code") == code), None)

    def issued_in_system(self, requirement: dict[str, Any]) -> bool:
        """The RT/RW cover letter of a service that needs one: the RW head issues it here."""
        return bool(self.needs_cover_letter) and \
            requirement.get("code") == COVER_LETTER_REQUIREMENT

    @property
    def originals(self) -> list[dict[str, Any]]:
        """Requirements whose original is checked at handover (counter or door)."""
        return [r for r in self.requirements or [] if r.get("original")]

    @property
    def shown_at_handover(self) -> list[dict[str, Any]]:
        """What the resident shows when the document is handed over: the originals (which
        must be checked) and the papers that are neither uploaded nor issued in the system
        (checked when they apply). The counter's checklist and the resident's list."""
        return [r for r in self.requirements or []
                if r.get("original") or (not r.get("upload") and not self.issued_in_system(r))]
