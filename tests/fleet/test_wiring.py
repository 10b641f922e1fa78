"""The fleet is wired into the worker, beat and the demo data."""

from __future__ import annotations

from sqlalchemy import select

from core.db import unit_of_work
from core.models import User
from core.settings import get_settings
from fleet.models import CourierProfile
from sipoke.seed import seed_demo
from workers.beat import beat_schedule
from workers.celery_app import TASK_MODULES


def test_sweep_task_is_registered_and_scheduled_with_expiry() -> None:
    import importlib

    from workers.celery_app import app

    assert "workers.fleet_tasks" in TASK_MODULES
    importlib.import_module("workers.fleet_tasks")
    assert "inhouse.sweep_offers" in app.tasks
    entry = beat_schedule(get_settings())["inhouse-sweep-offers"]
    assert entry["task"] == "inhouse.sweep_offers"
    assert 0 < entry["options"]["expires"] <= entry["schedule"].total_seconds()


def test_demo_couriers_get_one_profile_idempotently(demo, settings) -> None:
    seed_demo(settings)  # a second run adds nothing
    with unit_of_work() as session:
        profiles = list(session.scalars(select(CourierProfile)))
        courier = session.scalar(select(User).where(User.username == "kurir.mekarjaya"))
    assert len(profiles) == 1 and profiles[0].user_id == courier.id and profiles[0].on_duty


def test_sandbox_is_started_by_run() -> None:
    from core.settings import load_settings
    from sipoke.commands.serve import EXTRA_PROCESSES

    [(_name, argv, url_of)] = [p for p in EXTRA_PROCESSES if p[0] == "sandbox"]
    assert argv[-1] == "sandbox-provider"
    assert url_of(load_settings()) == "http://127.0.0.1:8100"
    moved = load_settings(providers={"sandbox": {"base_url": "http://127.0.0.1:8123/"}})
    assert url_of(moved) == "http://127.0.0.1:8123"
