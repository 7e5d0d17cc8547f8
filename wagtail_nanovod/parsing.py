"""bintu JSON to typed values: a stream, its recordings, its thumbnails, its live playout.

bintu's reference is not public, so every field is optional here: a field that is
absent or null is empty, an unknown field is ignored. A documented field that is
present with the wrong JSON type is a :class:`~wagtail_nanovod.exceptions.BadResponse`:
an answer we cannot read must not pass for a stream without recordings.

URLs are kept as bintu sent them; which of them may be played is decided when a
player is built (:func:`wagtail_nanovod.snapshot.playable_recordings`), from the
settings in force then.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from .conf import nanovod_settings
from .exceptions import BadResponse, InvalidStreamId

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


# The nanoStream dashboard's pages of a stream: .../stream/<id>, .../playout/<id>,
# .../webcaster/<id> (with anything after the id).
_DASHBOARD_PATH = re.compile(
    r"/(?:stream|streams|playout|webcaster)/"
    r"([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})(?![0-9a-fA-F])"
)


def stream_id_from_text(value: object) -> str:
    """The stream id in what an editor pasted: an id, or a URL of the stream's page in
    the nanoStream dashboard; :class:`InvalidStreamId` when it holds neither."""
    if isinstance(value, str) and "/" in value and len(value) <= 2000:
        match = _DASHBOARD_PATH.search(urlsplit(value.strip()).path)
        if match:
            return normalize_stream_id(match[1].lower())
    return normalize_stream_id(value)


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
    """What bintu says of the stream's H5Live playout."""

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
    #: Whether its live processing records it; None: bintu did not say.
    records: bool | None = None
    #: False when the answer had no ``playout.web`` at all: it did not say which
    #: recordings there are (as opposed to an empty list: there are none).
    recordings_said: bool = True
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def title_from_tags(self) -> str:
        """The title a ``title:`` or ``name:`` tag gives the stream, or "".

        Never the stream name (``bwPrF-oQGWZ``): that is shown to an editor as a hint,
        and the editor gives the title.
        """
        for key in ("title", "name"):
            for tag in self.tags:
                name, colon, value = tag.partition(":")
                if colon and name.strip().lower() == key and value.strip():
                    return value.strip()[:255]
        return ""

    @property
    def live_group_id(self) -> str:
        """The id the H5Live player plays this stream by: its adaptive-bitrate group."""
        return self.streamgroup or self.id

    @property
    def latest_recording(self) -> Recording | None:
        """The newest recording, or None."""
        return self.recordings[0] if self.recordings else None

    @property
    def thumbnail(self) -> str:
        """The first thumbnail URL as bintu sent it, or an empty string (which may be
        shown is :func:`wagtail_nanovod.snapshot.playable_thumbnail`'s to say)."""
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
            live=LivePlayout(live.get("rtmp_url", ""), live.get("streamname", ""))
            if live
            else None,
            records=data.get("records"),
            recordings_said=data.get("recordings_said", True),
        )


