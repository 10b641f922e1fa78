"""The one place the product is plugged together.

``core``, ``fleet`` and ``providers`` know nothing of the packages above them; three
process-wide hooks connect them, and :func:`wire` installs all three:

* the after-commit publisher (``core.db``): committed outbox rows go to the broker at once
  (processes that serve traffic; a short CLI command leaves them to the relay);
* the delivery port (``core.requests.handover``): a finished request's handover can become a
  delivery;
* the fleet's hooks (``fleet.hooks``): a courier's status change reaches the delivery in the
  same transaction, and a job page follows its delivery's state.

Every process calls it once at start: the API (``sipoke.app.build_app``), the worker and
beat (``sipoke.commands.serve``), every CLI command (``sipoke.cli``) and the tests
(``tests/fixtures.py``). :func:`check` fails loudly when a hook is missing; the worker runs it
again when it starts (``workers.celery_app``), so a process that skipped wiring never runs a
task half-connected.
"""

from __future__ import annotations

from core import db
from core.settings import Settings


class NotWired(RuntimeError):
    """A process started without :func:`wire`: some hook is missing."""


def wire(settings: Settings, *, publish_after_commit: bool = True) -> None:
    import delivery
    from workers.enqueue import publish_after_commit as publisher

    use_publisher = publish_after_commit and settings.outbox_publish_after_commit
    db.set_after_commit_publisher(publisher if use_publisher else None)
    delivery.install()
    check()


def check() -> None:
    """Raise :class:`NotWired` naming every hook that is missing."""
    from core.requests.handover import delivery_port
    from fleet import hooks

    missing = []
    if delivery_port() is None:
        missing.append("the delivery port (core.requests.handover)")
    if not hooks.has_status_listener():
        missing.append("the fleet's status listener (fleet.hooks)")
    if not hooks.has_delivery_lookup():
        missing.append("the fleet's delivery lookup (fleet.hooks)")
    if missing:
        raise NotWired("the product is not wired (call sipoke.wiring.wire at start-up): "
                       + "; ".join(missing))
