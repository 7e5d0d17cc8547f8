"""A page type with VOD blocks, as a site using the package would have."""

from wagtail.api import APIField
from wagtail.fields import StreamField
from wagtail.models import Page

from wagtail_nanovod.blocks import VodBlock


class EventPage(Page):
    body = StreamField([("vod", VodBlock())], blank=True)

    content_panels = [*Page.content_panels, "body"]
    api_fields = [APIField("body")]
