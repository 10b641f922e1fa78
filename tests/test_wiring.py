"""One wiring call (``sipoke.wiring.wire``) plugs the product together in every process, and
a process that skipped it fails loudly instead of running half-connected."""

from __future__ import annotations

import pytest

from core import db
from core.requests.handover import delivery_port, register_delivery_port
from fleet import hooks
from sipoke import wiring


@pytest.fixture
def unwired():
    register_delivery_port(None)
    hooks.set_status_listener(None)
    hooks.set_delivery_lookup(None)
    db.set_after_commit_publisher(None)
    yield
    register_delivery_port(None)
    hooks.set_status_listener(None)
    hooks.set_delivery_lookup(None)
    db.set_after_commit_publisher(None)


def test_wire_installs_every_hook_and_the_check_passes(settings, unwired):
    with pytest.raises(wiring.NotWired) as refused:
        wiring.check()
    assert "delivery port" in str(refused.value) and "status listener" in str(refused.value)

    wiring.wire(settings)

    wiring.check()
    assert delivery_port() is not None and hooks.has_status_listener()
    assert db._publisher is not None  # the API and workers publish right after commit


def test_a_missing_hook_is_named(settings, unwired):
    wiring.wire(settings)
    hooks.set_delivery_lookup(None)

    with pytest.raises(wiring.NotWired, match="delivery lookup"):
        wiring.check()


def test_the_worker_checks_the_wiring_where_tasks_run(unwired):
    from sipoke.commands.serve import _check_wired

    with pytest.raises(wiring.NotWired):
        _check_wired(sender=None)


def test_every_cli_command_runs_wired_and_leaves_publishing_to_the_relay(settings, unwired,
                                                                         capsys):
    from sipoke.cli import main

    assert main(["providers", "list"]) == 0

    wiring.check()
    assert db._publisher is None
