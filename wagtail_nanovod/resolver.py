"""The one place that turns stream ids into what a page needs, and decides when to ask bintu.

Each stream id maps to a :class:`ResolvedStream`: the last good answer from bintu
(if any), when it was fetched, until when it is fresh, and the last failure.

- Fresh: served as it is. Many ids cost one cache read (``get_many``) at most.
- Stale: served now; its id is handed back in :attr:`Resolution.to_refresh` for a
  background refresh (:mod:`wagtail_nanovod.tasks`), so no page waits on bintu.
- Never seen: one bounded attempt for all of a page's unknown streams together,
  concurrently, the page waiting ``TIMEOUT`` at most once.
- A failure is recorded beside the last good answer and never replaces it; it is
  retried with back-off, and enough failures in a row open a circuit, shared
  through the cache, during which nothing waits on bintu.
- Across processes, one fetch per stream is in flight at a time (a cache lock).

Every outcome of a fetch is announced with the :data:`stream_resolved` signal, so
the models can keep their database snapshots without this module knowing them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from django.core.cache import caches
from django.dispatch import Signal

from .client import BintuClient
from .conf import nanovod_settings, on_settings_change
from .exceptions import (
    BadResponse,
    BintuError,
    ConfigurationError,
    RateLimited,
    StreamNotFound,
)
from .parsing import Stream, normalize_stream_id, parse_stream

logger = logging.getLogger(__name__)

# Bump when the cached shape changes, so old entries are ignored rather than misread.
CACHE_VERSION = 2

CIRCUIT_KEY = "wagtail_nanovod:circuit"
FAILURES_KEY = "wagtail_nanovod:failures"
# A page of unknown streams is fetched concurrently up to this many at once; the
# rest wait for the background (a page with more is not a page a person reads).
MAX_CONCURRENT_FETCHES = 32
# How often a request whose stream another process is fetching looks for the answer.
_POLL_SECONDS = 0.05
# bintu states whose recording is about to change: checked every ACTIVE_FRESH_SECONDS.
_ACTIVE_STATES = frozenset({"live", "created"})

#: Sent after every fetch from bintu, good or failed: ``outcomes`` maps stream ids
#: to their new :class:`ResolvedStream`. The models keep their snapshots with it.
stream_resolved = Signal()

# This process's copy of what the cache last said about fetches in flight (stream id ->
# when its lock runs out) and about the circuit (when it closes). During an outage a
# stale page would otherwise read the cache on every view only to learn, again, that
# its refreshes are queued; with these it renders as a warm page does. Both end when
# the cache's own entries would, so nothing is skipped for longer than the cache says.
_in_flight: dict[str, float] = {}
_circuit_until = 0.0


@on_settings_change
def forget_local_state() -> None:
    """Forget this process's copy of the locks and the circuit (the cache still has them)."""
    global _circuit_until
    _in_flight.clear()
    _circuit_until = 0.0


@dataclass(frozen=True, slots=True)
class ResolvedStream:
    """What we know of one stream: the last good answer and the last failure."""

    stream_id: str
    #: The last good answer from bintu, or None if there never was one.
    stream: Stream | None = None
    #: When that answer was fetched (seconds since the epoch).
    fetched_at: float | None = None
    #: Until when it is served without asking bintu again (seconds since the epoch).
    fresh_until: float = 0.0
    #: Reason of the last failure (a :attr:`BintuError.reason`), "" after a success.
    error: str = ""
    error_at: float | None = None
    #: Failed fetches in a row; the retry back-off doubles with each.
    failures: int = 0

    def is_fresh(self, now: float | None = None) -> bool:
        """Whether bintu need not be asked now."""
        return (now if now is not None else time.time()) < self.fresh_until

    def to_cache(self) -> dict[str, Any]:
        """Plain data for the cache: no pickled classes that a new release could not load."""
        return {
            "v": CACHE_VERSION,
            "stream": self.stream.to_dict() if self.stream else None,
            "fetched_at": self.fetched_at,
            "fresh_until": self.fresh_until,
            "error": self.error,
            "error_at": self.error_at,
            "failures": self.failures,
        }

    @classmethod
    def from_cache(cls, stream_id: str, data: object) -> ResolvedStream | None:
        """The inverse of :meth:`to_cache`; None for a missing or unreadable entry."""
        if not isinstance(data, dict) or data.get("v") != CACHE_VERSION:
            return None
        try:
            stream = Stream.from_dict(data["stream"]) if data["stream"] else None
            return cls(
                stream_id=stream_id,
                stream=stream,
                fetched_at=data["fetched_at"],
                fresh_until=data["fresh_until"],
                error=data["error"],
                error_at=data["error_at"],
                failures=data["failures"],
            )
        except (KeyError, TypeError, ValueError):
            logger.warning("Ignoring an unreadable cache entry for stream %s", stream_id)
            return None


