"""The player's template context and its rendering, shared by the block, the template
tag and the admin preview, so all three show the same markup.
"""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import astuple, dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.template.loader import get_template, render_to_string
from django.templatetags.static import static
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from wagtail.images import get_image_model
from wagtail.images.models import Filter, SourceImageIOError
from wagtail.models import Page

from . import playback_tokens
from .captions import Track, kind_of, tracks_key
from .conf import DEFAULTS, nanovod_settings, on_settings_change
from .exceptions import InvalidStreamId
from .models import VodStream, image_key
from .parsing import normalize_stream_id
from .playback import Playback, playback
from .resolver import resolve_bare_ids, resolve_snippets
from .snapshot import LIVE, PROCESSING, READY, UNAVAILABLE, UPCOMING, Snapshot
from .structured_data import json_ld_script, video_object
from .times import format_offset

logger = logging.getLogger(__name__)

TEMPLATE = "wagtail_nanovod/player.html"
#: The player's look: classes only, no style attributes (a strict CSP applies it).
STYLESHEET = "wagtail_nanovod/nanovod.css"
#: One template per state that has nothing to play, overridable one by one.
STATE_TEMPLATE = "wagtail_nanovod/states/{state}.html"
#: The states that have a template of their own (the others play).
STATES_WITH_TEMPLATES = (UPCOMING, LIVE, PROCESSING, UNAVAILABLE)
#: Click to load: the poster and a play button in place of the player.
FACADE_TEMPLATE = "wagtail_nanovod/facade.html"
#: The Wagtail image filter for posters: large enough for a full-width player.
POSTER_FILTER = "fill-1280x720-c100|format-jpeg"
#: The renditions a poster's srcset offers, with their widths (the last: POSTER_FILTER).
POSTER_SRCSET = (("fill-640x360-c100|format-jpeg", 640), (POSTER_FILTER, 1280))


@dataclass(frozen=True, slots=True)
class PlayerOptions:
    """What an editor chooses for one embed (block fields, template tag arguments)."""

    caption: str = ""
    autoplay: bool = False
    loop: bool = False
    controls: bool = True
    start_time: int | None = None
    #: With or without a start: a clip, stopped here (seconds).
    end_time: int | None = None
    recording_index: int | None = None
    #: A Wagtail image that replaces the stream's own poster.
    poster: Any = None
    #: Subtitles of this embed; empty: the stream's own.
    tracks: tuple[Track, ...] = ()
    #: Show a facade until the visitor clicks; None: as ``CLICK_TO_LOAD`` says.
    click_to_load: bool | None = None
    #: The visitor clicked the facade's play button: the player, playing.
    play: bool = False
    #: Ask browsers to fetch the poster first (fetchpriority="high"): for the first
    #: player of a page, whose poster is usually its largest image.
    priority: bool = False


#: ``live_token`` when it is to be worked out here.
_ASK = object()


