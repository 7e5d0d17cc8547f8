"""bintu JSON to typed values: a stream, its recordings, its thumbnails, its live playout.

bintu's reference is not public, so every field is optional here: a missing array
is empty, an unknown field is ignored, and an item of the wrong shape is skipped
with a log line. A recording or thumbnail whose URL may not be played
(:func:`wagtail_nanovod.regions.is_playable`) is dropped here, before it can reach
a template.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from .conf import nanovod_settings
from .exceptions import InvalidStreamId
from .regions import is_playable

logger = logging.getLogger(__name__)

# Free text from the API is cut to this length: a 10 MB title is an attack, not a title.
MAX_TEXT_LENGTH = 500
MAX_TAGS = 100


def normalize_stream_id(value: object) -> str:
    """The canonical form of a stream id (a lower-case UUID), or :class:`InvalidStreamId`.

    Run before any request, so that nothing but a UUID ever reaches a URL path.
    """
    if isinstance(value, uuid.UUID):
        return str(value)
    if not isinstance(value, str) or len(value) > 45:
        raise InvalidStreamId(value)
    try:
        # The hyphenated form only: braces, "urn:uuid:" and bare hex are not ids bintu shows.
        parsed = uuid.UUID(value.strip())
    except ValueError:
        raise InvalidStreamId(value) from None
    if str(parsed) != value.strip().lower():
        raise InvalidStreamId(value)
    return str(parsed)


@dataclass(frozen=True, slots=True)
class Recording:
    """One recorded MP4 of a stream (a ``playout.web`` item of type ``vod``)."""

    url: str
    created_at: datetime | None = None
    #: The rendition that was recorded; differs from the stream id in an ABR group.
    rendition_id: str = ""
    index: int | None = None
    #: Seconds, when bintu tells.
    duration: float | None = None
    #: Bytes, when bintu tells.
    size: int | None = None
    name: str = ""


@dataclass(frozen=True, slots=True)
class LivePlayout:
    """What the H5Live player needs to play the stream while it is live."""

    group_id: str
    rtmp_url: str = ""
    streamname: str = ""


@dataclass(frozen=True, slots=True)
class IngestUrls:
    """The RTMP URLs an encoder streams to, for both modes."""

    live: str
    recording: str


@dataclass(frozen=True, slots=True)
class Stream:
    """A stream as bintu describes it, recordings newest first."""

    id: str
    state: str = ""
    type: str = ""
    created_at: datetime | None = None
    tags: tuple[str, ...] = ()
    streamname: str = ""
    streamgroup: str = ""
    ingest_url: str = ""
    thumbnails: tuple[str, ...] = ()
    recordings: tuple[Recording, ...] = ()
    live: LivePlayout | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def latest_recording(self) -> Recording | None:
        """The newest recording, or None."""
        return self.recordings[0] if self.recordings else None

    @property
    def thumbnail(self) -> str:
        """The first playable thumbnail URL, or an empty string."""
        return self.thumbnails[0] if self.thumbnails else ""

    def ingest_urls(self) -> IngestUrls | None:
        """Where to stream to, live only and live + recording; None without a stream name."""
        return ingest_urls(self.streamname, self.ingest_url)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict, for caches and database snapshots."""
        data = asdict(self)
        data.pop("extra")
        data["created_at"] = _iso(self.created_at)
        for recording in data["recordings"]:
            recording["created_at"] = _iso(recording["created_at"])
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Stream:
        """The inverse of :meth:`to_dict`."""
        live = data.get("live")
        return cls(
            id=data["id"],
            state=data.get("state", ""),
            type=data.get("type", ""),
            created_at=_parse_time(data.get("created_at")),
            tags=tuple(data.get("tags", ())),
            streamname=data.get("streamname", ""),
            streamgroup=data.get("streamgroup", ""),
            ingest_url=data.get("ingest_url", ""),
            thumbnails=tuple(data.get("thumbnails", ())),
            recordings=tuple(
                Recording(**{**item, "created_at": _parse_time(item.get("created_at"))})
                for item in data.get("recordings", ())
            ),
            live=LivePlayout(**live) if live else None,
        )


