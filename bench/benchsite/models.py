"""One page type per way of putting a video on a page, each a StreamField of that block only.

Every page renders its body with ``{% include_block page.body %}``; the blocks differ
in what their value costs to load and to render, which is what the bench compares.
"""

from django.conf import settings
from django.db import models
from wagtail import blocks
from wagtail.embeds.blocks import EmbedBlock
from wagtail.fields import StreamField
from wagtail.models import Page
from wagtail.snippets.blocks import SnippetChooserBlock

from wagtail_nanovod.blocks import VodBlock

TEMPLATE = "benchsite/page.html"


class MinimalVideoBlock(blocks.StructBlock):
    """The least a site developer would write: a URL and a ``<video>`` template."""

    url = blocks.URLBlock()
    caption = blocks.CharBlock(required=False)

    class Meta:
        template = "benchsite/minimal_video.html"


class MinimalVideo(models.Model):
    """The least snippet a site would make for a video: a title and a URL."""

    title = models.CharField(max_length=255)
    url = models.URLField()

    def __str__(self) -> str:
        return self.title


class MinimalSnippetBlock(blocks.StructBlock):
    """The least a snippet-backed block costs (the floor VodBlock is held to): Wagtail's
    own SnippetChooserBlock, one bulk query for a page's snippets, a one-line template."""

    video = SnippetChooserBlock(MinimalVideo)

    class Meta:
        template = "benchsite/snippet_video.html"


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


class SnippetPage(Page):
    body = StreamField([("video", MinimalSnippetBlock())])
    template = TEMPLATE


class EmbedPage(Page):
    body = StreamField([("video", EmbedBlock())])
    template = TEMPLATE


if settings.HAS_WAGTAILMEDIA:
    from wagtailmedia.blocks import VideoChooserBlock

    class MediaPage(Page):
        body = StreamField([("video", VideoChooserBlock())])
        template = TEMPLATE