def player_context(
    stream: VodStream | None,
    options: PlayerOptions,
    *,
    resolved=None,
    base_url: str = "",
    live_token: str | object | None = _ASK,
    page_id: int | None = None,
) -> dict:
    """The context of ``wagtail_nanovod/player.html`` for one embed.

    ``stream`` is a snippet; without one, ``resolved`` is what the resolver knows of
    a bare stream id. ``base_url`` (``https://example.com``) makes the site's own URLs
    absolute where search engines need them, and its host is the one a secure playback
    token is bound to. ``live_token``: see :func:`live_token_for` (worked out when not
    given). ``page_id``: the published page showing it, whose embed URL the JSON-LD gives.
    """
    if stream is not None:
        shown: Playback = stream.playback(recording_index=options.recording_index)
        whole = shown if options.recording_index is None else stream.playback()
        title = stream.title
        description = stream.description
        poster = options.poster or stream.poster
        tracks = options.tracks or stream.caption_tracks
        known = stream.snapshot
    else:
        shown = playback(resolved, recording_index=options.recording_index)
        whole = shown if options.recording_index is None else playback(resolved)
        title = description = ""
        poster = options.poster
        tracks = options.tracks
        known = resolved
    title = title or _("nanoStream recording")
    click_to_load = _clicks_to_load(options)
    # Click to load: nothing from a nanoStream host until the visitor asks, not even
    # the thumbnail; a poster from the site's own images is fine.
    private = click_to_load and not options.play
    poster_url = rendition_url(poster) or ("" if private else shown.thumbnail_url)
    facade = private and shown.state in (READY, LIVE)
    # On the <img> behind a message and on the facade's; <video poster> takes one URL.
    shows_img = facade or shown.state != READY
    poster_srcset = _poster_srcset(poster) if poster_url and shows_img else ""
    # A media fragment starts playback there, no script needed; every source gets it,
    # so a failover source starts at the same place.
    fragment = _media_fragment(options.start_time, options.end_time)
    sources = [url + fragment for url in (shown.url, *shown.alternate_urls) if url]
    autoplay = options.autoplay or options.play
    endpoints = _endpoint_urls()
    token = player_token(stream, options, resolved) if endpoints else ""
    embed_url = ""
    if page_id is not None and stream is not None and endpoints and nanovod_settings.EMBEDS:
        embed_url = absolute_url(embed_path(page_id, token), base_url)
    poll = poll_seconds() if shown.is_active and endpoints else None
    clip_end = options.end_time if shown.is_ready else None
    live = shows_live_player(shown, options)
    if live and live_token is _ASK:
        live_token = live_token_for(shown, base_url)
    # Secure playback without a token: live, but nothing to play it with right now.
    unplayable = live and live_token is None
    stream_created = known.stream.created_at if known is not None and known.stream else None
    structured = (
        video_object(
            shown,
            title=title,
            description=description,
            poster_url=poster_url,
            base_url=base_url,
            created_at=stream_created,
            clip=(options.start_time, options.end_time),
            embed_url=embed_url,
        )
        if nanovod_settings.JSON_LD
        else None
    )
    return {
        "playback": shown,
        "title": title,
        "description": description,
        "poster_url": poster_url,
        "poster_srcset": poster_srcset,
        # The first player of a page may ask for its poster before other images.
        "poster_priority": options.priority and bool(poster_url),
        "src": sources[0] if sources else "",
        "sources": sources,
        "tracks": [replace(track, kind=kind_of(track, get_language())) for track in tracks],
        "caption": options.caption,
        "autoplay": autoplay,
        # Browsers only autoplay muted video; an editor who asks for autoplay gets both.
        # A visitor who clicked play asked for sound.
        "muted": options.autoplay and not options.play,
        "loop": options.loop,
        # Moving video must be pausable (WCAG 2.2.2): autoplay keeps the controls.
        "controls": options.controls or autoplay,
        "state_template": STATE_TEMPLATE.format(state=shown.state),
        "version": whole.version,
        "facade": facade,
        "live": _live_config(shown, poster_url, live_token) if live and not unplayable else None,
        "unplayable": unplayable,
        "json_ld": json_ld_script(structured) if structured else "",
        "player_url": reverse("wagtail_nanovod:player", args=[token]) if endpoints else "",
        "state_url": endpoints.get("state_url", ""),
        "poll": poll,
        "clip_start": options.start_time or 0,
        "clip_end": clip_end,
        "clip_label": _clip_label(options.start_time, clip_end) if clip_end is not None else "",
        "needs_script": bool(poll or facade or live or clip_end is not None),
        # Asked for again at every poll, to bring the token once it can be had.
        "retry": unplayable and bool(endpoints),
        "announcement": _announcement(shown, title, quiet=facade or unplayable),
    }


def _media_fragment(start: int | None, end: int | None) -> str:
    """``#t=start[,end]`` (W3C Media Fragments): browsers start there, and most stop at
    the end; the player script stops the others (``data-nanovod-end``)."""
    if end is not None:
        return f"#t={int(start or 0)},{int(end)}"
    return f"#t={int(start)}" if start else ""


def _clip_label(start: int | None, end: int) -> str:
    """The clip's points and length, in words: the browser's controls show the whole
    recording's length, and a visitor should know what part of it this is."""
    first = int(start or 0)
    return _("Clip: %(start)s to %(end)s (%(length)s)") % {
        "start": format_offset(first),
        "end": format_offset(end),
        "length": format_offset(max(end - first, 0)),
    }


def _announcement(shown: Playback, title: str, *, quiet: bool) -> str:
    """What screen readers hear when the script swaps this player in for another: the
    states with a message of their own are announced by it (the script reads it).
    ``quiet``: a facade, or a message of its own."""
    if quiet:
        return ""
    if shown.state == READY:
        return _("%(title)s: the recording is ready to play.") % {"title": title}
    if shown.state == LIVE:
        return _("%(title)s: live now.") % {"title": title}
    return ""