def parse_stream(payload: object, *, expected_id: str | None = None) -> Stream:
    """A :class:`Stream` from a Stream Info answer.

    Raises ``ValueError`` only when the payload cannot describe a stream at all (not
    an object, or no usable id); everything below that is tolerated.
    """
    if not isinstance(payload, dict):
        raise ValueError(f"a stream is a JSON object, not {type(payload).__name__}")
    try:
        stream_id = normalize_stream_id(payload.get("id", expected_id))
    except InvalidStreamId:
        raise ValueError("the stream has no valid id") from None
    if expected_id is not None and stream_id != expected_id:
        raise ValueError(f"asked for stream {expected_id}, bintu answered with {stream_id}")

    ingest_rtmp = _dict(_dict(payload.get("ingest")).get("rtmp"))
    playout = _dict(payload.get("playout"))
    streamname = _text(ingest_rtmp.get("streamname"))
    return Stream(
        id=stream_id,
        state=_text(payload.get("state")).lower(),
        type=_text(payload.get("type")),
        created_at=_parse_time(payload.get("created_at", payload.get("createdAt"))),
        tags=_tags(payload.get("tags"), stream_id),
        streamname=streamname,
        streamgroup=_text(payload.get("streamgroup")),
        ingest_url=_text(ingest_rtmp.get("url")),
        thumbnails=_thumbnails(playout.get("thumbnails"), stream_id),
        recordings=_recordings(playout.get("web"), stream_id),
        live=_live(playout.get("h5live"), payload, streamname),
    )


def parse_stream_list(payload: object) -> list[Stream]:
    """The streams of a ``GET /stream`` answer; unusable items are skipped with a log line."""
    if not isinstance(payload, list):
        raise ValueError(f"a stream list is a JSON array, not {type(payload).__name__}")
    streams = []
    for position, item in enumerate(payload):
        try:
            streams.append(parse_stream(item))
        except ValueError as exc:
            logger.warning("Skipping item %s of the stream list: %s", position, exc)
    return streams


def ingest_urls(streamname: str, ingest_url: str = "") -> IngestUrls | None:
    """RTMP URLs for live only (``/live/``) and live + recording (``/rec/``)."""
    if not streamname:
        return None
    server = nanovod_settings.INGEST_URL.rstrip("/")
    if ingest_url.startswith("rtmp://"):
        # bintu names the application ("/live" or "/rec") at the end of the server URL.
        server = ingest_url.rstrip("/").rsplit("/", 1)[0] if ingest_url.count("/") > 2 else server
    return IngestUrls(live=f"{server}/live/{streamname}", recording=f"{server}/rec/{streamname}")


def _recordings(items: object, stream_id: str) -> tuple[Recording, ...]:
    recordings = []
    for item in _list(items):
        if not isinstance(item, dict):
            logger.warning("Stream %s: skipping a playout item that is not an object", stream_id)
            continue
        if item.get("type") != "vod":
            continue
        url = item.get("url")
        if not is_playable(url):
            logger.warning(
                "Stream %s: ignoring a recording whose URL may not be played", stream_id
            )
            continue
        recordings.append(
            Recording(
                url=url,
                created_at=_parse_time(item.get("createdAt", item.get("created_at"))),
                rendition_id=_text(item.get("streamId")) or stream_id,
                index=_int(item.get("index")),
                duration=_number(item.get("duration")),
                size=_int(item.get("size", item.get("fileSize", item.get("filesize")))),
                name=_text(item.get("name", item.get("title"))),
            )
        )
    # bintu's order is not documented: newest first by time, then by index. Recordings
    # without a time go last, in the order sent.
    oldest = datetime.min.replace(tzinfo=UTC)
    recordings.sort(key=lambda r: (r.created_at or oldest, r.index or 0), reverse=True)
    return tuple(recordings)


def _thumbnails(items: object, stream_id: str) -> tuple[str, ...]:
    urls = []
    for item in _list(items):
        url = item.get("url") if isinstance(item, dict) else None
        if is_playable(url):
            urls.append(url)
        elif url is not None:
            logger.warning("Stream %s: ignoring a thumbnail whose URL may not be shown", stream_id)
    return tuple(urls)


def _live(items: object, payload: dict, streamname: str) -> LivePlayout | None:
    h5live = next((item for item in _list(items) if isinstance(item, dict)), None)
    if h5live is None:
        return None
    rtmp = _dict(h5live.get("rtmp"))
    group_id = _text(payload.get("streamgroup")) or _text(payload.get("id"))
    return LivePlayout(
        group_id=group_id,
        rtmp_url=_text(rtmp.get("url")),
        streamname=_text(rtmp.get("streamname")) or streamname,
    )


def _tags(value: object, stream_id: str) -> tuple[str, ...]:
    tags = []
    for tag in _list(value)[:MAX_TAGS]:
        if isinstance(tag, str):
            tags.append(tag[:MAX_TEXT_LENGTH])
        else:
            logger.warning("Stream %s: skipping a tag that is not a string", stream_id)
    return tuple(tags)


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value or len(value) > 40:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _text(value: object) -> str:
    return value[:MAX_TEXT_LENGTH] if isinstance(value, str) else ""


def _int(value: object) -> int | None:
    # bool is an int in Python, never a count in JSON.
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit() and len(value) < 19:
        return int(value)
    return None


def _number(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value) if value == value and value != float("inf") else None
    return None


def _list(value: object) -> list:
    return value if isinstance(value, list) else []


def _dict(value: object) -> dict:
    return value if isinstance(value, dict) else {}
