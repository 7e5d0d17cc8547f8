"""``{% nanovod_player stream %}``: the player for a VodStream or a bare stream id;
``{% nanovod_stylesheet %}``: its stylesheet, for a page's ``<head>``."""

from django import template

from ..player import (
    PlayerOptions,
    base_url_of,
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
