"""What we know about a stream, and the rules for changing it.

A :class:`Snapshot` is the last good answer from bintu (if any) with the last failure
beside it. Every rule about that knowledge lives here and nowhere else:

- how an answer or a failure merges into what we knew (:func:`after_answer`,
  :func:`after_failure`): a failure never replaces a good answer;
- which of two copies (cache, database) is the newer one (:func:`newest`);
- the state a stream is in (:func:`state_of`), from the answer, the time, and which
  URLs the settings in force allow to be played;
- how long a snapshot is fresh (:func:`fresh_seconds`): streams about to change are
  asked about often, settled ones rarely, failures after a back-off.

Pure functions of their arguments and the settings: no cache, no database, no HTTP.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, replace
from typing import Any

from .conf import nanovod_settings
from .exceptions import BintuError, ConfigurationError, RateLimited, StreamNotFound
from .parsing import Recording, Stream
from .regions import is_playable

logger = logging.getLogger(__name__)

# -- states -------------------------------------------------------------------------

READY = "ready"
#: Not live yet (bintu: created): the page waits for the broadcast.
UPCOMING = "upcoming"
LIVE = "live"
#: Ended, its recording not listed yet, within PROCESSING_GRACE_SECONDS.
PROCESSING = "processing"
UNAVAILABLE = "unavailable"
#: Admin only: saved, but bintu has not answered yet.
UNVERIFIED = "unverified"
#: States about to change: asked about every ACTIVE_FRESH_SECONDS, polled by pages.
ACTIVE_STATES = frozenset({UPCOMING, LIVE, PROCESSING})

# Reasons a stream has nothing to play (besides a BintuError.reason).
NOT_FOUND = "not_found"
GONE = "gone"
NOT_RECORDED = "not_recorded"
NOT_PLAYABLE = "not_playable"
NO_RECORDING = "no_recording"
NOT_VERIFIED = "not_verified"

# A recording listed less than this long ago may still answer 404 and may gain
# renditions: it is checked at the active pace.
_NEW_RECORDING_SECONDS = 600

# Bump when the stored shape changes, so old cache entries are ignored, not misread.
DATA_VERSION = 3


def is_active(state: str) -> bool:
    """Whether a stream in this state is about to change."""
    return state in ACTIVE_STATES


@dataclass(frozen=True, slots=True)
class Snapshot:
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
    #: When we first saw the stream ended with no recording listed (None otherwise):
    #: the processing grace period counts from here, across refreshes.
    no_recording_since: float | None = None

    def is_fresh(self, now: float | None = None) -> bool:
        """Whether bintu need not be asked now."""
        return (now if now is not None else time.time()) < self.fresh_until

    def state_changes_at(self, now: float) -> float:
        """When the state changes next with no news from bintu: the end of a processing
        grace period still to come (see :func:`state_of`), or never."""
        ends = grace_ends(self.no_recording_since)
        return ends if ends is not None and ends > now else math.inf

    @property
    def is_known(self) -> bool:
        """Whether bintu ever answered for this stream, with a stream or a failure."""
        return self.stream is not None or bool(self.error)

    @property
    def last_news(self) -> float | None:
        """When bintu last answered, with a stream or a failure."""
        return max((t for t in (self.fetched_at, self.error_at) if t), default=None)

    def to_data(self) -> dict[str, Any]:
        """Plain data for the cache: no pickled classes that a new release could not load."""
        return {
            "v": DATA_VERSION,
            "stream": self.stream.to_dict() if self.stream else None,
            "fetched_at": self.fetched_at,
            "fresh_until": self.fresh_until,
            "error": self.error,
            "error_at": self.error_at,
            "failures": self.failures,
            "no_recording_since": self.no_recording_since,
        }

    @classmethod
    def from_data(cls, stream_id: str, data: object) -> Snapshot | None:
        """The inverse of :meth:`to_data`; None for a missing or unreadable entry."""
        if not isinstance(data, dict) or data.get("v") != DATA_VERSION:
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
                no_recording_since=data["no_recording_since"],
            )
        except (KeyError, TypeError, ValueError):
            logger.warning("Ignoring an unreadable cached snapshot of stream %s", stream_id)
            return None


# -- what a stream plays ------------------------------------------------------------


def playable_recordings(stream: Stream | None) -> tuple[Recording, ...]:
    """The recordings whose URL the settings in force allow to be played, newest first.

    Applied whenever a player is built, to every snapshot however old, so narrowing
    ``REGIONS`` or ``PLAYBACK_HOSTS`` takes effect at once.
    """
    if stream is None:
        return ()
    return tuple(recording for recording in stream.recordings if is_playable(recording.url))


def playable_thumbnail(stream: Stream | None) -> str:
    """The first thumbnail the settings in force allow to be shown, or ""."""
    if stream is None:
        return ""
    return next((url for url in stream.thumbnails if is_playable(url)), "")


def state_of(snapshot: Snapshot | None, now: float | None = None) -> tuple[str, str]:
    """``(state, reason)`` of a stream as a whole, for the player, badges and reports.

    ``reason`` says why there is nothing to play ("" when there is, or will be soon).
    """
    if snapshot is None or not snapshot.is_known:
        return UNVERIFIED, NOT_VERIFIED
    if snapshot.error == NOT_FOUND:
        # A well-formed answer that the stream is gone: the only failure that hides
        # a recording that played.
        return UNAVAILABLE, NOT_FOUND
    stream = snapshot.stream
    if stream is None:
        return UNAVAILABLE, snapshot.error
    if stream.state == "deleted":
        return UNAVAILABLE, GONE
    if stream.state == "live":
        return LIVE, ""
    if stream.recordings:
        if playable_recordings(stream):
            return READY, ""
        return UNAVAILABLE, NOT_PLAYABLE
    if stream.state == "created":
        return UPCOMING, ""
    if stream.state in ("ended", "locked"):
        # Ended with no recording listed: being processed, unless bintu says the stream
        # does not record, or the grace period is over.
        if stream.records is False:
            return UNAVAILABLE, NOT_RECORDED
        if _grace_over(snapshot, now):
            return UNAVAILABLE, NOT_RECORDED
        return PROCESSING, ""
    return UNAVAILABLE, NO_RECORDING


def _grace_over(snapshot: Snapshot, now: float | None) -> bool:
    return grace_over(snapshot.no_recording_since, now)


def grace_over(no_recording_since: float | None, now: float | None = None) -> bool:
    """Whether a stream ended without a recording since then is no longer "processing"."""
    ends = grace_ends(no_recording_since)
    return ends is not None and (now if now is not None else time.time()) >= ends


def grace_ends(no_recording_since: float | None) -> float | None:
    """When a stream ended without a recording since then stops being "processing"."""
    if no_recording_since is None:
        return None
    return no_recording_since + float(nanovod_settings.PROCESSING_GRACE_SECONDS)


# -- how an outcome changes what we know ---------------------------------------------


def after_answer(known: Snapshot, stream: Stream, now: float | None = None) -> Snapshot:
    """What we know once bintu answered with ``stream``.

    An answer that leaves its recordings out (no ``playout.web`` at all) did not say
    the stream has none: the recordings we knew stay.
    """
    now = now if now is not None else time.time()
    if not stream.recordings_said and known.stream is not None:
        stream = replace(
            stream,
            recordings=known.stream.recordings,
            recordings_said=known.stream.recordings_said,
        )
    waiting = not stream.recordings and stream.state in ("ended", "locked")
    since = (known.no_recording_since or now) if waiting else None
    snapshot = Snapshot(
        stream_id=known.stream_id, stream=stream, fetched_at=now, no_recording_since=since
    )
    return replace(snapshot, fresh_until=now + fresh_seconds(snapshot, now))


def after_failure(known: Snapshot, exc: Exception, now: float | None = None) -> Snapshot:
    """What we know once a fetch failed: ``known``'s answer, the failure beside it, and a
    back-off that doubles with each failure in a row."""
    now = now if now is not None else time.time()
    failures = known.failures + 1
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
        known,
        error=reason_of(exc),
        error_at=now,
        failures=failures,
        fresh_until=now + retry_in,
    )


def reason_of(exc: Exception) -> str:
    """The reason word a failed fetch is recorded under."""
    if isinstance(exc, BintuError):
        return exc.reason
    if isinstance(exc, ConfigurationError):
        return "configuration"
    return "bad_response"


def fresh_seconds(snapshot: Snapshot, now: float | None = None) -> float:
    """How long a snapshot that holds an answer is served before bintu is asked again.

    Streams about to change (upcoming, live, processing) and recordings listed only
    minutes ago are checked at the active pace; settled streams at the slow one.
    """
    state, _reason = state_of(snapshot, now)
    if is_active(state):
        return nanovod_settings.ACTIVE_FRESH_SECONDS
    latest = snapshot.stream.latest_recording if snapshot.stream else None
    now = now if now is not None else time.time()
    if (
        latest
        and latest.created_at
        and now - latest.created_at.timestamp() < _NEW_RECORDING_SECONDS
    ):
        return nanovod_settings.ACTIVE_FRESH_SECONDS
    return nanovod_settings.FRESH_SECONDS


def newest(*snapshots: Snapshot | None) -> Snapshot | None:
    """The latest news of the copies at hand (cache, rows, the caller's), never poorer
    than what any of them knew.

    The copy bintu answered last wins (on a tie, the one fresh longest); if it holds
    only a failure (written after a flush, or for a row that never knew the stream),
    the newest good answer of another copy stays with it.
    """
    present = [snapshot for snapshot in snapshots if snapshot is not None]
    best = max(
        present, key=lambda snapshot: (snapshot.last_news or 0, snapshot.fresh_until), default=None
    )
    if best is not None and best.stream is None and best.error:
        good = [snapshot for snapshot in present if snapshot.stream is not None]
        if good:
            answer = max(good, key=lambda snapshot: snapshot.fetched_at or 0)
            best = replace(
                best,
                stream=answer.stream,
                fetched_at=answer.fetched_at,
                no_recording_since=answer.no_recording_since,
            )
    return best
