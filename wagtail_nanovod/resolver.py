"""What a page shows of its streams, now: the read path, and the public way in.

Each stream id maps to a :class:`~wagtail_nanovod.snapshot.Snapshot`:

- Fresh: served as it is. Many ids cost one cache read (``get_many``) at most, and
  snippets whose stored snapshot is fresh cost nothing.
- Stale: served now, and a background refresh is queued (:mod:`wagtail_nanovod.tasks`)
  unless one is queued or running already, so no page waits on bintu.
- Never seen: one bounded attempt for all of a page's unknown streams together
  (:func:`wagtail_nanovod.fetching.refresh`), the page waiting ``TIMEOUT`` at most once.
- While the circuit is open nothing waits on bintu and nothing is queued.

Every function here does the whole job: whatever it finds stale, it queues.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import UTC, datetime

from django.core.cache import caches

from . import fetching, locks
from .conf import nanovod_settings
from .fetching import cache_key
from .models import StreamSnapshot, VodStream
from .parsing import normalize_stream_id
from .snapshot import Snapshot, newest
from .tasks import schedule_refresh

logger = logging.getLogger(__name__)

#: A page's unknown streams beyond this many are left to the background: a page with
#: more is not a page a person reads.
MAX_FIRST_FETCHES = fetching.POOL_THREADS


def resolve(stream_id: str) -> Snapshot:
    """What we know of one stream; see :func:`resolve_many`."""
    return resolve_many([stream_id])[normalize_stream_id(stream_id)]


def resolve_many(
    stream_ids: Iterable[str], *, known: dict[str, Snapshot] | None = None
) -> dict[str, Snapshot]:
    """What we know of each stream, by canonical stream id, in the order given.

    ``known`` holds what the caller already has (snapshots from its own rows): fresh
    ones are served without touching the cache, the rest cost one cache read. Stale
    streams are served as they are and queued for a background refresh; streams never
    seen are fetched together, bounded by ``TIMEOUT``, unless the circuit is open.
    An invalid id raises :class:`InvalidStreamId` before anything is read or sent.
    """
    result, to_refresh = _resolve(
        [normalize_stream_id(stream_id) for stream_id in stream_ids], known or {}
    )
    if to_refresh:
        schedule_refresh(to_refresh)
    return result


def refresh(stream_id: str) -> Snapshot:
    """Ask bintu now, whatever the cache holds (or wait for a fetch already running)."""
    stream_id = normalize_stream_id(stream_id)
    return fetching.refresh([stream_id])[stream_id]


def refresh_snippet(stream: VodStream) -> Snapshot:
    """Ask bintu about a snippet's stream now (or wait for a fetch already running),
    and take the outcome into the instance; a saved row is stored by the fetch.

    A failure keeps the last good answer. Used by the admin's "Refresh now", its
    save and import views, and ``nanovod_sync``.
    """
    outcome = refresh(stream.stream_id_str)
    stream.keep(outcome)
    return outcome


def _resolve(ids: list[str], known: dict[str, Snapshot]) -> tuple[dict[str, Snapshot], list[str]]:
    ids = list(dict.fromkeys(ids))
    now = time.time()
    result = {sid: known[sid] for sid in ids if sid in known and known[sid].is_fresh(now)}
    wanted = [sid for sid in ids if sid not in result]
    if not wanted:
        return result, []
    if all(sid in known and known[sid].is_known for sid in wanted) and refresh_pending(
        {sid: known[sid].last_news for sid in wanted}, now
    ):
        # Stale, and already being refreshed (or bintu is down): shown as it is.
        return {sid: result.get(sid) or known[sid] for sid in ids}, []

    # The locks come in the same round trip as the entries: a stream whose refresh is
    # queued or running is not queued again, so a stale page costs one read per view.
    lock_keys = {sid: (locks.queued_key(sid), locks.fetching_key(sid)) for sid in wanted}
    cached = caches[nanovod_settings.CACHE_ALIAS].get_many(
        [
            locks.CIRCUIT_KEY,
            *(cache_key(sid) for sid in wanted),
            *(key for keys in lock_keys.values() for key in keys),
        ]
    )
    circuit_open = locks.circuit_open_until(cached.get(locks.CIRCUIT_KEY, 0)) > now
    locks.note_seen(
        {key: cached[key] for keys in lock_keys.values() for key in keys if key in cached}
    )
    missing, to_refresh = [], []
    for sid in wanted:
        entry = newest(known.get(sid), Snapshot.from_data(sid, cached.get(cache_key(sid))))
        if entry is None or not entry.is_known:
            missing.append(sid)
            continue
        result[sid] = entry
        if not entry.is_fresh(now) and not any(key in cached for key in lock_keys[sid]):
            to_refresh.append(sid)
    if missing:
        if circuit_open:
            logger.warning(
                "bintu circuit open: not waiting for %s unknown stream(s) %s",
                len(missing),
                ", ".join(missing),
            )
        else:
            first = missing[:MAX_FIRST_FETCHES]
            fetched = fetching.refresh(first, known={sid: Snapshot(sid) for sid in first})
            result.update((sid, s) for sid, s in fetched.items() if s.is_known)
        # What is still unknown renders as not verified and is fetched in the background.
        for sid in missing:
            if sid not in result:
                result[sid] = Snapshot(sid)
                to_refresh.append(sid)
    ordered = {sid: result[sid] for sid in ids}
    return ordered, [] if circuit_open else to_refresh


def refresh_pending(last_news: dict[str, float | None], now: float) -> bool:
    """Whether, as far as this process knows, asking about these streams now is pointless:
    each one's refresh is queued or in flight, or the circuit is open. No cache read.

    ``last_news`` (stream id to when bintu last answered, in the caller's snapshot)
    tells a lock this process remembers from a refresh that has ended since, in
    another process.
    """
    if locks.circuit_open_until() > now:
        return True
    return all(
        _lock_pending(locks.queued_key(sid), locks.QUEUED_SECONDS, news, now)
        or _lock_pending(locks.fetching_key(sid), locks.fetch_seconds(), news, now)
        for sid, news in last_news.items()
    )


def _lock_pending(key: str, seconds: float, news: float | None, now: float) -> bool:
    until = locks.remembered_until(key)
    if until <= now:
        return False
    if news is not None and news >= until - seconds:
        # Answered after the lock was taken: that refresh is over (a worker released
        # the lock in the cache, which this process did not read).
        locks.forget(key)
        return False
    return True


# -- snippets and bare ids --------------------------------------------------------------


class RenderBatch:
    """Snippets loaded together (a StreamField's), brought up to date together when the
    first of them is shown, and not before: saving or editing a page asks nothing of bintu.
    """

    def __init__(self, streams: Iterable[VodStream]) -> None:
        self.streams = list(streams)
        self.done = False
        self.captions_loaded = False
        for stream in self.streams:
            stream.__dict__["_render_batch"] = self

    def bring_up_to_date(self) -> None:
        if not self.done:
            self.done = True
            resolve_snippets(self.streams)

    def load_captions(self) -> None:
        """The deferred captions of every stream here that has some, in one query."""
        if self.captions_loaded:
            return
        self.captions_loaded = True
        wanted = [s for s in self.streams if s.has_captions and "captions" not in s.__dict__]
        if wanted:
            found = dict(
                VodStream.objects.filter(pk__in=[s.pk for s in wanted]).values_list(
                    "pk", "captions"
                )
            )
            for stream in wanted:
                stream.captions = found.get(stream.pk, [])


def resolve_snippets(streams: Iterable[VodStream]) -> None:
    """Bring snippets up to date for showing them now (their snapshots, in memory).

    Fresh rows cost nothing, not even their JSON decoded; the rest are resolved
    together (:func:`resolve_many`'s rules). What a fetch learns is stored by it.
    """
    now = datetime.now(UTC)
    stale = [stream for stream in streams if not stream.is_fresh(now)]
    if not stale:
        return
    if all(stream.is_known() for stream in stale) and refresh_pending(
        {stream.stream_id_str: stream.last_news() for stream in stale}, time.time()
    ):
        # Stale, and already being refreshed (or bintu is down): shown as they are, with
        # nothing decoded (the common case of a stale page during an outage).
        return
    by_id: dict[str, list[VodStream]] = {}
    for stream in stale:
        by_id.setdefault(stream.stream_id_str, []).append(stream)
    known = {sid: group[0].snapshot for sid, group in by_id.items() if group[0].is_known()}
    outcome = resolve_many(by_id, known=known)
    for sid, group in by_id.items():
        if outcome[sid] is not known.get(sid):
            for stream in group:
                stream.keep(outcome[sid])


def refresh_in_background(streams: Iterable[VodStream]) -> list[str]:
    """Queue a background refresh of each snippet whose snapshot is stale or was never
    fetched, never waiting on bintu (for the admin: its screens must not wait either);
    the stream ids queued. Streams queued or being fetched already are not queued again.
    """
    now = datetime.now(UTC)
    stale = list(dict.fromkeys(s.stream_id_str for s in streams if not s.is_fresh(now)))
    if not stale or locks.circuit_open_until() > time.time():
        return []
    return schedule_refresh(stale)


def resolve_bare_ids(
    stream_ids: Iterable[str], *, only_known: bool = False
) -> dict[str, Snapshot]:
    """Streams shown by their id alone (no snippet): their rows, the cache, bintu.

    A stream's row is written the first time anything is known of it; later fetches
    keep it up to date. ``only_known``: ids without a row are left out, and nothing is
    asked of bintu about them (for questions from visitors' browsers).
    """
    ids = list(dict.fromkeys(normalize_stream_id(sid) for sid in stream_ids))
    rows = {row.stream_id_str: row for row in StreamSnapshot.objects.filter(stream_id__in=ids)}
    if only_known:
        ids = [sid for sid in ids if sid in rows]
    known = {sid: row.snapshot for sid, row in rows.items() if row.is_known()}
    result = resolve_many(ids, known=known)
    new_rows = []
    for sid in ids:
        if sid not in rows and result[sid].is_known:
            row = StreamSnapshot(stream_id=sid)
            row.keep(result[sid])
            new_rows.append(row)
    if new_rows:
        StreamSnapshot.objects.bulk_create(new_rows, ignore_conflicts=True)
    return result
