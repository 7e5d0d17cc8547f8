"""Asking bintu about streams and keeping what it answered.

Every request to Stream Info goes through :func:`refresh`, whoever asks (a page's
first render, the background task, "Refresh now", ``nanovod_sync``, an import):

- one request per stream is in flight at a time across processes (an owned lock,
  :mod:`wagtail_nanovod.locks`); whoever finds a fetch running waits for its result,
  within ``TIMEOUT``, instead of sending a second request;
- the outcome is merged into what we knew (:mod:`wagtail_nanovod.snapshot`: a failure
  never replaces a good answer) and stored, in the cache and in the database rows of
  the stream (its snippet, its bare-id row), in a few queries for any number of streams;
- pages in a front-end cache are purged when what a snippet plays changed;
- the failure count and the circuit move.

Fetches of several streams run in one bounded pool of threads per process, so a page
never starts more threads (or HTTP sessions) than the pool holds.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait

from django.core.cache import caches
from django.db import connections
from django.utils import timezone

from . import locks, purge
from .client import BintuClient
from .conf import nanovod_settings
from .exceptions import BintuError, ConfigurationError
from .models import StreamSnapshot, VodStream
from .parsing import normalize_stream_id, parse_stream
from .playback import playback
from .snapshot import (
    NOT_FOUND,
    NOT_PLAYABLE,
    Snapshot,
    after_answer,
    after_failure,
    newest,
    reason_of,
    state_of,
)

logger = logging.getLogger(__name__)

#: Threads of this process that fetch several streams at once (a page of streams never
#: seen): a page waits for one round of ``TIMEOUT`` at most, so this many is what one
#: page can learn in one round. Created once per process, reused, each with its own
#: HTTP session and connection pool.
POOL_THREADS = 20
# How long past the deadline a page waits for the pool's calls to report their timeout.
_RETURN_SECONDS = 0.2
# How often a request whose stream another process is fetching looks for the answer.
_POLL_SECONDS = 0.05


def cache_key(stream_id: str) -> str:
    """The cache key of a stream's snapshot."""
    return f"wagtail_nanovod:stream:{stream_id}"


def _cache():
    return caches[nanovod_settings.CACHE_ALIAS]


def refresh(
    stream_ids: Iterable[str],
    *,
    known: dict[str, Snapshot] | None = None,
    only_if_stale: bool = False,
    wait_for_others: bool = True,
) -> dict[str, Snapshot]:
    """Ask bintu about each stream now; what we know of each afterwards, by stream id.

    ``known`` is what the caller already read (then only the cache is read again,
    once the locks are taken, in case another process has just stored an answer);
    without it, the cache and the database are read. ``only_if_stale`` skips streams
    whose snapshot turns out fresh. A stream another process is fetching is waited
    for (within ``TIMEOUT``) unless ``wait_for_others`` is off; a wait that runs out
    answers with what we knew. A stream the pool could not start on before the
    deadline is left out of the result (it was not asked).
    """
    ids = list(dict.fromkeys(normalize_stream_id(sid) for sid in stream_ids))
    deadline = time.monotonic() + float(nanovod_settings.TIMEOUT)
    started = time.time()
    owned = locks.take([locks.fetching_key(sid) for sid in ids], locks.fetch_seconds())
    mine = [sid for sid in ids if locks.fetching_key(sid) in owned]
    theirs = [sid for sid in ids if sid not in mine]
    result: dict[str, Snapshot] = {}
    pending_locks = dict(owned)
    try:
        if mine:
            current = _read(mine, known)
            if only_if_stale or known is not None:
                # Another process may have stored an answer between our read and our lock.
                for sid in mine:
                    if current[sid].is_fresh() and (only_if_stale or current[sid].is_known):
                        result[sid] = current[sid]
            to_ask = [sid for sid in mine if sid not in result]
            for sid in result:
                locks.release(
                    {locks.fetching_key(sid): pending_locks.pop(locks.fetching_key(sid))}
                )
            result.update(_ask_all(to_ask, current, pending_locks, deadline))
    finally:
        # The locks of fetches that outlived the deadline are released when they end.
        locks.release(pending_locks)
    if theirs:
        if wait_for_others:
            result.update(_wait_for(theirs, started, deadline, known))
        else:
            result.update(_read(theirs, known))
    return result


