"""What the player shows for a resolved stream: its state, the regional URL, the poster.

Pure functions of a :class:`~wagtail_nanovod.resolver.ResolvedStream` and the
editor's choices; the block, the template tag, the admin preview and the API
representation all go through :func:`playback`, so they never disagree.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from .conf import nanovod_settings
from .parsing import Recording
from .regions import alternate_urls, move_to_region, region_of
from .resolver import ResolvedStream

READY = "ready"
#: Not live yet (bintu: created): the page waits for the broadcast.
UPCOMING = "upcoming"
PROCESSING = "processing"
LIVE = "live"
UNAVAILABLE = "unavailable"
#: Admin only: saved, but bintu has not answered yet.
UNVERIFIED = "unverified"
#: States that are about to change: a page showing one keeps asking for news.
ACTIVE_STATES = frozenset({UPCOMING, LIVE, PROCESSING})

# bintu stream states that can never play again.
_GONE_STATES = frozenset({"deleted", "locked"})

AUTO_REGION = "auto"


@dataclass(frozen=True, slots=True)
class Playback:
    """Everything a player template needs, URLs already checked and moved."""

    stream_id: str
    state: str
    #: Why there is nothing to play: "not_found", "gone", "no_recording", "unreachable",
    #: or a bintu error reason; "" when ready, upcoming, live or processing.
    reason: str = ""
    recording: Recording | None = None
    url: str = ""
    region: str = ""
    alternate_urls: tuple[str, ...] = ()
    thumbnail_url: str = ""
    recordings: tuple[Recording, ...] = field(default=(), repr=False)
    #: The id the H5Live player plays a live stream by (its adaptive-bitrate group).
    group_id: str = ""

    @property
    def is_ready(self) -> bool:
        return self.state == READY

    @property
    def is_active(self) -> bool:
        """Whether this is about to change (upcoming, live, processing)."""
        return self.state in ACTIVE_STATES

    @property
    def version(self) -> str:
        """A short token that changes whenever what this plays changes."""
        key = f"{self.state}|{self.reason}|{self.url}"
        return hashlib.blake2s(key.encode(), digest_size=6).hexdigest()


def stream_state(resolved: ResolvedStream | None) -> tuple[str, str]:
    """``(state, reason)`` of a stream as a whole, for badges and for the player."""
    if resolved is None or (resolved.stream is None and not resolved.error):
        return UNVERIFIED, "not_verified"
    stream = resolved.stream
    if resolved.error == "not_found":
        return UNAVAILABLE, "not_found"
    if stream is None:
        return UNAVAILABLE, resolved.error or "unreachable"
    if stream.state in _GONE_STATES:
        return UNAVAILABLE, "gone"
    if stream.state == "live":
        return LIVE, ""
    if stream.recordings:
        return READY, ""
    if stream.state == "ended":
        return PROCESSING, ""
    if stream.state == "created":
        return UPCOMING, ""
    return UNAVAILABLE, "no_recording"


def playback(
    resolved: ResolvedStream | None,
    *,
    region: str = AUTO_REGION,
    recording_index: int | None = None,
) -> Playback:
    """The player's view of a stream.

    ``region`` is the editor's storage region (``auto``: take it from the URL);
    ``recording_index`` picks a recording by bintu's index instead of the newest.
    A live stream shows as live even with older recordings, unless the editor
    chose one of them.
    """
    stream_id = resolved.stream_id if resolved else ""
    state, reason = stream_state(resolved)
    if state == UNVERIFIED:
        state = UNAVAILABLE
    stream = resolved.stream if resolved else None
    thumbnail = stream.thumbnail if stream else ""
    recordings = stream.recordings if stream else ()

    chosen = _choose(recordings, recording_index)
    if chosen is None and recording_index is not None and state == READY:
        return Playback(stream_id, UNAVAILABLE, "no_recording", thumbnail_url=thumbnail)
    group_id = (stream.streamgroup or stream.id) if stream else ""
    if state == LIVE and (chosen is None or recording_index is None):
        return Playback(
            stream_id, LIVE, thumbnail_url=thumbnail, recordings=recordings, group_id=group_id
        )
    if chosen is None or state not in (READY, LIVE):
        return Playback(stream_id, state, reason, thumbnail_url=thumbnail, recordings=recordings)

    url = chosen.url
    if region != AUTO_REGION:
        url = move_to_region(url, region)
    storage_region = region_of(url) or (
        region if region != AUTO_REGION else nanovod_settings.DEFAULT_REGION
    )
    return Playback(
        stream_id,
        READY,
        recording=chosen,
        url=url,
        region=storage_region,
        alternate_urls=tuple(alternate_urls(url)),
        thumbnail_url=thumbnail,
        recordings=recordings,
    )


def _choose(recordings: tuple[Recording, ...], index: int | None) -> Recording | None:
    if index is None:
        return recordings[0] if recordings else None
    return next((r for r in recordings if r.index == index), None)
