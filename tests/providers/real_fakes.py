"""The respx fakes of the real providers behind one door, for end-to-end tests.

Every fake has the same surface:

* ``fake.install(router)`` adds its routes to a respx router (routes are absolute URLs on
  the fake's ``base_url``, so several fakes share one router);
* ``fake.config(**extra)`` is the adapter's settings as ``settings.providers[name]`` (pass
  ``enabled=True`` to make the delivery side pick it);
* ``fake.advance(provider_order_id, DeliveryStatus.x)`` walks the order along the provider's
  happy path; ``fake.set_status(provider_order_id, raw)`` sets any raw status (no driver,
  cancellations, a Lalamove driver rejection back to ``ASSIGNING_DRIVER``...);
* ``fake.webhook(provider_order_id)`` returns ``(body, headers)`` signed or tokened the way
  the provider does, ready to POST to ``/webhooks/<name>``;
* ``fake.fail(endpoint, httpx.Response(503), times=1)`` injects outages and odd answers;
* ``fake.received`` lists the requests the adapter sent.

Example (a delivery routed through GoSend)::

    with respx.mock(assert_all_called=False) as router:
        fake = install_fake("gosend", router)
        router.route(host="testserver").pass_through()   # if the test also calls our app
        use_only(monkeypatch, "gosend", fake.config(enabled=True, priority=1))
        ...
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import respx

from providers.grabexpress.client import clear_token_cache
from tests.providers.biteship.fake import FakeBiteship
from tests.providers.gosend.fake import FakeGoSend
from tests.providers.grabexpress.fake import FakeGrabExpress
from tests.providers.lalamove.fake import FakeLalamove

FAKES: dict[str, type] = {"lalamove": FakeLalamove, "gosend": FakeGoSend,
                          "grabexpress": FakeGrabExpress, "biteship": FakeBiteship}


def install_fake(name: str, router: respx.Router, **kwargs: Any) -> Any:
    """Build the fake of provider ``name`` and install its routes on ``router``."""
    fake = FAKES[name](**kwargs)
    fake.install(router)
    return fake


def use_only(monkeypatch: Any, name: str, config: dict[str, Any]) -> None:
    """Make ``name``, with ``config``, the one provider the delivery side may use (the sandbox
    and the in-house couriers switched off), for the rest of the test."""
    from core.settings import reset_settings_cache

    for key, value in config.items():
        monkeypatch.setenv(f"SIPOKE_PROVIDERS__{name.upper()}__{key.upper()}", str(value))
    for other in ("sandbox", "inhouse"):
        monkeypatch.setenv(f"SIPOKE_PROVIDERS__{other.upper()}__ENABLED", "false")
    reset_settings_cache()


@contextmanager
def only_real_provider(name: str, monkeypatch: Any) -> Iterator[tuple[respx.Router, Any]]:
    """(router, fake): respx intercepts the outside world, calls to our own app (the test
    client's ``testserver``) pass through, and ``name``'s fake is the one provider."""
    clear_token_cache()
    with respx.mock(assert_all_called=False) as router:
        router.route(host="testserver").pass_through()
        fake = install_fake(name, router)
        use_only(monkeypatch, name, fake.config(enabled=True, priority=1))
        yield router, fake
