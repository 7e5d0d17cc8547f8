"""What the player shows for a stream: its state, the regional URL, the poster.

Pure functions of a :class:`~wagtail_nanovod.snapshot.Snapshot` and the
editor's choices; the block, the template tag, the admin preview and the API
representation all go through :func:`playback`, so they never disagree.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from .conf import nanovod_settings
from .parsing import Recording
from .regions import alternate_urls, move_to_region, region_of
from .snapshot import (
    LIVE,
    NO_RECORDING,
    READY,
    UNAVAILABLE,
    UNVERIFIED,
    Snapshot,
    is_active,
    playable_recordings,
    playable_thumbnail,
    state_of,
)

AUTO_REGION = "auto"


@dataclass(frozen=True, slots=True)
class Playback:
    """Everything a player template needs, URLs already checked and moved."""

    stream_id: str
    state: str
    #: Why there is nothing to play (a reason of :func:`~wagtail_nanovod.snapshot.state_of`
    #: or a bintu error reason); "" when ready, upcoming, live or processing.
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
        return is_active(self.state)

    @property
    def version(self) -> str:
        """A short token that changes whenever what this plays changes."""
        key = f"{self.state}|{self.reason}|{self.url}"
        return hashlib.blake2s(key.encode(), digest_size=6).hexdigest()


def playback(
    snapshot: Snapshot | None,
    *,
    region: str = AUTO_REGION,
    recording_index: int | None = None,
) -> Playback:
    """The player's view of a stream.

    ``region`` is the editor's storage region (``auto``: take it from the URL);
    ``recording_index`` picks a recording by bintu's index instead of the newest.
    A live stream shows as live even with older recordings, unless the editor
    chose one of them. Only URLs the settings in force allow are ever chosen.
    """
    stream_id = snapshot.stream_id if snapshot else ""
    state, reason = state_of(snapshot)
    if state == UNVERIFIED:
        state = UNAVAILABLE
    stream = snapshot.stream if snapshot else None
    thumbnail = playable_thumbnail(stream)
    recordings = playable_recordings(stream)

    chosen = _choose(recordings, recording_index)
    if chosen is None and recording_index is not None and state == READY:
        return Playback(stream_id, UNAVAILABLE, NO_RECORDING, thumbnail_url=thumbnail)
    if state == LIVE and (chosen is None or recording_index is None):
        return Playback(
            stream_id,
            LIVE,
            thumbnail_url=thumbnail,
            recordings=recordings,
            group_id=stream.live_group_id,
        )
    if chosen is None or state not in (READY, LIVE):
        return Playback(stream_id, state, reason, thumbnail_url=thumbnail, recordings=recordings)

    url, storage_region = played_from(chosen.url, region)
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


def played_from(url: str, region: str = AUTO_REGION) -> tuple[str, str]:
    """``(url, region)`` a recording plays from, with the editor's region applied: the URL
    moved to that region's host (unless ``auto``), and the region it is then stored in."""
    if region != AUTO_REGION:
        url = move_to_region(url, region)
    storage_region = region_of(url) or (
        region if region != AUTO_REGION else nanovod_settings.DEFAULT_REGION
    )
    return url, storage_region


def _choose(recordings: tuple[Recording, ...], index: int | None) -> Recording | None:
    if index is None:
        return recordings[0] if recordings else None
    return next((r for r in recordings if r.index == index), None)