def _ask_all(
    ids: list[str], known: dict[str, Snapshot], owned: dict[str, str], deadline: float
) -> dict[str, Snapshot]:
    """Ask bintu about each stream (several at once in the pool), store what it said."""
    if not ids:
        return {}
    if len(ids) == 1:
        sid = ids[0]
        outcome = store({sid: _ask(BintuClient(), sid, known[sid])})
        locks.release({locks.fetching_key(sid): owned.pop(locks.fetching_key(sid))})
        return outcome
    pool = _pool()
    # Each call gets what is left of the page's budget, and the page waits that long,
    # plus a moment for the failures to come back.
    client = BintuClient(timeout=max(deadline - time.monotonic(), 0.01))
    futures = {
        in_background(pool, _ask_before, deadline, client, sid, known[sid]): sid for sid in ids
    }
    done, late = wait(futures, timeout=max(deadline - time.monotonic(), 0) + _RETURN_SECONDS)
    for future in late:
        # Still asking after the page's deadline: stored by itself when it ends.
        sid = futures[future]
        key = locks.fetching_key(sid)
        future.add_done_callback(_store_late(sid, {key: owned.pop(key)}))
    asked = {futures[future]: future.result() for future in done}
    try:
        return store({sid: outcome for sid, outcome in asked.items() if outcome is not None})
    finally:
        locks.release({key: owned.pop(key) for key in [locks.fetching_key(s) for s in asked]})


def _ask_before(
    deadline: float, client: BintuClient, stream_id: str, known: Snapshot
) -> Snapshot | None:
    """:func:`_ask`, unless the page's deadline passed while this waited for a thread
    of the pool: then None, and bintu is not asked (the stream goes to the background,
    and the fetch lock, taken for one ``TIMEOUT``, never outlives a fetch)."""
    if time.monotonic() >= deadline:
        return None
    return _ask(client, stream_id, known)


def _store_late(sid: str, owned: dict[str, str]):
    def store_it(future) -> None:
        try:
            outcome = future.result()
            if outcome is not None:
                store({sid: outcome})
        except Exception:
            logger.warning("Could not store the answer for stream %s", sid, exc_info=True)
        finally:
            locks.release(owned)
            # A callback of a future that is already done runs in the thread adding it,
            # which may be a request's: only a pool thread closes its connections.
            if threading.current_thread().name.startswith("nanovod-"):
                connections.close_all()

    return store_it


def _ask(client: BintuClient, stream_id: str, known: Snapshot) -> Snapshot:
    """One request to bintu, merged into ``known``."""
    try:
        stream = parse_stream(client.stream_info(stream_id), expected_id=stream_id)
    except (BintuError, ConfigurationError) as exc:
        logger.warning(
            "Could not resolve nanoStream stream %s (%s): %s%s",
            stream_id,
            reason_of(exc),
            exc,
            "; serving the last good answer" if known.stream else "",
        )
        return after_failure(known, exc)
    outcome = after_answer(known, stream)
    if state_of(outcome)[1] == NOT_PLAYABLE:
        logger.warning(
            "Stream %s: bintu lists %s recording(s), none on a host that may be played "
            "(REGIONS, PLAYBACK_HOSTS)",
            stream_id,
            len(stream.recordings),
        )
    return outcome


def _read(ids: list[str], known: dict[str, Snapshot] | None) -> dict[str, Snapshot]:
    """The newest of what the caller knew, the cache and (without ``known``) the rows."""
    cached = _cache().get_many([cache_key(sid) for sid in ids])
    rows: dict[str, list[Snapshot]] = {}
    if known is None:
        for model in (VodStream, StreamSnapshot):
            for row in model.objects.filter(stream_id__in=ids).defer(*_NOT_SNAPSHOT[model]):
                rows.setdefault(row.stream_id_str, []).append(row.snapshot)
    return {
        sid: newest(
            (known or {}).get(sid),
            Snapshot.from_data(sid, cached.get(cache_key(sid))),
            *rows.get(sid, ()),
        )
        or Snapshot(sid)
        for sid in ids
    }


_NOT_SNAPSHOT = {VodStream: ("captions", "description"), StreamSnapshot: ()}


