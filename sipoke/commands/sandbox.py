"""``sipoke sandbox-provider``: run the simulated courier company on its own."""

from __future__ import annotations

import argparse
from typing import Any
from urllib.parse import urlsplit

from providers.sandbox.adapter import DEFAULT_BASE_URL
from providers.sandbox.config import SWITCH_NAMES, Switches
from sipoke.commands.proxy_headers import proxy_header_options


def configured_url(conf: dict[str, Any]) -> str:
    """Where the sandbox adapter calls the sandbox: SIPOKE_PROVIDERS__SANDBOX__BASE_URL."""
    return str(conf.get("base_url") or DEFAULT_BASE_URL).rstrip("/")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("sandbox-provider",
                              help="run the sandbox courier provider (simulated ride-hailing)")
    p.add_argument("--host", help="default: the host of SIPOKE_PROVIDERS__SANDBOX__BASE_URL")
    p.add_argument("--port", type=int,
                   help="default: the port of SIPOKE_PROVIDERS__SANDBOX__BASE_URL (8100)")
    p.add_argument("--webhook-url", help="default {SIPOKE_BASE_URL}/webhooks/sandbox; "
                                         "'none' disables webhooks")
    p.add_argument("--seed", type=int, help="random seed, for repeatable runs")
    for name in SWITCH_NAMES:
        field = Switches.model_fields[name]
        kind = field.annotation
        flag = "--" + name.replace("_", "-")
        if kind is bool:
            p.add_argument(flag, action=argparse.BooleanOptionalAction, default=None)
        else:
            p.add_argument(flag, type=kind, default=None,  # type: ignore[arg-type]
                           help=f"failure switch (default {field.default})")
    # A separate (simulated) courier company: none of the product's wiring.
    p.set_defaults(handler=sandbox_provider, wired=False)


def sandbox_provider(args: argparse.Namespace) -> int:
    import uvicorn

    from core.logging import configure_from_settings
    from core.settings import get_settings
    from providers.sandbox.config import SandboxServerConfig
    from providers.sandbox.server import build_app

    settings = get_settings()
    configure_from_settings(settings)
    conf = settings.provider("sandbox")
    # Listen where our own adapter will call it, so one setting moves both.
    configured = urlsplit(configured_url(conf))
    args.host = args.host or configured.hostname or "127.0.0.1"
    args.port = args.port or configured.port or 8100
    webhook_url = args.webhook_url or conf.get("webhook_url") \
        or f"{settings.base_url}/webhooks/sandbox"
    overrides = {name: getattr(args, name) for name in SWITCH_NAMES}
    config = SandboxServerConfig.from_mapping(
        conf, **overrides, seed=args.seed, public_url=f"http://{args.host}:{args.port}",
        webhook_url=None if webhook_url == "none" else webhook_url)
    print(f"sandbox provider on http://{args.host}:{args.port} "
          f"(time x{config.switches.time_scale}, webhooks -> {config.webhook_url})", flush=True)
    uvicorn.run(build_app(config), host=args.host, port=args.port, log_config=None,
                **proxy_header_options(settings))
    return 0
