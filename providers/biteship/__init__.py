"""Biteship courier aggregator: see :mod:`providers.biteship.adapter`."""

from providers.biteship.adapter import BiteshipAdapter
from providers.biteship.settings import BiteshipSettings

__all__ = ["BiteshipAdapter", "BiteshipSettings"]
