"""What other sites embed: the embed page of a player, and the oEmbed endpoint.

Both answer only for the VOD blocks of published pages that no view restriction covers
(:mod:`wagtail_nanovod.page_embeds` decides which); anything else (a draft, a private
page, a stream no longer on the page, a URL that shows no such page) is a bare 404 that
tells nothing. Both cost a fixed number of queries and may be cached in front.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.http import Http404, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.urls import Resolver404, get_script_prefix, resolve
from django.utils.cache import patch_cache_control
from django.utils.html import format_html
from django.utils.translation import get_language
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET

from . import page_embeds
from .conf import nanovod_settings
from .csp import player_policy
from .models import VodStream
from .player import (
    POSTER_FILTER,
    absolute_url,
    base_url_of,
    embed_path,
    poll_seconds,
    render_player,
    rendition_url,
)

EMBED_TEMPLATE = "wagtail_nanovod/embed.html"
#: How long an oEmbed answer may be kept (its cache_age, and its Cache-Control): a page
#: unpublished since is offered from a cache for this long at most.
OEMBED_MAX_AGE = 300


def _not_found() -> Http404:
    return Http404("Not found")


@xframe_options_exempt
@require_GET
def embed_page(request, page_id: int, token: str):
    """A page of its own holding one player of a published page, for other sites' iframes."""
    found = page_embeds.embeddable(page_id, token) if nanovod_settings.EMBEDS else None
    if found is None:
        raise _not_found()
    base_url = base_url_of({"request": request})
    player = render_player(found.stream, found.options, base_url=base_url, page_id=page_id)
    html = render_to_string(
        EMBED_TEMPLATE,
        {
            "player": player,
            "title": found.options.caption or found.stream.title,
            "language": get_language(),
        },
        request=request,
    )
    response = HttpResponse(html)
    response["Content-Security-Policy"] = player_policy(
        frame_ancestors=nanovod_settings.EMBED_FRAME_ANCESTORS
    )
    # Live players change: as the player endpoint, half a poll interval.
    patch_cache_control(response, public=True, max_age=max(1, poll_seconds() // 2))
    response["X-Robots-Tag"] = "noindex"  # the page it comes from is the one to find
    return response


@require_GET
def oembed(request):
    """oEmbed 1.0 (``type: video``) for a published page's URL or an embed URL of ours."""
    if not nanovod_settings.EMBEDS:
        raise _not_found()
    if request.GET.get("format", "json") != "json":
        # The oEmbed spec's answer to a format a provider does not offer.
        return HttpResponse(status=501)
    found = _embeddable_at(request.GET.get("url", ""))
    if found is None:
        raise _not_found()
    width, height = page_embeds.fitted_size(
        _positive(request.GET.get("maxwidth")), _positive(request.GET.get("maxheight"))
    )
    base_url = base_url_of({"request": request})
    src = absolute_url(embed_path(found.page.pk, found.token), base_url)
    title = found.options.caption or found.stream.title
    answer = {
        "version": "1.0",
        "type": "video",
        "title": title,
        "provider_name": getattr(settings, "WAGTAIL_SITE_NAME", "") or request.get_host(),
        "provider_url": base_url + "/",
        "width": width,
        "height": height,
        # How long a consumer may keep it: Wagtail's finder, for one, keeps an answer for
        # good without it, an embed of a page unpublished since among them.
        "cache_age": OEMBED_MAX_AGE,
        "html": format_html(
            '<iframe src="{}" width="{}" height="{}" title="{}" '
            'allow="autoplay; fullscreen; picture-in-picture"></iframe>',
            src,
            width,
            height,
            title,
        ),
    }
    answer.update(_thumbnail(found.stream, found.options, base_url))
    response = JsonResponse(answer)
    patch_cache_control(response, public=True, max_age=OEMBED_MAX_AGE)
    return response


def _embeddable_at(url: str) -> page_embeds.Embeddable | None:
    """The embed a URL names (an embed URL of ours, or a page's first player), or None."""
    if not url or len(url) > 2048:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:  # "http://[::1/", characters that change under normalization
        return None
    # Paths as Django resolves them and Wagtail stores them: decoded, without the script
    # prefix (a page's URL percent-encodes a slug such as "über-uns").
    path = unquote(parts.path)
    prefix = get_script_prefix()
    if prefix != "/" and path.startswith(prefix):
        path = "/" + path[len(prefix) :]
    try:
        match = resolve(path)
    except Resolver404:
        match = None
    if match is not None and match.view_name == "wagtail_nanovod:embed":
        return page_embeds.embeddable(match.kwargs["page_id"], match.kwargs["token"])
    page = page_embeds.page_at(parts, path)
    return page_embeds.first_embeddable(page) if page is not None else None


def _thumbnail(snippet: VodStream, options, base_url: str) -> dict:
    """The oEmbed thumbnail: the embed's poster from the site's images, else nanoStream's."""
    poster = options.poster or snippet.poster
    poster_url = rendition_url(poster, POSTER_FILTER) if poster is not None else ""
    if poster_url:
        # POSTER_FILTER's size.
        return {
            "thumbnail_url": absolute_url(poster_url, base_url),
            "thumbnail_width": 1280,
            "thumbnail_height": 720,
        }
    # Brought up to date with the page's other streams: they came in one batch.
    thumbnail = snippet.playback(recording_index=options.recording_index).thumbnail_url
    # nanoStream does not tell its thumbnails' size; consumers read the URL alone.
    return {"thumbnail_url": thumbnail} if thumbnail else {}


def _positive(value: str | None) -> int | None:
    try:
        number = int(value or "")
    except ValueError:
        return None
    return number if number > 0 else None
