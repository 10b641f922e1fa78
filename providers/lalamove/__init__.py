"""Lalamove API v3 (Indonesia market ``ID``): see :mod:`providers.lalamove.adapter`."""

from providers.lalamove.adapter import LalamoveAdapter
from providers.lalamove.settings import LalamoveSettings

__all__ = ["LalamoveAdapter", "LalamoveSettings"]