def cache_key(stream_id: str) -> str:
    """The cache key of a resolved stream."""
    return f"wagtail_nanovod:stream:{stream_id}"


def lock_key(stream_id: str) -> str:
    """The cache key that says a fetch of this stream is in flight somewhere."""
    return f"wagtail_nanovod:fetching:{stream_id}"


class Resolution(dict):
    """What :func:`resolve_many` knows, by stream id, and what to refresh in the background."""

    #: Ids whose answer is stale or missing, to hand to :func:`tasks.schedule_refresh`.
    to_refresh: tuple[str, ...] = ()


def resolve(stream_id: str) -> ResolvedStream:
    """What we know of one stream; see :func:`resolve_many`."""
    return resolve_many([stream_id])[normalize_stream_id(stream_id)]


def resolve_many(
    stream_ids: Iterable[str], *, known: dict[str, ResolvedStream] | None = None
) -> Resolution:
    """What we know of each stream, by canonical stream id, in the order given.

    ``known`` holds what the caller already has (the snapshots of a page's snippets):
    fresh ones are served without touching the cache. The rest cost one cache read.
    Stale answers are served as they are and listed in ``to_refresh``; streams never
    seen are fetched together, bounded by ``TIMEOUT``, unless the circuit is open.
    An invalid id raises :class:`InvalidStreamId` before anything is read or sent.
    """
    ids = list(dict.fromkeys(normalize_stream_id(stream_id) for stream_id in stream_ids))
    known = known or {}
    now = time.time()
    result = Resolution(
        (sid, known[sid]) for sid in ids if sid in known and known[sid].is_fresh(now)
    )
    wanted = [sid for sid in ids if sid not in result]
    if not wanted:
        return result
    if all(sid in known for sid in wanted) and refresh_pending(
        wanted, now, {sid: _last_news(known[sid]) for sid in wanted}
    ):
        # Stale, and already being refreshed (or bintu is down): shown as it is.
        return Resolution((sid, result.get(sid) or known[sid]) for sid in ids)

    cache = caches[nanovod_settings.CACHE_ALIAS]
    # The fetch locks come in the same round trip: a stream whose refresh is already
    # queued or running is not claimed again, so a stale page costs one read per view.
    cached = cache.get_many(
        [CIRCUIT_KEY, *(cache_key(sid) for sid in wanted), *(lock_key(sid) for sid in wanted)]
    )
    circuit_open = _note_circuit(cached.get(CIRCUIT_KEY, 0)) > now
    _note_in_flight(
        {sid: cached[lock_key(sid)] for sid in wanted if lock_key(sid) in cached},
    )
    missing, to_refresh = [], []
    for sid in wanted:
        entry = _newest(known.get(sid), ResolvedStream.from_cache(sid, cached.get(cache_key(sid))))
        if entry is None:
            missing.append(sid)
        else:
            result[sid] = entry
            if not entry.is_fresh(now) and lock_key(sid) not in cached:
                to_refresh.append(sid)
    if missing:
        if circuit_open:
            logger.warning(
                "bintu circuit open: not waiting for %s unknown stream(s) %s",
                len(missing),
                ", ".join(missing),
            )
        else:
            result.update(_fetch_together(missing[:MAX_CONCURRENT_FETCHES]))
        # What is still unknown renders as not verified and is fetched in the background.
        for sid in missing:
            if sid not in result:
                result[sid] = ResolvedStream(sid)
                to_refresh.append(sid)
    ordered = Resolution((sid, result[sid]) for sid in ids)
    ordered.to_refresh = () if circuit_open else tuple(to_refresh)
    return ordered


def refresh_pending(
    stream_ids: Iterable[str],
    now: float | None = None,
    fetched_at: dict[str, float | None] | None = None,
) -> bool:
    """Whether, as far as this process knows, asking about these streams now is pointless:
    each one's refresh is in flight, or the circuit is open. Costs no cache read.

    ``fetched_at`` (stream id to when bintu last answered, with a stream or a failure,
    in the caller's snapshot) tells a lock
    this process remembers from a refresh that has ended since, in another process.
    """
    now = now if now is not None else time.time()
    if _circuit_until > now:
        return True
    seconds = _lock_seconds()
    for sid in stream_ids:
        until = _in_flight.get(sid, 0.0)
        if until <= now:
            return False
        fetched = (fetched_at or {}).get(sid)
        if fetched is not None and fetched >= until - seconds:
            # Fetched after the lock was taken: that refresh is over (a worker released
            # the lock in the cache, which this process does not read until it expires).
            _in_flight.pop(sid, None)
            return False
    return True