def render_player(
    stream: VodStream | None,
    options: PlayerOptions,
    *,
    resolved=None,
    base_url: str = "",
    live_token: str | object | None = _ASK,
    page_id: int | None = None,
) -> str:
    """The player's HTML for one embed."""
    context = player_context(
        stream,
        options,
        resolved=resolved,
        base_url=base_url,
        live_token=live_token,
        page_id=page_id,
    )
    return render_to_string(TEMPLATE, context)


def _clicks_to_load(options: PlayerOptions) -> bool:
    if options.click_to_load is not None:
        return options.click_to_load
    return bool(nanovod_settings.CLICK_TO_LOAD)


def shows_live_player(shown: Playback, options: PlayerOptions) -> bool:
    """Whether this embed is an H5Live player now: live, and not a click-to-load facade
    (which loads nothing from nanoStream, a token included, until the visitor asks)."""
    return shown.state == LIVE and not (_clicks_to_load(options) and not options.play)


def live_token_for(shown: Playback, base_url: str) -> str | None:
    """The secure playback token a live player of *shown* is set up with: "" when
    ``SECURE_PLAYBACK`` is off, None when it is on and no token can be had now.

    Bound to the host of *base_url* (the page's), else to ``WAGTAILADMIN_BASE_URL``'s.
    """
    if not nanovod_settings.SECURE_PLAYBACK:
        return ""
    host = urlsplit(base_url or getattr(settings, "WAGTAILADMIN_BASE_URL", "") or "").hostname
    try:
        return playback_tokens.token_for(shown.group_id, host or "")
    except Exception as exc:  # a broken cache, say: the page renders anyway
        logger.warning(
            "No secure playback token for group %s: %s", shown.group_id, type(exc).__name__
        )
        return None


def stylesheet_link(context, *, always: bool = False) -> str:
    """The ``<link>`` of the player's stylesheet, for the first player of a page: the
    first call for a request gives it, the later ones "". Without a request each player
    links it (valid HTML, if repeated): Wagtail gives each block of a StreamField a copy
    of the context, so only a dict the caller renders with directly remembers it.
    ``always``: the ``{% nanovod_stylesheet %}`` tag, for a page's ``<head>``. Nothing
    when ``STYLESHEET`` is off, unless ``always``.
    """
    request = context.get("request") if context is not None else None
    if request is not None:
        marks = request.__dict__
    elif isinstance(context, dict):  # a caller's own dict, rendered with more than once
        marks = context
    else:
        marks = {}
    if marks.get(_LINKED):  # before the setting: the later players of a page ask nothing
        return _NOTHING
    marks[_LINKED] = True
    if not always and not nanovod_settings.STYLESHEET:
        return _NOTHING
    return _stylesheet_markup(settings.STATIC_URL)


_LINKED = "_nanovod_stylesheet_linked"
_NOTHING = mark_safe("")


@functools.cache
def _stylesheet_markup(static_url: str) -> str:
    # Once per STATIC_URL: static() asks the storage each time, a cost a page of fifty
    # players without a request paid fifty times.
    return format_html('<link rel="stylesheet" href="{}">', static(STYLESHEET))


def absolute_url(path: str, base_url: str) -> str:
    """A path of this site made absolute with ``base_url`` (as is when it has no base)."""
    return base_url.rstrip("/") + path if base_url and path.startswith("/") else path


def published_page_id(context) -> int | None:
    """The pk of the published page a template context renders, if it is one."""
    return _live_pk(context.get("page") if context is not None else None)


def _live_pk(page) -> int | None:
    return page.pk if isinstance(page, Page) and page.live and page.pk else None


@dataclass(frozen=True, slots=True)
class BlockEnvironment:
    """What the VOD blocks of one render share, worked out once for all of them."""

    base_url: str
    page_id: int | None
    secure_playback: bool


_ENVIRONMENT = "_nanovod_block_environment"


def block_environment(context) -> BlockEnvironment:
    """The :class:`BlockEnvironment` of a block's render context, worked out once per
    request, or once per page object when there is no request: Wagtail gives each block
    of a StreamField a copy of the context, so the context itself cannot keep it."""
    request = context.get("request") if context is not None else None
    page = context.get("page") if context is not None else None
    carrier = request if request is not None else page if isinstance(page, Page) else None
    marks = carrier.__dict__ if carrier is not None else {}
    found = marks.get(_ENVIRONMENT)
    if found is None or (request is not None and found.page_id != _live_pk(page)):
        found = marks[_ENVIRONMENT] = BlockEnvironment(
            base_url=base_url_of(context),
            page_id=published_page_id(context),
            secure_playback=bool(nanovod_settings.SECURE_PLAYBACK),
        )
    return found


