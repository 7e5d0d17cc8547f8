"""Which players other sites may embed: those of the VOD blocks of published, public
pages, each by an embed URL of its own.

An embed URL names the page and the embed (the same signed description of stream and
options the player endpoint reads). It answers only while that page is published and
public and one of its VOD blocks is that very embed, stream and options alike: a
description signed on another page (a private one, a draft's preview) shows nothing
here. So every address of an embed is the same one: the page's JSON-LD, the oEmbed
answer and the iframe agree.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import SplitResult

from django.core import signing
from wagtail import blocks
from wagtail.fields import StreamField
from wagtail.models import Page, Site

from .blocks import VodBlock
from .player import PlayerOptions, player_token, read_player_token

#: The size an embed is offered at unless a consumer asks for less: 16:9, as the player.
WIDTH, HEIGHT = 640, 360


@dataclass(frozen=True, slots=True)
class Embed:
    """One VOD block of a page: its page, its block and the block's raw value."""

    page: Page
    block: blocks.Block
    raw: dict


@dataclass(frozen=True, slots=True)
class Embeddable:
    """A player other sites may embed: its page, stream, options and signed description."""

    page: Page
    stream: object  # a VodStream
    options: PlayerOptions
    token: str


def published_page(page_id: int) -> Page | None:
    """The page, specific, if it is live and no view restriction covers it (2 queries)."""
    return Page.objects.live().public().filter(pk=page_id).specific().first()


def page_at(parts: SplitResult, path: str) -> Page | None:
    """The live, public page a URL shows, or None (a fixed number of queries).

    *path* is the URL's path, percent-decoded and without the site's script prefix.
    Found by that path under the root of the site whose address the URL has (the
    default site's for another address, as Wagtail serves such a request): the pages
    Wagtail serves by their path.
    """
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    root_paths = Site.get_site_root_paths()  # cached by Wagtail
    own = f"{parts.scheme}://{parts.netloc}".lower()
    root_path = next((r.root_path for r in root_paths if r.root_url.lower() == own), None)
    if root_path is None:
        # Another address (a proxy's, a port of its own): the default site, as Wagtail
        # serves such a request.
        site = Site.objects.filter(is_default_site=True).select_related("root_page").first()
        if site is None:
            return None
        root_path = site.root_page.url_path
    path = path if path.endswith("/") else path + "/"
    url_path = root_path + path.lstrip("/")
    return Page.objects.live().public().filter(url_path=url_path).specific().first()


def vod_embeds(page: Page) -> Iterator[Embed]:
    """The page's VOD blocks in order, nested ones included, without loading a row."""
    for field in type(page)._meta.concrete_fields:
        if isinstance(field, StreamField):
            raw = list(field.value_from_object(page).raw_data)
            for block, value in _walk(field.stream_block, raw):
                if isinstance(block, VodBlock) and isinstance(value, dict):
                    yield Embed(page, block, value)


def _walk(block, raw) -> Iterator[tuple[blocks.Block, object]]:
    if isinstance(block, VodBlock):
        yield block, raw
    elif isinstance(block, blocks.StreamBlock) and isinstance(raw, list):
        for item in raw:
            if isinstance(item, dict) and item.get("type") in block.child_blocks:
                yield from _walk(block.child_blocks[item["type"]], item.get("value"))
    elif isinstance(block, blocks.ListBlock) and isinstance(raw, list):
        for item in raw:
            # Items are {"type": "item", "value": …, "id": …} since Wagtail 2.16.
            is_item = isinstance(item, dict) and item.get("type") == "item" and "value" in item
            yield from _walk(block.child_block, item["value"] if is_item else item)
    elif isinstance(block, blocks.StructBlock) and isinstance(raw, dict):
        for name, child in block.child_blocks.items():
            yield from _walk(child, raw.get(name))


def embeddable(page_id: int, token: str) -> Embeddable | None:
    """The embed a signed description names on a page, if the page is published and
    public and one of its VOD blocks is exactly that embed; None otherwise."""
    try:
        payload, _options = read_player_token(token)
    except signing.BadSignature:
        return None
    page = published_page(page_id) if "s" in payload else None  # "i": no block's
    if page is None:
        return None
    showing = [e for e in vod_embeds(page) if e.raw.get("stream") == payload["s"]]
    return next((found for found in _resolved(showing) if found.token == token), None)


def first_embed(page: Page) -> Embed | None:
    """The page's first VOD block with a stream: the one its oEmbed answer offers. No query."""
    return next((e for e in vod_embeds(page) if e.raw.get("stream") is not None), None)


def first_embeddable(page: Page) -> Embeddable | None:
    """:func:`first_embed`, resolved."""
    first = first_embed(page)
    return next(iter(_resolved([first])), None) if first is not None else None


def _resolved(embeds: list[Embed]) -> Iterator[Embeddable]:
    """The blocks' values as the page renders them (streams and posters in one query
    each, however many blocks), with their signed descriptions."""
    by_block: dict[int, list[Embed]] = {}
    for embed in embeds:
        by_block.setdefault(id(embed.block), []).append(embed)
    for group in by_block.values():
        block = group[0].block
        for embed, value in zip(group, block.bulk_to_python([e.raw for e in group]), strict=True):
            stream = value.get("stream")
            if stream is not None:
                options = block.options(value)
                yield Embeddable(embed.page, stream, options, player_token(stream, options))


def fitted_size(max_width: int | None, max_height: int | None) -> tuple[int, int]:
    """The embed's size within what the consumer allows, 16:9 kept."""
    width = WIDTH
    if max_width:
        width = min(width, max_width)
    if max_height:
        width = min(width, max_height * WIDTH // HEIGHT)
    width = max(width, 1)
    return width, max(1, width * HEIGHT // WIDTH)