def _wait_for(
    ids: list[str], started: float, deadline: float, known: dict[str, Snapshot] | None
) -> dict[str, Snapshot]:
    """The answers other processes are fetching, as they arrive, until the deadline.

    A fetch that ended without leaving news in the cache (flushed, or its store failed)
    and one still running at the deadline answer with what we knew (the rows included).
    """
    cache = _cache()
    found: dict[str, Snapshot] = {}
    ended: set[str] = set()
    while True:
        pending = [sid for sid in ids if sid not in found and sid not in ended]
        keys = [cache_key(sid) for sid in pending] + [locks.fetching_key(s) for s in pending]
        cached = cache.get_many(keys)
        for sid in pending:
            entry = Snapshot.from_data(sid, cached.get(cache_key(sid)))
            if entry is not None and (entry.last_news or 0) >= started:
                found[sid] = newest((known or {}).get(sid), entry)  # their answer is in
            elif locks.fetching_key(sid) not in cached:
                ended.add(sid)
        if len(found) + len(ended) == len(ids) or time.monotonic() + _POLL_SECONDS > deadline:
            break
        time.sleep(_POLL_SECONDS)
    rest = [sid for sid in ids if sid not in found]
    if rest:
        found.update(_read(rest, known))
    return found


def store(outcomes: dict[str, Snapshot]) -> dict[str, Snapshot]:
    """Keep the outcomes of fetches: the rows, the cache, purges, the circuit; returns
    what we know of each stream now.

    Each outcome is merged with the rows of its stream first (a snippet's, a bare id's),
    whatever the fetch read: a failure never replaces an answer one of them holds.
    A few queries for any number of streams.
    """
    if not outcomes:
        return {}
    rows = list(VodStream.objects.filter(stream_id__in=list(outcomes)).defer("captions"))
    bare = list(StreamSnapshot.objects.filter(stream_id__in=list(outcomes)))
    merged = {
        sid: newest(outcome, *(row.snapshot for row in (*rows, *bare) if row.stream_id_str == sid))
        for sid, outcome in outcomes.items()
    }
    played = {row.pk: _what_it_plays(row) for row in rows}
    for row in rows:
        row.keep(merged[row.stream_id_str])
    if rows:
        VodStream.objects.bulk_update(rows, VodStream.SNAPSHOT_FIELDS)
    now = timezone.now()  # bulk_update does not run auto_now
    for row in bare:
        row.keep(merged[row.stream_id_str])
        row.updated_at = now
    if bare:
        StreamSnapshot.objects.bulk_update(bare, [*StreamSnapshot.SNAPSHOT_FIELDS, "updated_at"])
    _cache().set_many(
        {cache_key(sid): snapshot.to_data() for sid, snapshot in merged.items()},
        timeout=nanovod_settings.STALE_SECONDS,
    )
    # Pages in a front-end cache show what the stream played: purge them if that changed.
    purge.purge_pages_showing(row for row in rows if _what_it_plays(row) != played[row.pk])
    failed = sum(1 for s in outcomes.values() if s.error and s.error != NOT_FOUND)
    locks.count_outcomes(failed, sum(1 for s in outcomes.values() if not s.error))
    return merged


def _what_it_plays(row: VodStream) -> tuple:
    """What a page shows of a snippet (the player's version and the recordings a block
    may choose from by index), to compare before and after a refresh."""
    shown = playback(row.snapshot, region=row.region)
    return (shown.version, tuple(recording.url for recording in shown.recordings))


# -- pools of threads ---------------------------------------------------------------------

_pools: dict[tuple[int, str], ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


def process_pool(name: str, size: int) -> ThreadPoolExecutor:
    """This process's pool of ``size`` threads named ``name``, made on first use and
    made anew in a forked child (threads do not survive a fork)."""
    key = (os.getpid(), name)
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None:
            for stale in [k for k in _pools if k[0] != key[0]]:
                del _pools[stale]
            pool = _pools[key] = ThreadPoolExecutor(max_workers=size, thread_name_prefix=name)
        return pool


def _pool() -> ThreadPoolExecutor:
    return process_pool("nanovod-fetch", POOL_THREADS)


# Work handed to the pools and not finished yet, so that tests (ours and sites') can wait
# for the background to settle before they look.
_pending: set[Future] = set()


def in_background(pool: ThreadPoolExecutor, function, *args) -> Future:
    """``pool.submit(function, *args)``, remembered until it is done."""
    future = pool.submit(function, *args)
    with _pools_lock:
        _pending.add(future)
    future.add_done_callback(_forget_future)
    return future


def _forget_future(future: Future) -> None:
    with _pools_lock:
        _pending.discard(future)


def wait_until_idle(timeout: float = 30.0) -> bool:
    """Wait for the refreshes and fetches this process runs in the background to end;
    whether they all did within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        with _pools_lock:
            pending = list(_pending)
        if not pending:
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        wait(pending, timeout=remaining)
