"""The player's template context and its rendering, shared by the block, the template
tag and the admin preview, so all three show the same markup.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.template.loader import get_template, render_to_string
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from wagtail.images.models import Filter, SourceImageIOError

from .conf import on_settings_change
from .exceptions import InvalidStreamId
from .models import VodStream, bring_up_to_date, image_key, resolve_bare_id
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


# Rendered players by (row's render key, options, language): a page of fifty embeds
# would otherwise rebuild the same fifty fragments on every view. Bounded; cleared
# when the settings change (they move URLs between regions).
_rendered: dict[tuple, str] = {}
RENDERED_MEMO_SIZE = 4096


@on_settings_change
def _forget_rendered() -> None:
    _rendered.clear()


def render_block_player(stream: VodStream | None, options: PlayerOptions) -> str:
    """:func:`render_player` for a snippet, remembered while its snapshot is unchanged.

    Only for the package's own templates outside ``DEBUG``: an overridden template
    may read anything, and a developer editing one wants to see the edit.
    """
    if stream is None or settings.DEBUG or not _templates_are_ours():
        return render_player(stream, options)
    stream.make_current()
    key = (stream.render_key(), _options_key(options), get_language())
    html = _rendered.get(key)
    if html is None:
        html = render_player(stream, options)
        if len(_rendered) >= RENDERED_MEMO_SIZE:
            _rendered.pop(next(iter(_rendered)), None)
        _rendered[key] = html
    return html


def _options_key(options: PlayerOptions) -> tuple:
    # By hand: dataclasses.astuple deep-copies, at a cost that shows on a page of fifty.
    return (
        options.caption,
        options.autoplay,
        options.loop,
        options.controls,
        options.start_time,
        options.recording_index,
        image_key(options.poster) if options.poster is not None else None,
    )


@functools.cache
def _templates_are_ours() -> bool:
    """Whether the player and state templates are the ones this package ships."""
    ours = Path(__file__).resolve().parent / "templates"
    names = [
        TEMPLATE,
        *(STATE_TEMPLATE.format(state=s) for s in ("processing", "live", "unavailable")),
    ]
    for name in names:
        origin = getattr(get_template(name), "origin", None)
        if origin is None or not Path(origin.name).resolve().is_relative_to(ours):
            return False
    return True


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
