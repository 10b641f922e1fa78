"""GrabExpress Delivery API: see :mod:`providers.grabexpress.adapter`."""

from providers.grabexpress.adapter import GrabExpressAdapter
from providers.grabexpress.settings import GrabExpressSettings

__all__ = ["GrabExpressAdapter", "GrabExpressSettings"]
