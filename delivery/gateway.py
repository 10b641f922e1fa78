"""The delivery side's only door to providers: the registry, never a concrete adapter.

Every call made through here happens OUTSIDE a database transaction (docs/architecture.md
rule 1); callers load what they need, commit, call, then record the result in a new unit of
work.

Adapters are built once per process and configuration and shared (the contract makes them
safe to call from several threads), so a quote or a webhook does not pay for a new HTTP
client (TLS context) or for re-reading the registry each time.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import lru_cache

from core.settings import Settings
from providers import registry
from providers.base import Capabilities, ProviderAdapter
from providers.errors import TransientProviderError as TransientProviderError  # re-exported

# TransientProviderError is re-exported: tasks retry on it, and reach providers only through
# this door.
_adapters: dict[tuple[int, str, str], ProviderAdapter] = {}
_lock = threading.Lock()


# Settings objects are immutable and cached (``core.settings.get_settings``): the key of a
# provider's configuration is computed once per settings object, not on every webhook. The
# entry holds the object itself, so its id cannot be reused while the entry lives.
_keys: dict[int, tuple[Settings, dict[str | None, str]]] = {}


def _config_key(settings: Settings, name: str | None = None) -> str:
    entry = _keys.get(id(settings))
    if entry is None or entry[0] is not settings:
        if len(_keys) > 16:  # tests build many settings objects
            _keys.clear()
        entry = _keys[id(settings)] = (settings, {})
    key = entry[1].get(name)
    if key is None:
        conf = settings.providers if name is None else settings.providers.get(name, {})
        key = entry[1][name] = json.dumps(conf, sort_keys=True, default=str)
    return key


def shared_adapter(name: str, settings: Settings) -> ProviderAdapter:
    # Keyed by process id too: a forked worker child must not reuse its parent's sockets.
    key = (os.getpid(), name, _config_key(settings, name))
    with _lock:
        found = _adapters.get(key)
        if found is None:
            found = registry.get_adapter(name, settings.providers)
            _adapters[key] = found
        return found


@contextmanager
def adapter(name: str, settings: Settings) -> Iterator[ProviderAdapter]:
    """``with gateway.adapter(name, settings) as a:`` - the shared adapter (not closed)."""
    yield shared_adapter(name, settings)


@lru_cache(maxsize=64)
def capabilities(name: str) -> Capabilities:
    return registry.adapter_class(name).capabilities


@lru_cache(maxsize=64)
def display_name(name: str) -> str:
    try:
        return registry.adapter_class(name).display_name
    except Exception:  # an uninstalled provider of an old delivery still gets a label
        return name


@lru_cache(maxsize=32)
def _enabled(config_key: str) -> tuple[str, ...]:
    config = json.loads(config_key)
    infos = [i for i in registry.describe(config) if i.enabled and not i.error]
    return tuple(i.name for i in sorted(infos, key=lambda i: (i.priority, i.name)))


def enabled_names(settings: Settings) -> list[str]:
    """Providers switched on in this deployment, by priority then name."""
    return list(_enabled(_config_key(settings)))


def known(name: str) -> bool:
    return name in _installed()


@lru_cache(maxsize=1)
def _installed() -> frozenset[str]:
    return frozenset(registry.installed())


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
