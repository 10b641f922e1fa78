"""Which adapters exist, which are enabled, and how to build one with its settings.

Adapters come from two places:

* :data:`BUILTIN`: in-tree adapters as ``"module:Class"`` strings, imported lazily so a
  broken or heavy adapter never breaks the others (add a line when you add one);
* the entry-point group ``sipoke.providers`` (``name = "pkg.module:AdapterClass"``) for
  third-party packages. A built-in name wins over an entry point of the same name.

Configuration is ``settings.providers[name]`` (env ``SIPOKE_PROVIDERS__<NAME>__<KEY>``, keys
lower-cased), validated by the adapter's own ``settings_model``. Pass the whole mapping in
(``get_adapter("sandbox", settings.providers)``); without it the registry reads the same
variables from the environment itself, so this package imports nothing of ours.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from pydantic import ValidationError

from providers.base import ProviderAdapter, ProviderSettings

log = logging.getLogger("sipoke.providers")

ENTRY_POINT_GROUP = "sipoke.providers"
ENV_PREFIX = "SIPOKE_PROVIDERS__"

BUILTIN: dict[str, str] = {
    "sandbox": "providers.sandbox.adapter:SandboxAdapter",
    "inhouse": "providers.inhouse.adapter:InhouseAdapter",
    "lalamove": "providers.lalamove.adapter:LalamoveAdapter",
    "gosend": "providers.gosend.adapter:GoSendAdapter",
    "grabexpress": "providers.grabexpress.adapter:GrabExpressAdapter",
    "biteship": "providers.biteship.adapter:BiteshipAdapter",
}

ProvidersConfig = Mapping[str, Mapping[str, Any]]


class UnknownProvider(LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(f"unknown provider '{name}' (installed: {', '.join(installed())})")
        self.name = name


def _load(target: str) -> type[ProviderAdapter]:
    module_name, _, attr = target.partition(":")
    cls = getattr(importlib.import_module(module_name), attr)
    if not (isinstance(cls, type) and issubclass(cls, ProviderAdapter)):
        raise TypeError(f"{target} is not a ProviderAdapter")
    return cls


def _sources() -> dict[str, str]:
    found: dict[str, str] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        found[ep.name.lower()] = ep.value
    found.update(BUILTIN)
    return found


def installed() -> list[str]:
    """Names of every adapter we know of, built-in or from entry points, sorted."""
    return sorted(_sources())


def adapter_class(name: str) -> type[ProviderAdapter]:
    target = _sources().get(name.lower())
    if target is None:
        raise UnknownProvider(name)
    return _load(target)


def providers_config_from_env(environ: Mapping[str, str] | None = None) -> dict[str, dict]:
    """``SIPOKE_PROVIDERS__<NAME>__<KEY>=value`` as ``{name: {key: value}}`` (lower-cased),
    the same shape ``core.settings.Settings.providers`` has."""
    config: dict[str, dict[str, Any]] = {}
    for key, value in (os.environ if environ is None else environ).items():
        if not key.upper().startswith(ENV_PREFIX):
            continue
        name, sep, field = key[len(ENV_PREFIX):].partition("__")
        if sep and name and field:
            config.setdefault(name.lower(), {})[field.lower()] = value
    return config


def _config_for(name: str, config: ProvidersConfig | None) -> dict[str, Any]:
    source = providers_config_from_env() if config is None else config
    return {str(k).lower(): v for k, v in dict(source.get(name.lower(), {})).items()}


def settings_error_text(name: str, exc: Exception) -> str:
    """One line naming the offending ``SIPOKE_PROVIDERS__<NAME>__<KEY>`` variables."""
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{ENV_PREFIX}{name.upper()}__{'__'.join(str(p).upper() for p in err['loc'])}: "
            f"{err['msg']}" for err in exc.errors())
    return f"{type(exc).__name__}: {exc}".splitlines()[0]


def settings_for(name: str, config: ProvidersConfig | None = None) -> ProviderSettings:
    """The validated settings of one provider (raises pydantic.ValidationError)."""
    return adapter_class(name).settings_model.model_validate(_config_for(name, config))


def get_adapter(name: str, config: ProvidersConfig | None = None) -> ProviderAdapter:
    """A ready adapter, enabled or not (the CLI may quote a disabled one). Cheap to build;
    close it (or use ``with``) when done."""
    cls = adapter_class(name)
    return cls(cls.settings_model.model_validate(_config_for(name, config)))


@dataclass(frozen=True)
class ProviderInfo:
    name: str
    display_name: str
    enabled: bool
    priority: int
    capabilities: dict[str, Any]
    error: str | None = None


def describe(config: ProvidersConfig | None = None) -> list[ProviderInfo]:
    """Every installed adapter with its enabled flag and capabilities; one that fails to load
    or has invalid settings is listed with ``error`` instead of breaking the list."""
    out = []
    for name in installed():
        try:
            cls = adapter_class(name)
            conf = cls.settings_model.model_validate(_config_for(name, config))
        except Exception as exc:  # a third-party adapter must not break the listing
            out.append(ProviderInfo(name, name, False, 0, {},
                                    error=settings_error_text(name, exc)))
            continue
        out.append(ProviderInfo(name, cls.display_name, conf.enabled, conf.priority,
                                cls.capabilities.as_dict()))
    return out


def enabled_adapters(config: ProvidersConfig | None = None) -> list[ProviderAdapter]:
    """Adapters switched on by their ``ENABLED`` setting, by priority then name. An adapter
    that fails to load is logged and skipped, so one bad plugin cannot stop deliveries."""
    chosen: list[tuple[int, str, ProviderAdapter]] = []
    for name in installed():
        try:
            adapter = get_adapter(name, config)
        except Exception:
            log.exception("provider adapter failed to load", extra={"provider": name})
            continue
        if adapter.settings.enabled:
            chosen.append((adapter.settings.priority, name, adapter))
        else:
            adapter.close()
    return [adapter for _, _, adapter in sorted(chosen, key=lambda t: (t[0], t[1]))]
