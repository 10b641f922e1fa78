"""The Celery app, configured by the rules that keep deliveries safe (docs/architecture.md):

* late acknowledgement and requeue when a worker dies: a killed task runs again, so every
  task is idempotent (it reloads state by id and returns early when the work is done);
* prefetch 1, so a dead worker hides at most one message;
* the Redis visibility timeout above every countdown and retry delay, and short tasks with
  hard time limits, so a running task is never redelivered while it runs;
* named queues, one beat schedule whose entries expire, and no result backend: the database
  is the record, never the broker.
"""

from __future__ import annotations

from celery import Celery
from celery.signals import worker_process_init

from core import task_names
from core.settings import Settings, get_settings

QUEUES = ("default", "dispatch", "tracking", "notifications")
MAX_RETRY_DELAY = 300  # seconds; far below the visibility timeout
TASK_MODULES = ("workers.tasks", "workers.request_tasks", "workers.fleet_tasks",
                "workers.delivery_tasks", "workers.heartbeat", "workers.backup_tasks")


def celery_config(settings: Settings) -> dict:
    transport_options: dict = {}
    if settings.broker_is_redis:
        # The visibility timeout stays above every countdown; a dead worker's unacked message
        # is found by a scan every 10 s instead of every ~100 s.
        transport_options = {"visibility_timeout": settings.visibility_timeout,
                             "unacked_restore_interval": 10, "unacked_restore_throttle": 1}
        if settings.broker_key_prefix:
            transport_options["global_keyprefix"] = settings.broker_key_prefix
    # kombu's SQLAlchemy transport hands its options to create_engine(): pass none.
    return {
        "broker_url": settings.broker_url,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": transport_options,
        "result_backend": None,
        "task_ignore_result": True,
        "task_serializer": "json",
        "accept_content": ["json"],
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        "worker_soft_shutdown_timeout": 10.0,
        "task_soft_time_limit": settings.task_soft_time_limit,
        "task_time_limit": settings.task_time_limit,
        "task_default_queue": "default",
        "task_queues": None,
        "task_create_missing_queues": True,
        "task_routes": {pattern: {"queue": queue}
                        for pattern, queue in task_names.ROUTES.items()},
        "timezone": "UTC",
        "enable_utc": True,
        "worker_hijack_root_logger": False,
        "worker_redirect_stdouts": False,
    }


def create_celery(settings: Settings | None = None) -> Celery:
    settings = settings or get_settings()
    app = Celery("sipoke")
    app.conf.update(celery_config(settings))
    from workers.beat import beat_schedule

    app.conf.beat_schedule = beat_schedule(settings)
    # Task modules are imported by the worker at start-up; producers send by name only.
    app.conf.imports = TASK_MODULES
    return app


app = create_celery()


@worker_process_init.connect
def _fresh_db_pool(**_: object) -> None:
    # A forked child must not share the parent's database connections.
    from core import db

    db.configure(get_settings().database_url)