def refresh(stream_id: str, *, known: ResolvedStream | None = None) -> ResolvedStream:
    """Ask bintu now, whatever the cache holds; store and announce the outcome.

    ``known`` is the caller's snapshot; without it, the cached entry is what a
    failure falls back on. Used by "refresh now" and by the background task.
    """
    stream_id = normalize_stream_id(stream_id)
    cache = caches[nanovod_settings.CACHE_ALIAS]
    if known is None:
        known = ResolvedStream.from_cache(stream_id, cache.get(cache_key(stream_id)))
    outcome = _fetch(BintuClient(), stream_id, known or ResolvedStream(stream_id))
    _store({stream_id: outcome})
    return outcome


def claim(stream_ids: Iterable[str]) -> list[str]:
    """The ids whose fetch lock this process got: no other fetch of them is in flight.

    One ``add`` per id: only stale or unknown streams come here, a few per page
    at most, once per freshness period.
    """
    cache = caches[nanovod_settings.CACHE_ALIAS]
    seconds = _lock_seconds()
    now = time.time()
    claimed = [sid for sid in stream_ids if cache.add(lock_key(sid), now, seconds)]
    _note_in_flight(dict.fromkeys(claimed, now))
    return claimed


def release(stream_ids: Iterable[str]) -> None:
    """Let the next fetch of these streams happen."""
    stream_ids = list(stream_ids)
    for sid in stream_ids:
        _in_flight.pop(sid, None)
    caches[nanovod_settings.CACHE_ALIAS].delete_many([lock_key(sid) for sid in stream_ids])


def is_fresh(stream_id: str) -> bool:
    """Whether the cache holds a fresh answer for this stream."""
    cached = caches[nanovod_settings.CACHE_ALIAS].get(cache_key(stream_id))
    entry = ResolvedStream.from_cache(stream_id, cached)
    return entry is not None and entry.is_fresh()


def circuit_is_open() -> bool:
    """Whether bintu failed often enough lately that nothing should wait on it."""
    until = caches[nanovod_settings.CACHE_ALIAS].get(CIRCUIT_KEY, 0)
    return until > time.time()


def _fetch_together(stream_ids: list[str]) -> dict[str, ResolvedStream]:
    """Fetch unknown streams concurrently within one ``TIMEOUT``; one fetch per stream.

    Streams another process is fetching are waited for in the cache instead.
    """
    deadline = time.monotonic() + float(nanovod_settings.TIMEOUT)
    mine = claim(stream_ids)
    theirs = [sid for sid in stream_ids if sid not in mine]
    outcomes: dict[str, ResolvedStream] = {}
    if mine:
        client = BintuClient()
        try:
            with ThreadPoolExecutor(max_workers=len(mine)) as pool:
                fetched = pool.map(lambda sid: _fetch(client, sid, ResolvedStream(sid)), mine)
                outcomes.update(zip(mine, fetched, strict=True))
            _store(outcomes)
        finally:
            release(mine)
    if theirs:
        outcomes.update(_wait_for(theirs, deadline))
    return outcomes


def _wait_for(stream_ids: list[str], deadline: float) -> dict[str, ResolvedStream]:
    """Answers that other processes are fetching, as they arrive, until the deadline."""
    cache = caches[nanovod_settings.CACHE_ALIAS]
    found: dict[str, ResolvedStream] = {}
    while True:
        pending = [sid for sid in stream_ids if sid not in found]
        cached = cache.get_many([cache_key(sid) for sid in pending])
        for sid in pending:
            entry = ResolvedStream.from_cache(sid, cached.get(cache_key(sid)))
            if entry is not None:
                found[sid] = entry
        if len(found) == len(stream_ids) or time.monotonic() + _POLL_SECONDS > deadline:
            return found
        time.sleep(_POLL_SECONDS)


def _store(outcomes: dict[str, ResolvedStream]) -> None:
    """Cache the outcomes of fetches, move the circuit, and announce them."""
    if not outcomes:
        return
    cache = caches[nanovod_settings.CACHE_ALIAS]
    cache.set_many(
        {cache_key(sid): entry.to_cache() for sid, entry in outcomes.items()},
        timeout=nanovod_settings.STALE_SECONDS,
    )
    failed = sum(1 for entry in outcomes.values() if entry.error and entry.error != "not_found")
    if failed:
        _count_failures(cache, failed)
    elif any(entry.error == "" for entry in outcomes.values()):
        cache.delete(FAILURES_KEY)
    stream_resolved.send(sender=ResolvedStream, outcomes=outcomes)