def base_url_of(context) -> str:
    """The site's root URL for absolute links: the request's, else WAGTAILADMIN_BASE_URL."""
    request = context.get("request") if context is not None else None
    if request is not None:
        base = request.__dict__.get("_nanovod_base_url")
        if base is None:
            base = request.build_absolute_uri("/").rstrip("/")
            request.__dict__["_nanovod_base_url"] = base
        return base
    return (getattr(settings, "WAGTAILADMIN_BASE_URL", "") or "").rstrip("/")


# -- the endpoints the player script talks to ------------------------------------------

_EMBED_NAMESPACE = "wagtail_nanovod.player"


def player_token(stream: VodStream | None, options: PlayerOptions, resolved=None) -> str:
    """A signed, URL-safe description of one embed, for the player endpoint to render.

    Signed so that the endpoint renders only embeds this site rendered first.
    """
    if stream is not None:
        payload: dict[str, Any] = {"s": stream.pk}
    else:
        payload = {"i": resolved.stream_id if resolved is not None else ""}
    for key, value in (
        ("c", options.caption),
        ("a", options.autoplay),
        ("l", options.loop),
        ("k", options.controls),
        ("t", options.start_time),
        ("e", options.end_time),
        ("r", options.recording_index),
        ("p", options.poster.pk if options.poster is not None else None),
        ("f", options.click_to_load),
        ("v", [list(astuple(track)) for track in options.tracks]),
        ("h", options.priority),
    ):
        if value not in (None, "", [], False) or key == "k":
            payload[key] = value
    # Not timestamped: the same embed gets the same URL on every render, so the
    # endpoint's answers can be cached.
    return signing.Signer(salt=_EMBED_NAMESPACE).sign_object(payload, compress=True)


def read_player_token(token: str) -> tuple[dict, PlayerOptions]:
    """The embed a :func:`player_token` describes; raises ``signing.BadSignature``."""
    payload = signing.Signer(salt=_EMBED_NAMESPACE).unsign_object(token)
    if not isinstance(payload, dict):
        raise signing.BadSignature("not an embed")
    try:
        options = PlayerOptions(
            caption=str(payload.get("c", "")),
            autoplay=bool(payload.get("a")),
            loop=bool(payload.get("l")),
            controls=bool(payload.get("k", True)),
            start_time=payload.get("t"),
            end_time=payload.get("e"),
            recording_index=payload.get("r"),
            poster=_image(payload.get("p")),
            tracks=tuple(Track(*track) for track in payload.get("v", ())),
            click_to_load=payload.get("f"),
            priority=bool(payload.get("h")),
        )
    except TypeError as exc:  # signed by an older release with another shape
        raise signing.BadSignature("unreadable embed") from exc
    return payload, options


def embeds_enabled() -> bool:
    """Whether other sites may embed players: ``EMBEDS`` is on, the site includes the URLs."""
    return bool(nanovod_settings.EMBEDS) and bool(_endpoint_urls())


def embed_path(page_id: int, token: str) -> str:
    """The embed page of a page's player (``token``: :func:`player_token` of its embed)."""
    return reverse("wagtail_nanovod:embed", args=[page_id, token])


def _endpoint_urls() -> dict[str, str]:
    """The state endpoint's URL, or {} where the site did not include the endpoints."""
    try:
        return {"state_url": reverse("wagtail_nanovod:state")}
    except NoReverseMatch:
        return {}


def poll_seconds() -> int:
    """``POLL_SECONDS`` as a whole number of seconds, at least one (check E007 names it)."""
    try:
        return max(1, int(nanovod_settings.POLL_SECONDS))
    except (TypeError, ValueError):
        return DEFAULTS["POLL_SECONDS"]


def _live_config(shown: Playback, poster_url: str, token: str) -> dict:
    """What the H5Live player is set up with: the stream's group id and, for secure
    playback, its token; never the key."""
    group: dict[str, Any] = {"id": shown.group_id}
    if token:
        group["security"] = {"jwtoken": token}
    config = {
        "source": {"group": group},
        "playback": {"autoplay": True, "muted": True},
        "style": {"width": "auto"},
    }
    if poster_url:
        config["style"]["poster"] = poster_url
    return {
        "config": json.dumps(config, separators=(",", ":")),
        # No element id here: the same stream may be on a page twice, with the same
        # remembered markup; the player script gives each container its own.
        "script": nanovod_settings.H5LIVE_SCRIPT_URL,
    }


