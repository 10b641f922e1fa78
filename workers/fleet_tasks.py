"""The fleet's task: the beat sweep that moves expired offers to the next courier."""

from __future__ import annotations

from sqlalchemy.orm import Session

from core import task_names
from core.settings import get_settings
from fleet import service
from fleet.config import fleet_settings
from workers.base import db_task


@db_task(task_names.INHOUSE_SWEEP_OFFERS, max_retries=0)
def sweep_offers(session: Session) -> dict[str, int]:
    """Expire offers past their deadline, offer those jobs to the next nearest courier, and
    end searches past their deadline as no_courier. Idempotent; a missed run only delays."""
    return service.sweep(session, fleet_settings(get_settings()))
