"""``{% nanovod_player stream %}``: the player for a VodStream or a bare stream id;
``{% nanovod_stylesheet %}``: its stylesheet, and ``{% nanovod_oembed_link %}``: the
oEmbed discovery link of the page's embeddable player, both for a page's ``<head>``."""

from urllib.parse import urlencode

from django import template
from django.urls import reverse
from django.utils.html import format_html

from ..page_embeds import first_embed
from ..player import (
    PlayerOptions,
    absolute_url,
    base_url_of,
    embeds_enabled,
    published_page_id,
    render_player,
    stream_for_tag,
    stylesheet_link,
)

register = template.Library()


@register.simple_tag(takes_context=True)
def nanovod_player(
    context,
    stream,
    *,
    caption="",
    autoplay=False,
    loop=False,
    controls=True,
    start_time=None,
    end_time=None,
    recording=None,
    poster=None,
    click_to_load=None,
    priority=False,
):
    """The player, with the same options as the block (captions: the snippet's own).

    ``stream`` is a ``VodStream`` or a stream id string; ``poster`` a Wagtail image;
    ``click_to_load`` True or False overrides ``CLICK_TO_LOAD``; ``priority=True`` asks
    browsers to fetch the poster first (for the first player of a page).
    """
    snippet, resolved = stream_for_tag(stream)
    options = PlayerOptions(
        caption=caption,
        autoplay=bool(autoplay),
        loop=bool(loop),
        controls=bool(controls),
        start_time=start_time,
        end_time=end_time,
        recording_index=recording,
        poster=poster,
        click_to_load=None if click_to_load is None else bool(click_to_load),
        priority=bool(priority),
    )
    html = render_player(snippet, options, resolved=resolved, base_url=base_url_of(context))
    return stylesheet_link(context) + html


@register.simple_tag(takes_context=True)
def nanovod_stylesheet(context):
    """``<link>`` to the player's stylesheet, for the page's ``<head>``; the players of
    the page then leave it out."""
    return stylesheet_link(context, always=True)


@register.simple_tag(takes_context=True)
def nanovod_oembed_link(context):
    """``<link rel="alternate" type="application/json+oembed">`` for the page in the
    context, when it is published and shows a recording: how other sites' CMSs (Wagtail's
    own ``wagtail.embeds`` among them) find that it can be embedded. No query."""
    page = context.get("page")
    if published_page_id(context) is None or not embeds_enabled():
        return ""
    if first_embed(page) is None:
        return ""
    request = context.get("request")
    base_url = base_url_of(context)
    page_url = absolute_url(page.get_url(request=request) or "", base_url)
    if "://" not in page_url:
        return ""
    endpoint = absolute_url(reverse("wagtail_nanovod:oembed"), base_url)
    return format_html(
        '<link rel="alternate" type="application/json+oembed" href="{}?{}" title="{}">',
        endpoint,
        urlencode({"url": page_url, "format": "json"}),
        page.title,
    )