def parse_stream(payload: object, *, expected_id: str | None = None) -> Stream:
    """A :class:`Stream` from a Stream Info answer, or :class:`BadResponse`.

    "bintu did not say" (a field absent or null) is tolerated: the field is empty.
    "bintu said something unreadable" (a documented field of the wrong JSON type, an
    answer about another stream) is a :class:`BadResponse`, a failure like a 5xx: it
    must never pass for "this stream has no recordings".
    """
    if not isinstance(payload, dict):
        raise _bad(expected_id, "the answer", payload, "an object")
    raw_id = _typed(payload, "id", str, expected_id)
    try:
        stream_id = normalize_stream_id(raw_id if raw_id is not None else expected_id)
    except InvalidStreamId:
        raise BadResponse("bintu's answer has no valid stream id", stream_id=expected_id) from None
    if expected_id is not None and stream_id != expected_id:
        raise BadResponse(
            f"asked for stream {expected_id}, bintu answered with {stream_id}",
            stream_id=expected_id,
        )
    about = stream_id
    ingest = _typed(payload, "ingest", dict, about) or {}
    ingest_rtmp = _typed(ingest, "rtmp", dict, about, "ingest.") or {}
    playout = _typed(payload, "playout", dict, about) or {}
    streamname = _text(_typed(ingest_rtmp, "streamname", str, about, "ingest.rtmp."))
    h5live = _typed(playout, "h5live", list, about, "playout.") or []
    web = _typed(playout, "web", list, about, "playout.")
    created = payload.get("created_at")
    created_key = "created_at" if created is not None else "createdAt"
    return Stream(
        id=stream_id,
        state=_text(_typed(payload, "state", str, about)).lower(),
        type=_text(_typed(payload, "type", str, about)),
        created_at=_parse_time(_typed(payload, created_key, str, about)),
        tags=_tags(_typed(payload, "tags", list, about) or [], about),
        streamname=streamname,
        streamgroup=_text(_typed(payload, "streamgroup", str, about)),
        ingest_url=_text(_typed(ingest_rtmp, "url", str, about, "ingest.rtmp.")),
        thumbnails=_thumbnails(
            _typed(playout, "thumbnails", list, about, "playout.") or [], about
        ),
        recordings=_recordings(web or [], about),
        recordings_said=web is not None,
        live=_live(h5live, about, streamname),
        records=_records(h5live, about),
    )


def parse_stream_list(payload: object) -> list[Stream]:
    """The streams of a ``GET /stream`` answer; unreadable items are skipped with a log line
    (the list is for choosing streams: one odd item must not hide the others)."""
    if not isinstance(payload, list):
        raise _bad(None, "the stream list", payload, "an array")
    streams = []
    for position, item in enumerate(payload):
        try:
            streams.append(parse_stream(item))
        except BadResponse as exc:
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


