"""GoSend (Gojek) partner API: see :mod:`providers.gosend.adapter`."""

from providers.gosend.adapter import GoSendAdapter
from providers.gosend.settings import GoSendSettings

__all__ = ["GoSendAdapter", "GoSendSettings"]
