from demo.streams import DEMO_STREAMS
from wagtail.fields import RichTextField
from wagtail.models import Page

from wagtail_nanovod.resolver import resolve_many


class HomePage(Page):
    """The demo's front page: what the package resolves for each demo stream."""

    intro = RichTextField(blank=True)

    content_panels = [*Page.content_panels, "intro"]

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        resolved = resolve_many(stream_id for stream_id, *_ in DEMO_STREAMS)
        context["streams"] = [
            (title, resolved[stream_id]) for stream_id, title, *_ in DEMO_STREAMS
        ]
        return context
