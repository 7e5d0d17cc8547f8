"""Background refresh of streams through django-tasks, the task framework Wagtail uses.

A page that finds a stale answer serves it, and the resolver queues a refresh here;
it runs in whatever worker the site configured. A queued marker (an owned lock,
:mod:`wagtail_nanovod.locks`) keeps pages from queueing the same stream twice; the
fetch itself takes the fetch lock, so whatever the queue does, one request per stream
is in flight. With the immediate backend the refresh runs in a small pool of threads
of this process, never in the render, however many streams a page finds stale.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.db import connections
from django_tasks import task, task_backends
from django_tasks.backends.immediate import ImmediateBackend

from . import fetching, locks
from .conf import nanovod_settings

logger = logging.getLogger(__name__)

#: Threads of this process that run background refreshes with the immediate backend.
#: Refreshes wait their turn: a stale page is served at once anyway.
BACKGROUND_THREADS = 2


@task()
def refresh_stream(stream_id: str, queued_by: str = "") -> None:
    """Ask bintu about one stream if it is still stale; the outcome is stored.

    Takes the stream id and the queued marker's owner token: nothing secret ever sits
    in a task queue.
    """
    try:
        if locks.circuit_is_open():
            logger.info("Not refreshing stream %s: the bintu circuit is open", stream_id)
            return
        # A task that waited in a long queue finds the stream fresh, or being fetched
        # by someone else: then it has nothing to do.
        fetching.refresh([stream_id], only_if_stale=True, wait_for_others=False)
    finally:
        if queued_by:
            locks.release({locks.queued_key(stream_id): queued_by})


def schedule_refresh(stream_ids: Iterable[str]) -> list[str]:
    """Queue a refresh of each stream not already queued; returns those queued."""
    stream_ids = list(stream_ids)
    owned = locks.take([locks.queued_key(sid) for sid in stream_ids], locks.QUEUED_SECONDS)
    queued = [sid for sid in stream_ids if locks.queued_key(sid) in owned]
    if not queued:
        return []
    alias = nanovod_settings.TASK_BACKEND
    immediate = isinstance(task_backends[alias], ImmediateBackend)
    for stream_id in queued:
        owner = owned[locks.queued_key(stream_id)]
        if immediate:
            # The immediate backend would run bintu's call inside the page render.
            fetching.in_background(_pool(), _refresh_in_pool, stream_id, owner)
            continue
        try:
            refresh_stream.using(backend=alias).enqueue(stream_id, owner)
        except Exception:
            # Whatever the backend raised, the page still renders; the marker goes so
            # that the next render tries again.
            logger.warning("Could not queue a refresh of stream %s", stream_id, exc_info=True)
            locks.release({locks.queued_key(stream_id): owner})
    return queued


def _refresh_in_pool(stream_id: str, owner: str) -> None:
    try:
        refresh_stream.call(stream_id, owner)
    except Exception:
        logger.warning("Background refresh of stream %s failed", stream_id, exc_info=True)
    finally:
        # This thread's own database connections; the ORM opens them per thread.
        connections.close_all()


def _pool():
    return fetching.process_pool("nanovod-refresh", BACKGROUND_THREADS)