def _recordings(items: list, stream_id: str) -> tuple[Recording, ...]:
    recordings = []
    for position, item in enumerate(items):
        where = f"playout.web[{position}]."
        if not isinstance(item, dict):
            raise _bad(stream_id, where[:-1], item, "an object")
        if _typed(item, "type", str, stream_id, where) != "vod":
            continue  # the live playout page, or a kind of item we do not play
        url = _typed(item, "url", str, stream_id, where)
        if not url:
            raise BadResponse(
                f"bintu listed a recording of stream {stream_id} without a URL ({where}url)",
                stream_id=stream_id,
            )
        created = item.get("createdAt")
        created_key = "createdAt" if created is not None else "created_at"
        index = item.get("index")
        if index is not None and _int(index) is None:
            raise _bad(stream_id, where + "index", index, "an integer")
        recordings.append(
            Recording(
                url=url,
                created_at=_parse_time(_typed(item, created_key, str, stream_id, where)),
                rendition_id=_text(_typed(item, "streamId", str, stream_id, where)) or stream_id,
                index=_int(index),
                # Not documented: used when they make sense, ignored when they do not.
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


def _thumbnails(items: list, stream_id: str) -> tuple[str, ...]:
    urls = []
    for position, item in enumerate(items):
        where = f"playout.thumbnails[{position}]."
        if not isinstance(item, dict):
            raise _bad(stream_id, where[:-1], item, "an object")
        url = _typed(item, "url", str, stream_id, where)
        if url:
            urls.append(url)
    return tuple(urls)


def _live(items: list, stream_id: str, streamname: str) -> LivePlayout | None:
    for position, item in enumerate(items):
        where = f"playout.h5live[{position}]."
        if not isinstance(item, dict):
            raise _bad(stream_id, where[:-1], item, "an object")
    if not items:
        return None
    rtmp = _typed(items[0], "rtmp", dict, stream_id, "playout.h5live[0].") or {}
    return LivePlayout(
        rtmp_url=_text(_typed(rtmp, "url", str, stream_id, "playout.h5live[0].rtmp.")),
        streamname=_text(_typed(rtmp, "streamname", str, stream_id, "playout.h5live[0].rtmp."))
        or streamname,
    )


def _records(items: list, stream_id: str) -> bool | None:
    """Whether the stream's live processing records it: True, False, or None (not said).

    Only seen, not documented (``playout.h5live[].processing``, a list of steps such as
    ``{"id": "rec"}``): a shape we do not know is "not said", never a failure.
    """
    steps = [item.get("processing") for item in items]
    lists = [value for value in steps if isinstance(value, list)]
    if not lists:
        if any(value is not None for value in steps):
            logger.info("Stream %s: a live processing configuration we cannot read", stream_id)
        return None
    return any(
        isinstance(step, dict) and step.get("id") == "rec" for value in lists for step in value
    )


def _tags(values: list, stream_id: str) -> tuple[str, ...]:
    tags = []
    for position, tag in enumerate(values[:MAX_TAGS]):
        if not isinstance(tag, str):
            raise _bad(stream_id, f"tags[{position}]", tag, "a string")
        tags.append(tag[:MAX_TEXT_LENGTH])
    return tuple(tags)


def _typed(container: dict, key: str, kind: type, stream_id: str | None, where: str = ""):
    """``container[key]`` if it has the documented JSON type; None if absent or null."""
    value = container.get(key)
    if value is None:
        return None
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise _bad(stream_id, where + key, value, _JSON_NAMES[kind])
    return value


_JSON_NAMES = {str: "a string", list: "an array", dict: "an object", bool: "a boolean"}


def _bad(stream_id: str | None, where: str, value: object, expected: str) -> BadResponse:
    about = f"stream {stream_id}" if stream_id else "a stream"
    return BadResponse(
        f"bintu's answer for {about} is not readable: {where} is "
        f"{_json_type(value)}, not {expected}",
        stream_id=stream_id,
    )


def _json_type(value: object) -> str:
    """The JSON name of a value's type (the value itself never goes into a message)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return {str: "a string", list: "an array", dict: "an object"}.get(type(value), "unknown")


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
        try:
            number = float(value)  # a JSON integer of 400 digits does not fit
        except OverflowError:
            return None
        return number if number == number and number != float("inf") else None
    return None


# -- the token service ------------------------------------------------------------------

#: What a token may hold: a JWT's base64url parts and dots (URL-safe base64 and its
#: padding allowed besides). It is put into the page's markup, so nothing else passes.
_TOKEN = re.compile(r"[A-Za-z0-9._~+/=-]{16,8192}")


@dataclass(frozen=True, slots=True)
class PlaybackToken:
    """A secure playback token and when it stops working."""

    token: str = field(repr=False)  # a credential: kept out of reprs, logs and tracebacks
    expires_at: float

    def __repr__(self) -> str:
        return f"<PlaybackToken until {self.expires_at:.0f}>"


def parse_playback_token(payload: object, *, asked_until: float) -> PlaybackToken:
    """The token service's ``{"success": true, "data": {"token": "…"}}`` as a token.

    It expires at *asked_until*, or earlier when the JWT's own ``exp`` says so (the
    service may cap what it was asked for). Anything else is a :class:`BadResponse`,
    and so is a token that has expired already: it could not play.
    """
    where = "the token service's answer"
    if not isinstance(payload, dict):
        raise BadResponse(f"{where} is a JSON {_json_type(payload)}, not an object")
    if payload.get("success") is not True:
        raise BadResponse(f"{where} does not say success: {_json_type(payload.get('success'))}")
    data = payload.get("data")
    token = data.get("token") if isinstance(data, dict) else None
    if not isinstance(token, str) or not _TOKEN.fullmatch(token):
        shown = _json_type(token) if not isinstance(token, str) else f"{len(token)} characters"
        raise BadResponse(f"{where} holds no usable token ({shown})")
    expires_at = float(asked_until)
    claimed = _number(_jwt_claims(token).get("exp"))
    if claimed is not None:
        expires_at = min(expires_at, claimed)
    if expires_at <= datetime.now(UTC).timestamp():
        raise BadResponse(f"{where} holds a token that has expired already")
    return PlaybackToken(token=token, expires_at=expires_at)


def _jwt_claims(token: str) -> dict:
    """The claims of a JWT, unverified (only nanoStream's servers can check them); {}
    for anything that is not one."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, RecursionError):  # RecursionError: "[[[[…" nested too deep
        return {}
    return claims if isinstance(claims, dict) else {}
