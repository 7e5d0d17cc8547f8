"""schema.org ``VideoObject`` JSON-LD for a ready recording, for search engines.

Built as data in Python and serialised once, escaped so that nothing in a title or a
description (``</script>``, ``<!--``) can end the script element: it stays data.
"""

from __future__ import annotations

import json
from datetime import datetime
from urllib.parse import urljoin

from django.utils.safestring import SafeString, mark_safe

from .playback import Playback

# The characters that could end or confuse a <script> element, as JSON escapes (the
# same set Django's json_script uses); JSON parsers read them back unchanged.
_SCRIPT_ESCAPES = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}


def video_object(
    shown: Playback,
    *,
    title: str,
    description: str = "",
    poster_url: str = "",
    base_url: str = "",
    created_at: datetime | None = None,
    clip: tuple[int | None, int | None] = (None, None),
    embed_url: str = "",
) -> dict | None:
    """The ``VideoObject`` of a ready recording, or None when there is nothing to play.

    ``base_url`` (``https://example.com``) makes the site's own URLs, such as a poster
    rendition, absolute: search engines ignore relative ones. ``created_at`` is the
    stream's creation time, the upload date of a recording that does not tell its own.
    ``clip`` (start, end in seconds) describes the part of the recording the page plays.
    ``embed_url``: the embed page other sites can frame it with (absolute).
    """
    recording = shown.recording
    if not shown.is_ready or recording is None:
        return None
    data = {
        "@context": "https://schema.org",
        "@type": "VideoObject",
        "name": title,
        "description": description or title,
        "contentUrl": shown.url,
    }
    if embed_url:
        data["embedUrl"] = embed_url
    # A poster of the site's own needs the site's address; without one, nanoStream's
    # thumbnail (absolute already) rather than none: search engines require one.
    thumbnail = _absolute(poster_url, base_url) or shown.thumbnail_url
    if thumbnail:
        data["thumbnailUrl"] = thumbnail
    uploaded = recording.created_at or created_at
    if uploaded is not None:
        data["uploadDate"] = uploaded.isoformat()
    start, end = clip
    if start or end is not None:
        # A part of the recording: its length, and where it is within the whole.
        end_offset = end if end is not None else recording.duration
        if end_offset:
            data["duration"] = iso_duration(end_offset - (start or 0))
        part = {"@type": "Clip", "name": title, "startOffset": start or 0}
        if end_offset:
            part["endOffset"] = round(end_offset)
        data["hasPart"] = part
    elif recording.duration:
        data["duration"] = iso_duration(recording.duration)
    return data


def json_ld_script(data: dict) -> SafeString:
    """``<script type="application/ld+json">`` holding ``data``, safe to put in a page."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    # Safe: every character that could end the element is escaped above.
    return mark_safe(  # noqa: S308
        '<script type="application/ld+json">' + text.translate(_SCRIPT_ESCAPES) + "</script>"
    )


def iso_duration(seconds: float) -> str:
    """ISO 8601 duration, as schema.org wants it: ``PT1H2M3S``."""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    parts = "".join(
        f"{value}{unit}" for value, unit in ((hours, "H"), (minutes, "M"), (secs, "S")) if value
    )
    return "PT" + (parts or "0S")


def _absolute(url: str, base_url: str) -> str:
    """``url`` made absolute with ``base_url``; "" for a relative URL with no base."""
    if "://" in url:
        return url
    if not url or not base_url:
        return ""
    return urljoin(base_url.rstrip("/") + "/", url)
