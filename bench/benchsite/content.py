"""The bench content: streams at the fake bintu, their snippets, and one page per case.

Imported once Django is set up (it needs the models).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from wagtail.embeds.embeds import get_embed_hash
from wagtail.embeds.models import Embed
from wagtail.models import Site

from wagtail_nanovod.models import VodStream
from wagtail_nanovod.resolver import refresh_snippet
from wagtail_nanovod.testing import PLACEHOLDER_MP4, FakeBintu

from . import models

PAGE_MODELS = {
    "floor": models.RawPage,
    "minimal": models.MinimalPage,
    "snippet": models.SnippetPage,
    "vod": models.VodPage,
    "embed": models.EmbedPage,
}
if settings.HAS_WAGTAILMEDIA:
    PAGE_MODELS["media"] = models.MediaPage


@dataclass
class PageRef:
    """A page of the bench site, fetched afresh for every render."""

    model: type
    pk: int
    url: str
    n: int

    def fetch(self):
        """The page as a request would load it: one query, its StreamField not converted."""
        return self.model.objects.get(pk=self.pk)


class Content:
    """Makes streams and pages; every page is a child of the default site's home page."""

    def __init__(self, bintu: FakeBintu) -> None:
        self.bintu = bintu
        self.home = Site.objects.get(is_default_site=True).root_page
        self.kinds = list(PAGE_MODELS)
        self._pages = 0

    def streams(self, count: int, *, warm: bool) -> list[VodStream]:
        """``count`` new streams with one recording each, and their snippets.

        Warm: synced once, as an editor's save does, so the snapshot is fresh.
        Otherwise registered and never fetched, as in a cold start.
        """
        snippets = []
        for n in range(count):
            stream_id = self.bintu.add_stream()
            url = self.bintu.add_recording(stream_id, region=("eu", "us", "au")[n % 3])
            snippet = VodStream.objects.create(stream_id=stream_id, title=f"Talk {n}")
            # The other kinds of block show the same recording by its URL.
            snippet.recording_url = url
            snippets.append(snippet)
        if warm:
            for snippet in snippets:
                refresh_snippet(snippet)
        return snippets

    def page(self, kind: str, snippets: list[VodStream]) -> PageRef:
        """A live page of ``kind`` with one block per snippet (or its recording's URL)."""
        urls = [snippet.recording_url for snippet in snippets]
        if kind == "vod":
            values = [{"stream": snippet.pk} for snippet in snippets]
        elif kind == "floor":
            values = [video_tag(url) for url in urls]
        elif kind == "minimal":
            values = [{"url": url, "caption": ""} for url in urls]
        elif kind == "snippet":
            values = [{"video": video.pk} for video in minimal_videos(urls)]
        elif kind == "embed":
            values = embeds(urls)
        else:
            values = media_items(len(urls))
        self._pages += 1
        page = PAGE_MODELS[kind](
            title=f"{kind} {len(values)}",
            slug=f"{kind}-{self._pages}",
            body=[{"type": "video", "value": value} for value in values],
        )
        self.home.add_child(instance=page)
        return PageRef(type(page), page.pk, page.url, len(values))


def minimal_videos(urls: list[str]):
    """A minimal video snippet per URL."""
    return [
        models.MinimalVideo.objects.create(title=f"Talk {n}", url=url)
        for n, url in enumerate(urls)
    ]


def video_tag(url: str) -> str:
    """What the floor stores, and what the embeds are made of."""
    return f'<video src="{url}" controls preload="metadata" playsinline></video>'


def embeds(urls: list[str]) -> list[str]:
    """Embed rows for the URLs, as if a finder had answered once: no finder runs later."""
    for url in urls:
        Embed.objects.update_or_create(
            # The hash EmbedBlock looks up: no max width or height.
            hash=get_embed_hash(url),
            defaults={
                "url": url,
                "type": "video",
                "html": video_tag(url),
                "provider_name": "bench",
                "width": 1280,
                "height": 720,
            },
        )
    return urls


def media_items(count: int) -> list[int]:
    """Video items in wagtailmedia, each with a small MP4 file; their ids."""
    from wagtailmedia.models import get_media_model

    media_model = get_media_model()
    ids = []
    for n in range(count):
        media = media_model(title=f"Clip {n}", type="video", duration=60, width=1280, height=720)
        media.file.save(f"clip{n}.mp4", ContentFile(PLACEHOLDER_MP4), save=False)
        media.save()
        ids.append(media.pk)
    return ids
