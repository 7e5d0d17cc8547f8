"""Who may ask bintu about a stream now, across every process that shares the cache.

- **Fetching**: one request per stream is in flight at a time, whoever asks (a page,
  the worker, "Refresh now", ``nanovod_sync``, an import). The lock is owned: only
  the fetch that took it lifts it, so a slow fetch never lifts a lock taken since.
- **Queued**: a refresh of the stream is waiting in a task queue, so pages do not
  queue another. Separate from fetching: a task may wait in a real worker's queue far
  longer than a fetch may take, and the marker says nothing about bintu being asked.
- **Circuit**: after ``CIRCUIT_FAILURES`` failed fetches in a row nothing waits on
  bintu for ``CIRCUIT_COOLDOWN_SECONDS``.

The locks need a cache shared by the processes (Redis, Memcached, the database
cache): with a per-process cache each process keeps its own.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable

from django.core.cache import caches

from .conf import nanovod_settings, on_settings_change

logger = logging.getLogger(__name__)

CIRCUIT_KEY = "wagtail_nanovod:circuit"
FAILURES_KEY = "wagtail_nanovod:failures"
#: How long a queued refresh keeps others from queueing the same stream. Past it, a
#: second task may be queued; it is harmless (the fetch lock and the freshness check
#: keep it from asking bintu again), and a task lost by a crashed worker costs no more.
QUEUED_SECONDS = 120


def fetching_key(stream_id: str) -> str:
    """The cache key that says a request about this stream is in flight."""
    return f"wagtail_nanovod:fetching:{stream_id}"


def queued_key(stream_id: str) -> str:
    """The cache key that says a refresh of this stream is waiting in a queue."""
    return f"wagtail_nanovod:queued:{stream_id}"


def fetch_seconds() -> int:
    """How long a fetch lock holds: longer than any fetch can take (``TIMEOUT`` bounds
    the call, storing takes a moment), short enough that a crashed process costs little."""
    return int(float(nanovod_settings.TIMEOUT)) + 10


def _cache():
    return caches[nanovod_settings.CACHE_ALIAS]


def take(keys: Iterable[str], seconds: int) -> dict[str, str]:
    """The keys whose lock this process got, each with its owner token."""
    cache = _cache()
    now = time.time()
    taken = {}
    for key in keys:
        owner = uuid.uuid4().hex
        # The value says when it was taken, for readers that remember it (below).
        if cache.add(key, [now, owner], seconds):
            taken[key] = owner
    _remember({key: now + seconds for key in taken})
    return taken


def release(owned: dict[str, str]) -> None:
    """Lift the locks that are still ours; a lock taken by someone else since stays.

    The Django cache API has no compare-and-delete: the read and the delete are two
    steps. The gap is a round trip, against a lock lifetime of many seconds.
    """
    if not owned:
        return
    cache = _cache()
    for key in owned:
        _held.pop(key, None)
    current = cache.get_many(list(owned))
    mine = [key for key, owner in owned.items() if _owner(current.get(key)) == owner]
    if mine:
        cache.delete_many(mine)


def note_seen(values: dict[str, object]) -> None:
    """Remember locks read from the cache with other entries (their values)."""
    _remember({key: _taken_at(value) + _seconds_of(key) for key, value in values.items() if value})


def _seconds_of(key: str) -> int:
    return QUEUED_SECONDS if key.startswith("wagtail_nanovod:queued:") else fetch_seconds()


# -- this process's memory of the locks and the circuit --------------------------------
#
# During an outage a stale page would read the cache on every view only to learn, again,
# that its refreshes are queued; with this memory it renders as a warm page does. Each
# entry ends when the cache's own would, so nothing is skipped longer than the cache says.

_held: dict[str, float] = {}  # lock key -> when it runs out
_HELD_BOUND = 4096  # entries; past it, the expired ones go
_circuit_until = 0.0


@on_settings_change
def forget_local_state() -> None:
    """Forget this process's memory of the locks and the circuit (the cache has them)."""
    global _circuit_until
    _held.clear()
    _circuit_until = 0.0


def _remember(until: dict[str, float]) -> None:
    if len(_held) > _HELD_BOUND:
        now = time.time()
        for key, end in list(_held.items()):  # other threads change it meanwhile
            if end <= now:
                _held.pop(key, None)
    _held.update(until)


def remembered_until(key: str) -> float:
    """Until when this process last saw the lock held (0 if it never did)."""
    return _held.get(key, 0.0)


def forget(key: str) -> None:
    """Stop remembering a lock (its work is known to be over)."""
    _held.pop(key, None)


def _owner(value: object) -> str | None:
    return value[1] if isinstance(value, list | tuple) and len(value) == 2 else None


def _taken_at(value: object) -> float:
    taken = value[0] if isinstance(value, list | tuple) and value else value
    return float(taken) if isinstance(taken, int | float) else 0.0


# -- the circuit -------------------------------------------------------------------------


def circuit_open_until(value: object = None, *, read: bool = False) -> float:
    """Until when the circuit is open (0 if closed).

    With ``read``, asks the cache; with ``value`` (the circuit key's value, read with
    other entries), takes that; with neither, what this process last saw.
    """
    global _circuit_until
    if read:
        value = _cache().get(CIRCUIT_KEY, 0)
    if read or value is not None:
        _circuit_until = float(value) if isinstance(value, int | float) else 0.0
    return _circuit_until


def circuit_is_open() -> bool:
    """Whether bintu failed often enough lately that nothing should wait on it."""
    return circuit_open_until(read=True) > time.time()


def count_outcomes(failed: int, succeeded: int) -> None:
    """Move the failure count and the circuit after some fetches."""
    cache = _cache()
    if failed:
        cooldown = nanovod_settings.CIRCUIT_COOLDOWN_SECONDS
        cache.add(FAILURES_KEY, 0, cooldown * 10)
        try:
            count = cache.incr(FAILURES_KEY, failed)
        except ValueError:  # expired between add and incr
            count = failed
        if count >= nanovod_settings.CIRCUIT_FAILURES:
            logger.warning(
                "bintu failed %s times in a row: not waiting on it for %ss", count, cooldown
            )
            until = time.time() + cooldown
            cache.set(CIRCUIT_KEY, until, cooldown)
            circuit_open_until(until)
            cache.delete(FAILURES_KEY)
    elif succeeded:
        cache.delete(FAILURES_KEY)
