"""Home delivery of finished documents: quotes, booking, tracking, failover, safe handover.

:func:`install` plugs delivery into core (the handover port) and into the office's fleet
(its job updates, and the lookup its job pages follow); ``sipoke.wiring`` calls it in every
process.
"""

from __future__ import annotations


def install() -> None:
    from core.requests.handover import register_delivery_port
    from delivery.handover.service import delivery_state_for_reference
    from delivery.port import DeliveryService
    from delivery.tracking.service import fleet_listener
    from fleet import hooks as fleet_hooks

    register_delivery_port(DeliveryService())
    fleet_hooks.set_status_listener(fleet_listener)
    fleet_hooks.set_delivery_lookup(delivery_state_for_reference)


def routers() -> tuple:
    """Routers mounted under /api/v1."""
    from delivery.handover.endpoints import api_router as handover
    from delivery.operators.endpoints import admin_router
    from delivery.operators.endpoints import router as operators
    from delivery.quotes.endpoints import router as residents

    return (residents, handover, operators, admin_router)


def root_routers() -> tuple:
    """Routers outside /api/v1: provider webhooks and /metrics. (The courier's handover page
    the envelope QR opens, /antar/{token}, is a web page: web/pages/handover.py.)"""
    from delivery.metrics_endpoint import router as metrics
    from delivery.tracking.endpoints import router as webhooks

    return (webhooks, metrics)
