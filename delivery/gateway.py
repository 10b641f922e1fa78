"""The delivery side's only door to providers: the registry, never a concrete adapter.

Every call made here happens OUTSIDE a database transaction (DESIGN rule 1); callers load
what they need, commit, call, then record the result in a new unit of work.
"""

from __future__ import annotations

from collections.abc import Iterable

from core.settings import Settings
from providers import registry
from providers.base import Capabilities, ProviderAdapter


def adapter(name: str, settings: Settings) -> ProviderAdapter:
    return registry.get_adapter(name, settings.providers)


def capabilities(name: str) -> Capabilities:
    return registry.adapter_class(name).capabilities


def display_name(name: str) -> str:
    try:
        return registry.adapter_class(name).display_name
    except Exception:  # an uninstalled provider of an old delivery still gets a label
        return name


def enabled_names(settings: Settings) -> list[str]:
    """Providers switched on in this deployment, by priority then name."""
    infos = [i for i in registry.describe(settings.providers) if i.enabled and not i.error]
    return [i.name for i in sorted(infos, key=lambda i: (i.priority, i.name))]


def eligible(settings: Settings, *, office_enabled: list[str] | None, distance_m: int,
             excluded: Iterable[str] = (), needs_round_trip: bool = False) -> list[str]:
    """Providers that may serve this trip: enabled in the deployment and for the office, not
    excluded (failed this delivery already), and able to go this far."""
    skip = set(excluded)
    names = []
    for name in enabled_names(settings):
        if office_enabled is not None and name not in office_enabled:
            continue
        if name in skip:
            continue
        caps = capabilities(name)
        if caps.max_distance_m is not None and distance_m > caps.max_distance_m:
            continue
        if needs_round_trip and not caps.round_trip:
            continue
        names.append(name)
    return names
