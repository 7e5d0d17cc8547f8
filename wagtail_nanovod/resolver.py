"""The one place that turns stream ids into what a page needs, and decides when to ask bintu.

Each stream id maps to a :class:`ResolvedStream`: the last good answer from bintu
(if any), when it was fetched, until when it is fresh, and the last failure. Many
ids cost one cache read (``get_many``) and at most one cache write (``set_many``).
A failure is recorded beside the last good answer and never replaces it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from django.core.cache import caches

from .client import BintuClient
from .conf import nanovod_settings
from .exceptions import BadResponse, BintuError, ConfigurationError
from .parsing import Stream, normalize_stream_id, parse_stream

logger = logging.getLogger(__name__)

# Bump when the cached shape changes, so old entries are ignored rather than misread.
CACHE_VERSION = 1


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
            )
        except (KeyError, TypeError, ValueError):
            logger.warning("Ignoring an unreadable cache entry for stream %s", stream_id)
            return None


def cache_key(stream_id: str) -> str:
    """The cache key of a resolved stream."""
    return f"wagtail_nanovod:stream:{stream_id}"


def resolve(stream_id: str) -> ResolvedStream:
    """What we know of one stream; see :func:`resolve_many`."""
    return resolve_many([stream_id])[normalize_stream_id(stream_id)]


def resolve_many(
    stream_ids: Iterable[str], *, known: dict[str, ResolvedStream] | None = None
) -> dict[str, ResolvedStream]:
    """What we know of each stream, by canonical stream id.

    ``known`` holds what the caller already has (the snapshots of a page's
    snippets): fresh ones are served without touching the cache. The rest are read
    from the cache in one round trip; missing or expired ones are asked of bintu,
    and a failure keeps the last good answer. An invalid id raises
    :class:`InvalidStreamId` before anything is read or sent.
    """
    ids = list(dict.fromkeys(normalize_stream_id(stream_id) for stream_id in stream_ids))
    known = known or {}
    now = time.time()
    resolved = {sid: known[sid] for sid in ids if sid in known and known[sid].is_fresh(now)}
    wanted = [sid for sid in ids if sid not in resolved]
    if not wanted:
        return resolved

    cache = caches[nanovod_settings.CACHE_ALIAS]
    cached = cache.get_many([cache_key(sid) for sid in wanted])
    changed: dict[str, ResolvedStream] = {}
    client: BintuClient | None = None
    for stream_id in wanted:
        entry = _newest(
            known.get(stream_id),
            ResolvedStream.from_cache(stream_id, cached.get(cache_key(stream_id))),
        )
        if entry is None or not entry.is_fresh(now):
            client = client or BintuClient()
            entry = _fetch(client, stream_id, entry or ResolvedStream(stream_id))
            changed[stream_id] = entry
        resolved[stream_id] = entry
    if changed:
        cache.set_many(
            {cache_key(sid): entry.to_cache() for sid, entry in changed.items()},
            timeout=nanovod_settings.STALE_SECONDS,
        )
    return {sid: resolved[sid] for sid in ids}


def _newest(*entries: ResolvedStream | None) -> ResolvedStream | None:
    """Of the entries at hand, the one that stays fresh longest (the latest news)."""
    present = [entry for entry in entries if entry is not None]
    return max(present, key=lambda entry: entry.fresh_until, default=None)


def refresh(stream_id: str, *, known: ResolvedStream | None = None) -> ResolvedStream:
    """Ask bintu now, whatever the cache holds, and store the outcome in the cache.

    ``known`` is the caller's snapshot; without it, the cached entry is what a
    failure falls back on.
    """
    stream_id = normalize_stream_id(stream_id)
    cache = caches[nanovod_settings.CACHE_ALIAS]
    if known is None:
        known = ResolvedStream.from_cache(stream_id, cache.get(cache_key(stream_id)))
    entry = _fetch(BintuClient(), stream_id, known or ResolvedStream(stream_id))
    cache.set(cache_key(stream_id), entry.to_cache(), timeout=nanovod_settings.STALE_SECONDS)
    return entry


def _fetch(client: BintuClient, stream_id: str, known: ResolvedStream) -> ResolvedStream:
    """One call to bintu; on failure, ``known`` with the failure recorded beside it."""
    now = time.time()
    try:
        stream = parse_stream(client.stream_info(stream_id), expected_id=stream_id)
    except (BintuError, ConfigurationError, ValueError) as exc:
        # Caught here because this is where the decision is made: keep what we had,
        # remember the failure for ERROR_SECONDS so renders do not hammer bintu.
        # (ValueError: parse_stream found no stream in a JSON object.)
        reason = _reason(exc)
        logger.warning(
            "Could not resolve nanoStream stream %s (%s): %s%s",
            stream_id,
            reason,
            exc,
            "; serving the last good answer" if known.stream else "",
        )
        return replace(
            known,
            error=reason,
            error_at=now,
            fresh_until=now + nanovod_settings.ERROR_SECONDS,
        )
    return ResolvedStream(
        stream_id=stream_id,
        stream=stream,
        fetched_at=now,
        fresh_until=now + nanovod_settings.FRESH_SECONDS,
    )


def _reason(exc: Exception) -> str:
    if isinstance(exc, BintuError):
        return exc.reason
    if isinstance(exc, ConfigurationError):
        return "configuration"
    return BadResponse.reason
