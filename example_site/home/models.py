"""The demo's page types: a front page, and event pages that embed recordings."""

from demo import lifecycle
from django.db import models
from wagtail import blocks
from wagtail.fields import RichTextField, StreamField
from wagtail.models import Page

from wagtail_nanovod.blocks import VodBlock


class HomePage(Page):
    """The demo's front page: an introduction and a link to each page below it."""

    intro = RichTextField(blank=True)

    content_panels = [*Page.content_panels, "intro"]
    subpage_types = ["home.EventPage"]

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["children"] = self.get_children().live().specific()
        return context


class EventPage(Page):
    """An event's page: text and recorded streams, as an editor arranges them."""

    summary = models.CharField(max_length=255, blank=True, help_text="Shown on the front page.")
    body = StreamField(
        [("vod", VodBlock()), ("paragraph", blocks.RichTextBlock())],
        blank=True,
    )

    content_panels = [*Page.content_panels, "summary", "body"]
    parent_page_types = ["home.HomePage"]
    subpage_types = []

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["live_event"] = self.live_event()
        return context

    def live_event(self):
        """The offline demo's live event (demo/lifecycle.py), if this page plays it."""
        driver = lifecycle.current()
        if driver is None:
            return None
        for block in self.body:
            stream = block.value.get("stream") if block.block_type == "vod" else None
            if stream is not None and stream.stream_id_str == driver.stream_id:
                return driver
        return None
