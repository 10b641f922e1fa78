"""Value types: integer rupiah, aware UTC, what a provider may learn, coordinates."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from providers.types import (
    Coordinates,
    Item,
    Money,
    Place,
    Quote,
    Stop,
    courier_text,
    derive_event_id,
)


def test_money_is_whole_rupiah() -> None:
    assert str(Money(amount=15000)) == "IDR 15.000"
    with pytest.raises(ValidationError):
        Money(amount=-1)
    with pytest.raises(ValidationError):
        Money(amount=1.5)  # type: ignore[arg-type]


def test_naive_datetimes_are_refused_and_aware_ones_become_utc() -> None:
    kwargs = {"provider": "x", "provider_quote_id": "q", "price": Money(amount=1)}
    with pytest.raises(ValidationError):
        Quote(**kwargs, expires_at=datetime(2030, 1, 1))
    q = Quote(**kwargs, expires_at=datetime.fromisoformat("2030-01-01T07:00:00+07:00"))
    assert q.expires_at == datetime(2030, 1, 1, tzinfo=UTC)
    assert not q.is_expired(datetime(2029, 12, 31, tzinfo=UTC))


def test_item_is_always_described_as_dokumen() -> None:
    assert Item().description == "Dokumen"
    with pytest.raises(ValidationError):
        Item(description="Surat Keterangan Domisili")  # type: ignore[arg-type]


def test_stop_has_no_room_for_identity_data() -> None:
    coords = Coordinates(lat=-6.39, lng=106.84)
    with pytest.raises(ValidationError):
        Stop(coordinates=coords, name="Siti", phone="+6281234560001",
             nik="3276015708900001")  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        Stop(coordinates=coords, name="Siti", phone="081234560001")  # not E.164


def test_haversine_distance_and_parse() -> None:
    office = Coordinates.parse("-6.3925,106.8420")
    home = Coordinates(lat=-6.3952, lng=106.8461)
    assert 520 < office.distance_m(home) < 560
    assert office.distance_m(office) == 0
    with pytest.raises(ValueError, match="LAT,LNG"):
        Coordinates.parse("-6.39")


def test_derived_event_ids_are_stable() -> None:
    assert derive_event_id("grab", "D1", "PICKING_UP", 17) == \
        derive_event_id("grab", "D1", "PICKING_UP", 17)
    assert derive_event_id("grab", "D1", "PICKING_UP", 17) != \
        derive_event_id("grab", "D1", "IN_DELIVERY", 17)


def test_stop_and_place_texts_never_carry_a_nik() -> None:
    here = Coordinates(lat=-6.39, lng=106.84)
    stop = Stop(coordinates=here, phone="+6281234560001", name="Siti 3276 0112 0385 0002",
                address="Jl. Kenanga 5, NIK 3276.0112.0385.0002", note="3276-0112-0385-0002")
    assert (stop.name, stop.address, stop.note) == ("Siti [dihapus]",
                                                    "Jl. Kenanga 5, NIK [dihapus]", "[dihapus]")
    assert Place(coordinates=here, address="RT 3, NIK 3276011203850002").address == \
        "RT 3, NIK [dihapus]"


def test_courier_text_scrubs_before_cutting() -> None:
    text = "x" * 490 + " 3276 0112 0385 0002"
    assert courier_text(text) == "x" * 490 + " [dihapus]"
    assert courier_text(text, limit=495) == "x" * 490 + " [dih"
