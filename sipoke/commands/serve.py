"""Process commands: run (everything), api, worker, beat."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

from core.settings import Settings, get_settings
from sipoke.commands.proxy_headers import proxy_header_options
from sipoke.commands.sandbox import configured_url

ALL_QUEUES = "default,dispatch,tracking,notifications"

# Extra long-running processes that ``sipoke run`` starts too: (name, argv, url of it given
# the settings, or None). Other packages append theirs.
EXTRA_PROCESSES: list[tuple[str, list[str], Callable[[Settings], str] | None]] = []
# The sandbox courier company (providers/sandbox), where SIPOKE_PROVIDERS__SANDBOX__BASE_URL
# says (default 127.0.0.1:8100).
EXTRA_PROCESSES.append(("sandbox", [sys.executable, "-m", "sipoke.cli", "sandbox-provider"],
                        lambda settings: configured_url(settings.provider("sandbox"))))


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("run", help="migrate, seed and start API, worker, beat and "
                              "sandbox provider on the embedded defaults")
    p.add_argument("--no-seed", action="store_true")
    p.set_defaults(handler=run_all, wired=False)  # a supervisor: its children wire

    p = subparsers.add_parser("api", help="serve the HTTP API")
    p.add_argument("--workers", type=int, default=1)
    p.set_defaults(handler=api, wired=False)  # each server process wires (sipoke.app)

    p = subparsers.add_parser("worker", help="start a Celery worker")
    p.add_argument("--queues", default=ALL_QUEUES)
    p.add_argument("--concurrency", type=int, default=None)
    p.add_argument("--pool", default=None,
                   help="prefork (default on Redis), threads (for provider calls) or solo")
    p.add_argument("--beat", action="store_true", help="also run beat inside this worker")
    p.set_defaults(handler=worker)

    p = subparsers.add_parser("beat", help="start Celery beat (exactly one per deployment)")
    p.set_defaults(handler=beat)


def api(args: argparse.Namespace) -> int:
    import uvicorn

    from core.logging import configure_from_settings

    settings = get_settings()
    configure_from_settings(settings)
    uvicorn.run("sipoke.app:asgi", factory=True, host=settings.host, port=settings.port,
                workers=args.workers, log_config=None, access_log=False,
                **proxy_header_options(settings))
    return 0


def _worker_argv(args: argparse.Namespace) -> list[str]:
    settings = get_settings()
    pool = args.pool or ("prefork" if settings.broker_is_redis else "solo")
    argv = ["worker", "--loglevel", settings.log_level, "--queues", args.queues, "--pool", pool,
            "--without-gossip", "--without-mingle"]
    if args.concurrency:
        argv += ["--concurrency", str(args.concurrency)]
    if args.beat:
        argv += ["--beat", "--schedule", str(settings.var_dir / "celerybeat-schedule")]
    return argv


def worker(args: argparse.Namespace) -> int:
    from celery.signals import worker_init, worker_process_init

    import sipoke.models  # noqa: F401
    from core.logging import configure_from_settings
    from sipoke.wiring import wire
    from workers.celery_app import app

    settings = get_settings()
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    configure_from_settings(settings)
    wire(settings)
    # Checked again where tasks run: the worker's main process and each pool process.
    worker_init.connect(_check_wired, weak=False)
    worker_process_init.connect(_check_wired, weak=False)
    app.worker_main(_worker_argv(args))
    return 0


def _check_wired(**_: object) -> None:
    from sipoke.wiring import check

    check()


def beat(args: argparse.Namespace) -> int:
    from core.logging import configure_from_settings
    from sipoke.wiring import wire
    from workers.celery_app import app

    settings = get_settings()
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    configure_from_settings(settings)
    wire(settings)
    app.start(["beat", "--loglevel", settings.log_level,
               "--schedule", str(settings.var_dir / "celerybeat-schedule")])
    return 0


def run_all(args: argparse.Namespace) -> int:
    """A small supervisor: every part as a child process, stopped together."""
    from sipoke.commands.admin import migrate
    from sipoke.seed import demo_logins_text

    settings = get_settings()
    migrate(argparse.Namespace(revision="head"))
    if not args.no_seed:
        from sipoke.commands.admin import seed_demo

        seed_demo(args)
    exe = [sys.executable, "-m", "sipoke.cli"]
    env = dict(os.environ)
    specs = [("api", [*exe, "api"]), ("worker", [*exe, "worker", "--beat"]),
             *((name, argv) for name, argv, _url in EXTRA_PROCESSES)]
    children: list[tuple[str, subprocess.Popen]] = []
    for name, argv in specs:
        # Our own interpreter and fixed argv: nothing comes from user input.
        children.append((name, subprocess.Popen(argv, env=env)))  # noqa: S603

    print("\nSIP OKE Antar is starting:")
    print(f"  API        {settings.base_url}/api/v1")
    print(f"  API docs   {settings.base_url}/docs")
    print(f"  Health     {settings.base_url}/healthz")
    for name, _argv, url_of in EXTRA_PROCESSES:
        if url_of is not None:
            print(f"  {name:<10} {url_of(settings)}")
    print()
    print(demo_logins_text(settings.base_url))
    print("\nStop with Ctrl+C.\n", flush=True)

    stopping = False

    def _stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    exit_code = 0
    while not stopping:
        for name, proc in children:
            if proc.poll() is not None:
                print(f"sipoke: {name} exited with {proc.returncode}; stopping", file=sys.stderr)
                exit_code = proc.returncode or 1
                stopping = True
        time.sleep(0.5)
    for _name, proc in children:
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + 15
    for _name, proc in children:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
    return exit_code