def _image(pk):
    if pk is None:
        return None
    specs = (spec for spec, _width in POSTER_SRCSET)
    return get_image_model().objects.filter(pk=pk).prefetch_renditions(*specs).first()


# Rendered players by (row's render key, options, language): a page of fifty embeds
# would otherwise rebuild the same fifty fragments on every view. Bounded; cleared
# when the settings change (they move URLs between regions).
_rendered: dict[tuple, str] = {}
RENDERED_MEMO_SIZE = 4096


@on_settings_change
def _forget_rendered() -> None:
    _rendered.clear()


def render_block_player(
    stream: VodStream | None,
    options: PlayerOptions,
    *,
    base_url: str = "",
    page_id: int | None = None,
    secure_playback: bool | None = None,
) -> str:
    """:func:`render_player` for a snippet, remembered while its snapshot is unchanged.

    Only for the package's own templates outside ``DEBUG``: an overridden template
    may read anything, and a developer editing one wants to see the edit.
    """
    if stream is None or settings.DEBUG or not _templates_are_ours():
        return render_player(stream, options, base_url=base_url, page_id=page_id)
    stream.make_current()
    token: str | object | None = _ASK
    if secure_playback is None:
        secure_playback = bool(nanovod_settings.SECURE_PLAYBACK)
    if secure_playback:
        # A live player carries a token that is renewed: part of what is remembered.
        shown = stream.playback(recording_index=options.recording_index)
        token = live_token_for(shown, base_url) if shows_live_player(shown, options) else ""
    key = (stream.render_key(), _options_key(options), get_language(), base_url, token, page_id)
    html = _rendered.get(key)
    if html is None:
        html = render_player(stream, options, base_url=base_url, live_token=token, page_id=page_id)
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
        options.end_time,
        options.recording_index,
        image_key(options.poster) if options.poster is not None else None,
        tracks_key(options.tracks),
        options.click_to_load,
        options.play,
        options.priority,
    )


@functools.cache
def _templates_are_ours() -> bool:
    """Whether the player and state templates are the ones this package ships."""
    ours = Path(__file__).resolve().parent / "templates"
    names = [
        TEMPLATE,
        *(STATE_TEMPLATE.format(state=s) for s in STATES_WITH_TEMPLATES),
        FACADE_TEMPLATE,
    ]
    for name in names:
        origin = getattr(get_template(name), "origin", None)
        if origin is None or not Path(origin.name).resolve().is_relative_to(ours):
            return False
    return True


def stream_for_tag(value: VodStream | str) -> tuple[VodStream | None, Snapshot | None]:
    """A snippet or a bare stream id, as the template tag receives it, made renderable.

    A snippet is brought up to date from its snapshot; an id that names a snippet
    uses it; any other id is resolved with its own snapshot row. An invalid id resolves to
    nothing (rendered as unavailable) with a warning, never an exception.
    """
    if isinstance(value, VodStream):
        resolve_snippets([value])
        return value, None
    try:
        stream_id = normalize_stream_id(value)
    except InvalidStreamId as exc:
        logger.warning("nanovod_player got %s", exc)
        return None, None
    snippet = VodStream.objects.for_render().filter(stream_id=stream_id).first()
    if snippet is not None:
        resolve_snippets([snippet])
        return snippet, None
    return None, resolve_bare_ids([stream_id])[stream_id]


def rendition_url(image, spec: str = POSTER_FILTER) -> str:
    if image is None:
        return ""
    try:
        # get_rendition() writes Wagtail's rendition cache on every call, one round trip
        # per poster; a rendition prefetched with the page's streams needs none.
        try:
            return image.find_existing_rendition(Filter(spec)).url
        except image.get_rendition_model().DoesNotExist:
            # Made on an instance of its own: the one given may be shared by the renders
            # of other threads (render_rows), and making a rendition writes to it.
            own = type(image).objects.get(pk=image.pk)
            return own.get_rendition(spec).url
    except (SourceImageIOError, OSError):  # a lost image file must not break the page
        logger.warning("Could not make a poster rendition of image %s", image.pk, exc_info=True)
        return ""


def _poster_srcset(image) -> str:
    """``srcset`` for a poster from the site's images: a small screen loads the small one."""
    if image is None:
        return ""
    candidates = [(rendition_url(image, spec), width) for spec, width in POSTER_SRCSET]
    if not all(url for url, _width in candidates):
        return ""
    return ", ".join(f"{url} {width}w" for url, width in candidates)
