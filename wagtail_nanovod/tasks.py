"""Background refresh of streams through django-tasks, the task framework Wagtail uses.

A page that finds a stale answer serves it and calls :func:`schedule_refresh`; the
refresh runs in whatever worker the site configured. One refresh per stream is in
flight at a time across all processes: the resolver's cache lock is taken when the
task is queued and lifted when it ends.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

from django.db import connections
from django_tasks import task, task_backends
from django_tasks.backends.immediate import ImmediateBackend

from . import resolver
from .conf import nanovod_settings

logger = logging.getLogger(__name__)


@task()
def refresh_stream(stream_id: str) -> None:
    """Ask bintu about one stream; the outcome reaches the cache and the snippets.

    Takes the stream id only: nothing secret ever sits in a task queue.
    """
    try:
        if resolver.circuit_is_open():
            logger.info("Not refreshing stream %s: the bintu circuit is open", stream_id)
            return
        if resolver.is_fresh(stream_id):
            # A task that waited in a long queue: another process got there first.
            return
        resolver.refresh(stream_id)
    finally:
        resolver.release([stream_id])


def schedule_refresh(stream_ids: Iterable[str]) -> list[str]:
    """Queue a refresh of each stream not already being refreshed; returns those queued."""
    claimed = resolver.claim(stream_ids)
    if not claimed:
        return []
    alias = nanovod_settings.TASK_BACKEND
    queued_task = refresh_stream.using(backend=alias)
    for stream_id in claimed:
        if isinstance(task_backends[alias], ImmediateBackend):
            # The immediate backend would run bintu's call inside the page render; a
            # daemon thread keeps the promise that no page waits once anything is known.
            threading.Thread(
                target=_refresh_in_thread,
                args=(stream_id,),
                name=f"nanovod-refresh-{stream_id}",
                daemon=True,
            ).start()
            continue
        try:
            queued_task.enqueue(stream_id)
        except Exception:
            # Whatever the backend raised, the page still renders; the lock goes so
            # that the next render tries again.
            logger.warning("Could not queue a refresh of stream %s", stream_id, exc_info=True)
            resolver.release([stream_id])
    return claimed


def _refresh_in_thread(stream_id: str) -> None:
    try:
        refresh_stream.call(stream_id)
    except Exception:
        logger.warning("Background refresh of stream %s failed", stream_id, exc_info=True)
    finally:
        # This thread's own database connections; the ORM opens them per thread.
        connections.close_all()
