"""One module of task names (``core.task_names``), and nothing that names a task outside it:
every name is registered by the worker, every scheduled, enqueued or routed name is one of
them, and every queue route matches at least one task."""

from __future__ import annotations

import ast
import fnmatch
import importlib
from pathlib import Path

from core import task_names
from core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "delivery", "providers", "workers", "web", "sipoke")


def _registered() -> set[str]:
    from workers.celery_app import TASK_MODULES, app

    for module in TASK_MODULES:
        importlib.import_module(module)
    return {name for name in app.tasks if not name.startswith("celery.")}


def test_every_name_is_a_registered_task_and_every_task_has_a_name():
    assert _registered() == set(task_names.ALL)


def test_every_scheduled_task_is_named():
    from workers.beat import beat_schedule

    schedule = beat_schedule(Settings(backup_nightly=True))
    assert {entry["task"] for entry in schedule.values()} <= task_names.ALL


def test_every_route_matches_a_task():
    for pattern in task_names.ROUTES:
        assert fnmatch.filter(task_names.ALL, pattern), f"route {pattern} matches no task"


def _string_arguments_naming_tasks() -> list[str]:
    """Literal strings that look like task names ("group.action") passed to enqueue(),
    send_after_commit(), send_task(), a task decorator or as a beat entry's task."""
    found = []
    callers = {"enqueue", "send_after_commit", "send_task", "task", "db_task", "boundary_task"}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if path.name == "task_names.py":
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Call):
                    func = node.func
                    name = func.attr if isinstance(func, ast.Attribute) else getattr(
                        func, "id", "")
                    if name in callers:
                        values = [*node.args[:2], *(k.value for k in node.keywords
                                                    if k.arg == "name")]
                        found += [f"{path.relative_to(ROOT)}: {v.value}" for v in values
                                  if isinstance(v, ast.Constant) and isinstance(v.value, str)
                                  and v.value in task_names.ALL]
                if isinstance(node, ast.Dict):
                    for key, value in zip(node.keys, node.values, strict=True):
                        if isinstance(key, ast.Constant) and key.value == "task" \
                                and isinstance(value, ast.Constant):
                            found.append(f"{path.relative_to(ROOT)}: {value.value}")
    return found


def test_no_task_name_is_typed_out_of_its_module():
    assert _string_arguments_naming_tasks() == []
