"""The registry: built-ins, entry-point plugins, per-provider settings from the environment."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest
from pydantic import SecretStr

from core.settings import Settings
from providers import registry
from providers.base import ProviderAdapter, ProviderSettings
from providers.inhouse.adapter import InhouseAdapter
from providers.sandbox.adapter import SandboxAdapter, SandboxSettings


class AcmeSettings(ProviderSettings):
    token: SecretStr = SecretStr("")


class AcmeAdapter(ProviderAdapter):
    """A third-party adapter, as a plugin package would ship it."""

    name = "acme"
    display_name = "Acme Kurir"
    settings_model = AcmeSettings

    def quote(self, request):
        raise NotImplementedError

    book = get_status = cancel = quote  # type: ignore[assignment]


@pytest.fixture
def plugins(monkeypatch: pytest.MonkeyPatch):
    found: list[EntryPoint] = []

    def fake_entry_points(group: str) -> list[EntryPoint]:
        assert group == "sipoke.providers"
        return found

    monkeypatch.setattr(registry, "entry_points", fake_entry_points)
    return found


def test_builtins_are_installed() -> None:
    assert {"sandbox", "inhouse"} <= set(registry.installed())
    assert registry.adapter_class("sandbox") is SandboxAdapter
    assert registry.adapter_class("INHOUSE") is InhouseAdapter
    with pytest.raises(registry.UnknownProvider, match="unknown provider 'nope'"):
        registry.adapter_class("nope")


def test_entry_point_plugins_are_found_and_configured(plugins) -> None:
    plugins.append(EntryPoint("acme", f"{__name__}:AcmeAdapter", "sipoke.providers"))
    assert "acme" in registry.installed()
    adapter = registry.get_adapter("acme", {"acme": {"token": "t0k", "enabled": "true",
                                                     "priority": "1"}})
    assert isinstance(adapter, AcmeAdapter)
    assert adapter.settings.token.get_secret_value() == "t0k"
    assert "t0k" not in repr(adapter.settings)
    enabled = registry.enabled_adapters({"acme": {"enabled": "true", "priority": "1"}})
    assert enabled[0].name == "acme"


def test_a_builtin_name_wins_over_a_plugin(plugins) -> None:
    plugins.append(EntryPoint("sandbox", f"{__name__}:AcmeAdapter", "sipoke.providers"))
    assert registry.adapter_class("sandbox") is SandboxAdapter


def test_a_broken_plugin_does_not_break_the_others(plugins) -> None:
    plugins.append(EntryPoint("broken", "no_such_module_anywhere:Adapter", "sipoke.providers"))
    info = {i.name: i for i in registry.describe({})}
    assert info["broken"].error and not info["broken"].enabled
    assert info["sandbox"].error is None
    names = [a.name for a in registry.enabled_adapters({})]
    assert "broken" not in names and "sandbox" in names
    with pytest.raises(ModuleNotFoundError):
        registry.get_adapter("broken", {})


def test_enabled_adapters_follow_enabled_and_priority() -> None:
    config = {"sandbox": {"priority": "5"}, "inhouse": {"priority": "20"}}
    assert [a.name for a in registry.enabled_adapters(config)][:2] == ["sandbox", "inhouse"]
    config["sandbox"]["enabled"] = "false"
    assert "sandbox" not in [a.name for a in registry.enabled_adapters(config)]


def test_env_convention_matches_core_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"SIPOKE_PROVIDERS__SANDBOX__API_KEY": "k-123",
           "SIPOKE_PROVIDERS__SANDBOX__ENABLED": "false",
           "SIPOKE_PROVIDERS__LALAMOVE__BASE_URL": "https://rest.sandbox.lalamove.com"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    ours = registry.providers_config_from_env()
    assert ours["sandbox"] == {"api_key": "k-123", "enabled": "false"}
    assert Settings().providers["sandbox"] == ours["sandbox"]
    assert Settings().providers["lalamove"] == ours["lalamove"]
    settings = registry.settings_for("sandbox")  # no mapping given: read from the env
    assert isinstance(settings, SandboxSettings)
    assert settings.api_key.get_secret_value() == "k-123" and settings.enabled is False


def test_invalid_settings_are_reported_not_raised_by_describe() -> None:
    info = {i.name: i for i in registry.describe({"sandbox": {"read_timeout": "-1"}})}
    assert info["sandbox"].error is not None
    assert info["sandbox"].error.startswith("SIPOKE_PROVIDERS__SANDBOX__READ_TIMEOUT: ")
