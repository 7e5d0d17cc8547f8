"""The player's template context and its rendering, shared by the block, the template
tag and the admin preview, so all three show the same markup.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from wagtail.images.models import Filter, SourceImageIOError

from .exceptions import InvalidStreamId
from .models import VodStream, bring_up_to_date, resolve_bare_id
from .parsing import normalize_stream_id
from .playback import Playback, playback
from .resolver import ResolvedStream

logger = logging.getLogger(__name__)

TEMPLATE = "wagtail_nanovod/player.html"
#: One template per state that has nothing to play, overridable one by one.
STATE_TEMPLATE = "wagtail_nanovod/states/{state}.html"
#: The Wagtail image filter for posters: large enough for a full-width player.
POSTER_FILTER = "fill-1280x720-c100|format-jpeg"


@dataclass(frozen=True, slots=True)
class PlayerOptions:
    """What an editor chooses for one embed (block fields, template tag arguments)."""

    caption: str = ""
    autoplay: bool = False
    loop: bool = False
    controls: bool = True
    start_time: int | None = None
    recording_index: int | None = None
    #: A Wagtail image that replaces the stream's own poster.
    poster: Any = None


def player_context(stream: VodStream | None, options: PlayerOptions, *, resolved=None) -> dict:
    """The context of ``wagtail_nanovod/player.html`` for one embed.

    ``stream`` is a snippet; without one, ``resolved`` is what the resolver knows of
    a bare stream id.
    """
    if stream is not None:
        shown: Playback = stream.playback(recording_index=options.recording_index)
        title = stream.title
        poster = options.poster or stream.poster
    else:
        shown = playback(resolved, recording_index=options.recording_index)
        title = ""
        poster = options.poster
    poster_url = _rendition_url(poster) or shown.thumbnail_url
    # A media fragment starts playback there, no script needed; every source gets it,
    # so a failover source starts at the same place.
    fragment = f"#t={int(options.start_time)}" if options.start_time else ""
    sources = [url + fragment for url in (shown.url, *shown.alternate_urls) if url]
    return {
        "playback": shown,
        "title": title or _("nanoStream recording"),
        "description": stream.description if stream is not None else "",
        "poster_url": poster_url,
        "src": sources[0] if sources else "",
        "sources": sources,
        "caption": options.caption,
        "autoplay": options.autoplay,
        # Browsers only autoplay muted video; an editor who asks for autoplay gets both.
        "muted": options.autoplay,
        "loop": options.loop,
        # Moving video must be pausable (WCAG 2.2.2): autoplay keeps the controls.
        "controls": options.controls or options.autoplay,
        "state_template": STATE_TEMPLATE.format(state=shown.state),
    }


def render_player(stream: VodStream | None, options: PlayerOptions, *, resolved=None) -> str:
    """The player's HTML for one embed."""
    return render_to_string(TEMPLATE, player_context(stream, options, resolved=resolved))


def stream_for_tag(value: VodStream | str) -> tuple[VodStream | None, ResolvedStream | None]:
    """A snippet or a bare stream id, as the template tag receives it, made renderable.

    A snippet is brought up to date from its snapshot; an id that names a snippet
    uses it; any other id is resolved with its own snapshot row. An invalid id resolves to
    nothing (rendered as unavailable) with a warning, never an exception.
    """
    if isinstance(value, VodStream):
        bring_up_to_date([value])
        return value, None
    try:
        stream_id = normalize_stream_id(value)
    except InvalidStreamId as exc:
        logger.warning("nanovod_player got %s", exc)
        return None, None
    snippet = VodStream.objects.for_render().filter(stream_id=stream_id).first()
    if snippet is not None:
        bring_up_to_date([snippet])
        return snippet, None
    return None, resolve_bare_id(stream_id)


def _rendition_url(image) -> str:
    if image is None:
        return ""
    try:
        # get_rendition() writes Wagtail's rendition cache on every call, one round trip
        # per poster; a rendition prefetched with the page's streams needs none.
        try:
            return image.find_existing_rendition(Filter(POSTER_FILTER)).url
        except image.get_rendition_model().DoesNotExist:
            return image.get_rendition(POSTER_FILTER).url
    except (SourceImageIOError, OSError):  # a lost image file must not break the page
        logger.warning("Could not make a poster rendition of image %s", image.pk, exc_info=True)
        return ""
