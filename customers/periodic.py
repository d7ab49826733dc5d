"""Periodic work on the task worker: one mechanism for every job that repeats.

django-tasks has no scheduler, so a periodic job queues its own next run: a job
is a function registered with `@periodic(name, every=...)`; the task
`run_periodic(name)` runs it and then queues itself again for `every` later
(even when the job failed, which is logged). `ensure_scheduled()` starts each
chain once: it queues a run for every job that has none waiting, so calling
it again (each `make run`, each deploy: `manage.py schedule_periodic`) never
doubles a chain and restarts one whose run was lost.

Register a job in the module that owns the work and import that module from
`PERIODIC_MODULES` below, so the worker and `ensure_scheduled` know it.
"""

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone
from django_tasks import default_task_backend, task

logger = logging.getLogger(__name__)

# Modules that register periodic jobs (imported before the registry is read).
PERIODIC_MODULES = ("customers.retention", "customers.history.checkpoints")


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every: timedelta
    run: Callable[[], object]


JOBS: dict[str, PeriodicJob] = {}


def periodic(
    name: str, *, every: timedelta
) -> Callable[[Callable[[], object]], Callable[[], object]]:
    def register(function: Callable[[], object]) -> Callable[[], object]:
        JOBS[name] = PeriodicJob(name, every, function)
        return function

    return register


def registered() -> dict[str, PeriodicJob]:
    for module in PERIODIC_MODULES:
        importlib.import_module(module)
    return JOBS


@task()
def run_periodic(name: str) -> None:
    job = registered().get(name)
    if job is None:
        logger.warning("periodic job %s is no longer registered; not run again", name)
        return
    try:
        job.run()
    except Exception:
        logger.exception("periodic job %s failed; it runs again in %s", name, job.every)
    finally:
        _queue(name, after=job.every)


def _queue(name: str, *, after: timedelta) -> None:
    if not default_task_backend.supports_defer:
        return  # a backend that runs tasks at once (tests) cannot hold a later run
    run_periodic.using(run_after=timezone.now() + after).enqueue(name)


def ensure_scheduled() -> list[str]:
    """Queue the first run of every job without a waiting run; the names queued."""
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    waiting = {
        result.args_kwargs.get("args", [None])[0]
        for result in DBTaskResult.objects.filter(
            task_path=run_periodic.module_path,
            status__in=(TaskResultStatus.READY, TaskResultStatus.RUNNING),
        )
    }
    queued = []
    for name in registered():
        if name not in waiting:
            _queue(name, after=timedelta(0))
            queued.append(name)
    return queued
