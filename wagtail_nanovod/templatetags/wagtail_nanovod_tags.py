"""``{% nanovod_player stream %}``: the player for a VodStream or a bare stream id."""

from django import template

from ..player import PlayerOptions, render_player, stream_for_tag

register = template.Library()


@register.simple_tag
def nanovod_player(
    stream,
    *,
    caption="",
    autoplay=False,
    loop=False,
    controls=True,
    start_time=None,
    recording=None,
    poster=None,
):
    """The player, with the same options as the block.

    ``stream`` is a ``VodStream`` or a stream id string; ``poster`` a Wagtail image.
    """
    snippet, resolved = stream_for_tag(stream)
    options = PlayerOptions(
        caption=caption,
        autoplay=bool(autoplay),
        loop=bool(loop),
        controls=bool(controls),
        start_time=start_time,
        recording_index=recording,
        poster=poster,
    )
    return render_player(snippet, options, resolved=resolved)
