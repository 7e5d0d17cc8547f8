"""One page type per way of putting a video on a page, each a StreamField of that block only.

Every page renders its body with ``{% include_block page.body %}``; the blocks differ
in what their value costs to load and to render, which is what the bench compares.
"""

from django.conf import settings
from wagtail import blocks
from wagtail.embeds.blocks import EmbedBlock
from wagtail.fields import StreamField
from wagtail.models import Page

from wagtail_nanovod.blocks import VodBlock

TEMPLATE = "benchsite/page.html"


class MinimalVideoBlock(blocks.StructBlock):
    """The least a site developer would write: a URL and a ``<video>`` template."""

    url = blocks.URLBlock()
    caption = blocks.CharBlock(required=False)

    class Meta:
        template = "benchsite/minimal_video.html"


class VodPage(Page):
    body = StreamField([("video", VodBlock())])
    template = TEMPLATE


class RawPage(Page):
    """The floor: literal HTML, nothing loaded, nothing rendered but the string."""

    body = StreamField([("video", blocks.RawHTMLBlock())])
    template = TEMPLATE


class MinimalPage(Page):
    body = StreamField([("video", MinimalVideoBlock())])
    template = TEMPLATE


class EmbedPage(Page):
    body = StreamField([("video", EmbedBlock())])
    template = TEMPLATE


if settings.HAS_WAGTAILMEDIA:
    from wagtailmedia.blocks import VideoChooserBlock

    class MediaPage(Page):
        body = StreamField([("video", VideoChooserBlock())])
        template = TEMPLATE
