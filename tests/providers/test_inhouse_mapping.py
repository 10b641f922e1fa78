"""The in-house adapter's mapping: the fleet's words onto the provider contract's, with no I/O."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fleet import errors
from fleet.errors import FleetRefused
from fleet.hooks import JobUpdate
from fleet.statuses import ENDED, JobStatus
from providers.errors import (
    CancelNotAllowed,
    OrderNotFound,
    OutOfServiceArea,
    PermanentProviderError,
)
from providers.inhouse import mapping
from providers.inhouse.config import InhouseSettings
from providers.status import TERMINAL, DeliveryStatus
from providers.types import Coordinates

AT = datetime(2026, 12, 2, 3, 4, 5, tzinfo=UTC)


def test_every_job_status_has_the_contract_status_of_the_same_meaning() -> None:
    assert set(mapping.STATUS) == set(JobStatus)
    for job_status, status in mapping.STATUS.items():
        assert status.value == job_status.value
        assert (job_status in ENDED) == (status in TERMINAL)
        assert job_status.rank == status.rank


@pytest.mark.parametrize(("code", "kind"), [
    (errors.BAD_OFFICE, PermanentProviderError),
    (errors.UNKNOWN_OFFICE, PermanentProviderError),
    (errors.NO_COURIERS, PermanentProviderError),
    (errors.TOO_FAR, OutOfServiceArea),
    (errors.NOT_CANCELLABLE, CancelNotAllowed),
    (errors.NO_SUCH_JOB, OrderNotFound),
])
def test_fleet_refusals_become_the_contracts_errors(code: str, kind: type) -> None:
    error = mapping.to_error(FleetRefused(code, "why"))
    assert type(error) is kind
    assert (error.provider, error.code, error.message) == ("inhouse", code.upper(), "why")


def test_a_job_update_becomes_a_tracking_update() -> None:
    update = mapping.to_update(JobUpdate(
        job_id="j-1", reference="ref-1", event_id="ih-1", occurred_at=AT,
        status=JobStatus.returning, courier_name="Budi", courier_phone="+6281300000001",
        courier_plate="B 1 KLR", lat=-6.39, lng=106.84, proof_urls=("/p.jpg",),
        failure_reason="Rumah kosong"))
    assert (update.provider, update.provider_order_id, update.provider_event_id) == \
        ("inhouse", "j-1", "ih-1")
    assert update.status is DeliveryStatus.returning and update.raw_status == "returning"
    assert update.courier is not None and update.courier.plate == "B 1 KLR"
    assert update.position == Coordinates(lat=-6.39, lng=106.84)
    assert (update.reference, update.failure_reason) == ("ref-1", "Rumah kosong")


def test_a_job_without_a_courier_or_position_says_so() -> None:
    update = mapping.to_update(JobUpdate(job_id="j", reference="r", event_id="e",
                                         occurred_at=AT, status=JobStatus.searching_courier))
    assert update.courier is None and update.position is None


def test_one_settings_block_configures_the_provider_and_the_fleet() -> None:
    settings = InhouseSettings.model_validate({"enabled": "false", "fee_flat": "5000",
                                               "offer_timeout_s": "60"})
    assert (settings.enabled, settings.priority) == (False, 10)
    assert (settings.fee_flat, settings.offer_timeout_s) == (5000, 60)
