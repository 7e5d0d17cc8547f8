"""What the player shows for a resolved stream: its state, the regional URL, the poster.

Pure functions of a :class:`~wagtail_nanovod.resolver.ResolvedStream` and the
editor's choices; the block, the template tag, the admin preview and the API
representation all go through :func:`playback`, so they never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .conf import nanovod_settings
from .parsing import Recording
from .regions import alternate_urls, move_to_region, region_of
from .resolver import ResolvedStream

READY = "ready"
PROCESSING = "processing"
LIVE = "live"
UNAVAILABLE = "unavailable"
#: Admin only: saved, but bintu has not answered yet.
UNVERIFIED = "unverified"

# bintu stream states that can never play again.
_GONE_STATES = frozenset({"deleted", "locked"})

AUTO_REGION = "auto"


@dataclass(frozen=True, slots=True)
class Playback:
    """Everything a player template needs, URLs already checked and moved."""

    stream_id: str
    state: str
    #: Why there is nothing to play: "not_found", "not_started", "gone", "no_recording",
    #: "unreachable", or a bintu error reason; "" when ready.
    reason: str = ""
    recording: Recording | None = None
    url: str = ""
    region: str = ""
    alternate_urls: tuple[str, ...] = ()
    thumbnail_url: str = ""
    recordings: tuple[Recording, ...] = field(default=(), repr=False)

    @property
    def is_ready(self) -> bool:
        return self.state == READY


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
    return UNAVAILABLE, "not_started"


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
    if chosen is None or state in (UNAVAILABLE, PROCESSING):
        return Playback(stream_id, state, reason, thumbnail_url=thumbnail, recordings=recordings)
    if state == LIVE and recording_index is None:
        return Playback(stream_id, LIVE, "", thumbnail_url=thumbnail, recordings=recordings)

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