def _count_failures(cache, failed: int) -> None:
    """Open the circuit after CIRCUIT_FAILURES failed fetches in a row."""
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
        cache.set(CIRCUIT_KEY, _note_circuit(time.time() + cooldown), cooldown)
        cache.delete(FAILURES_KEY)


def _note_in_flight(claimed_at: dict[str, object]) -> None:
    """Remember locks seen or taken, by the time they were taken (the lock's value)."""
    seconds = _lock_seconds()
    if len(_in_flight) > 4096:  # a bound, not a cache: old entries are worth nothing
        now = time.time()
        for sid in [sid for sid, until in _in_flight.items() if until <= now]:
            del _in_flight[sid]
    for sid, taken in claimed_at.items():
        if isinstance(taken, int | float):
            _in_flight[sid] = taken + seconds


def _note_circuit(until: object) -> float:
    """Remember until when the circuit is open; returns that time (0 if it is closed)."""
    global _circuit_until
    until = float(until) if isinstance(until, int | float) else 0.0
    _circuit_until = until
    return until


def _last_news(entry: ResolvedStream) -> float | None:
    return max((t for t in (entry.fetched_at, entry.error_at) if t), default=None)


def _lock_seconds() -> int:
    # Longer than any fetch can take (TIMEOUT bounds it), so a lock is never lifted
    # under a fetch still running; short enough that a crashed worker costs little.
    return int(float(nanovod_settings.TIMEOUT)) + 10


def _newest(*entries: ResolvedStream | None) -> ResolvedStream | None:
    """The latest news of the entries at hand, never poorer than what any of them knew.

    The one that stays fresh longest wins; if it holds only a failure (a cache entry
    written after a flush, say), the good answer of another entry stays with it.
    """
    present = [entry for entry in entries if entry is not None]
    newest = max(present, key=lambda entry: entry.fresh_until, default=None)
    if newest is not None and newest.stream is None and newest.error:
        good = [entry for entry in present if entry.stream is not None]
        if good:
            best = max(good, key=lambda entry: entry.fetched_at or 0)
            newest = replace(newest, stream=best.stream, fetched_at=best.fetched_at)
    return newest


def _fetch(client: BintuClient, stream_id: str, known: ResolvedStream) -> ResolvedStream:
    """One call to bintu; on failure, ``known`` with the failure recorded beside it."""
    now = time.time()
    try:
        stream = parse_stream(client.stream_info(stream_id), expected_id=stream_id)
    except (BintuError, ConfigurationError, ValueError) as exc:
        # Caught here because this is where the decision is made: keep what we had,
        # and ask again after a back-off that doubles with each failure in a row.
        # (ValueError: parse_stream found no stream in a JSON object.)
        reason = _reason(exc)
        failures = known.failures + 1
        logger.warning(
            "Could not resolve nanoStream stream %s (%s): %s%s",
            stream_id,
            reason,
            exc,
            "; serving the last good answer" if known.stream else "",
        )
        retry_in = min(
            nanovod_settings.ERROR_SECONDS * 2 ** (failures - 1),
            nanovod_settings.MAX_ERROR_SECONDS,
        )
        if isinstance(exc, RateLimited) and exc.retry_after:
            # bintu said when to come back; a longer wait than ours is honoured.
            retry_in = max(retry_in, exc.retry_after)
        if isinstance(exc, StreamNotFound):
            # An answer, not an outage: bintu is asked again at the settled pace.
            retry_in = nanovod_settings.FRESH_SECONDS
        return replace(
            known, error=reason, error_at=now, failures=failures, fresh_until=now + retry_in
        )
    return ResolvedStream(
        stream_id=stream_id,
        stream=stream,
        fetched_at=now,
        fresh_until=now + _fresh_seconds(stream),
    )


def _fresh_seconds(stream: Stream) -> float:
    """Live, upcoming and processing streams are about to change; the rest are settled.

    A recording bintu listed only minutes ago counts as about to change too: its file
    may still answer 404 while it is processed, and more renditions may follow.
    """
    if stream.state in _ACTIVE_STATES or (stream.state == "ended" and not stream.recordings):
        return nanovod_settings.ACTIVE_FRESH_SECONDS
    latest = stream.latest_recording
    if latest and latest.created_at and time.time() - latest.created_at.timestamp() < 600:
        return nanovod_settings.ACTIVE_FRESH_SECONDS
    return nanovod_settings.FRESH_SECONDS


def _reason(exc: Exception) -> str:
    if isinstance(exc, BintuError):
        return exc.reason
    if isinstance(exc, ConfigurationError):
        return "configuration"
    return BadResponse.reason
