"""Embeds other sites can use: the embed page, the oEmbed endpoint, the discovery link.

Through the URLs a partner's CMS and browser use: a published page's URL, the oEmbed
answer for it, the iframe's address in that answer, and what that address serves. The
proof with a client nobody here wrote (Wagtail's own oEmbed finder, on a second site, in
Chromium) is tests/test_partner_embed.py.
"""

from __future__ import annotations

import html as html_module
import json
import re
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from wagtail.models import PageViewRestriction

from .conftest import TEST_KEY

pytestmark = pytest.mark.django_db


def oembed(client, url: str, **params):
    return client.get("/nanovod/oembed/?" + urlencode({"url": url, **params}))


def embed_url_of(client, page_url: str) -> str:
    """The iframe's address in the oEmbed answer for a page."""
    response = oembed(client, page_url)
    assert response.status_code == 200, response.content
    return re.search(r'<iframe src="([^"]+)"', response.json()["html"])[1]


def discovery_link(html: str) -> str | None:
    found = re.search(
        r'<link rel="alternate" type="application/json\+oembed" href="([^"]+)"', html
    )
    return html_module.unescape(found[1]) if found else None


def test_a_published_recording_is_embedded_through_its_pages_oembed_answer(
    client, make_snippet, make_event_page, bintu
):
    snippet = make_snippet(title="Keynote")
    page = make_event_page([snippet])
    page_html = client.get(page.url).content.decode()
    # The page says where its oEmbed answer is, as CMSs look for it.
    endpoint = discovery_link(page_html)
    assert endpoint == "http://testserver/nanovod/oembed/?" + urlencode(
        {"url": "http://testserver" + page.url, "format": "json"}
    )
    answer = client.get(endpoint).json()
    assert answer["version"] == "1.0"
    assert answer["type"] == "video"
    assert answer["title"] == "Keynote"
    assert answer["provider_name"] == "wagtail-nanovod tests"
    assert answer["provider_url"] == "http://testserver/"
    assert (answer["width"], answer["height"]) == (640, 360)
    assert answer["cache_age"] == 300  # consumers that keep answers let this one go
    iframe = re.fullmatch(
        r'<iframe src="([^"]+)" width="640" height="360" title="Keynote" '
        r'allow="autoplay; fullscreen; picture-in-picture"></iframe>',
        answer["html"],
    )
    assert iframe, answer["html"]
    # nanoStream's thumbnail, absolute; its size is not known, so none is claimed.
    assert answer["thumbnail_url"].startswith(bintu.region_urls["eu"].rsplit(":", 1)[0])
    assert "thumbnail_width" not in answer
    # The same address as the page's JSON-LD gives search engines.
    (data,) = [
        json.loads(block)
        for block in re.findall(r'<script type="application/ld\+json">(.*?)</script>', page_html)
    ]
    assert data["embedUrl"] == iframe[1]

    embed = client.get(iframe[1])
    assert embed.status_code == 200
    body = embed.content.decode()
    assert TEST_KEY not in body
    # The same player the page shows, in a page of its own that any site may frame.
    assert re.findall(r'<source src="([^"]+)"', body) == re.findall(
        r'<source src="([^"]+)"', page_html
    )
    assert "<title>Keynote</title>" in body
    assert 'rel="stylesheet"' in body
    assert "frame-ancestors *" in embed["Content-Security-Policy"]
    assert "'unsafe-inline'" not in embed["Content-Security-Policy"]
    assert "X-Frame-Options" not in embed
    assert client.get(page.url)["X-Frame-Options"] == "DENY"  # the page itself is not framed
    assert "public" in embed["Cache-Control"]
    assert embed["X-Robots-Tag"] == "noindex"
    # The embed URL is an oEmbed URL too.
    assert oembed(client, iframe[1]).json() == answer


def test_the_embed_plays_the_clip_and_the_poster_the_page_shows(
    client, make_snippet, make_event_page, poster_image
):
    snippet = make_snippet(title="Day one")
    page = make_event_page(
        [snippet], start_time=120, end_time=240, poster=poster_image.pk, caption="The keynote"
    )
    answer = oembed(client, "http://testserver" + page.url).json()
    assert answer["title"] == "The keynote"
    assert answer["thumbnail_url"].startswith("http://testserver/")
    assert (answer["thumbnail_width"], answer["thumbnail_height"]) == (1280, 720)
    body = client.get(re.search(r'src="([^"]+)"', answer["html"])[1]).content.decode()
    sources = re.findall(r'<source src="([^"]+)"', body)
    assert sources and all(src.endswith("#t=120,240") for src in sources)
    assert 'data-nanovod-end="240"' in body


@pytest.mark.parametrize(
    ("params", "size"),
    [
        ({"maxwidth": "320"}, (320, 180)),
        ({"maxheight": "90"}, (160, 90)),
        ({"maxwidth": "2000", "maxheight": "2000"}, (640, 360)),
        ({"maxwidth": "nonsense", "maxheight": "-5"}, (640, 360)),
    ],
)
def test_the_size_fits_what_the_consumer_allows(
    client, make_snippet, make_event_page, params, size
):
    page = make_event_page([make_snippet()])
    answer = oembed(client, "http://testserver" + page.url, **params).json()
    assert (answer["width"], answer["height"]) == size
    assert f'width="{size[0]}" height="{size[1]}"' in answer["html"]


def test_xml_is_not_offered(client, make_snippet, make_event_page):
    page = make_event_page([make_snippet()])
    assert oembed(client, "http://testserver" + page.url, format="xml").status_code == 501


def _restricted(page):
    PageViewRestriction.objects.create(
        page=page, restriction_type=PageViewRestriction.PASSWORD, password="s3cret"
    )
    return page


def _unpublished(page):
    page.unpublish()
    return page


def _without_the_stream(page):
    page.body = []
    page.save_revision().publish()
    return page


@pytest.mark.parametrize(
    "make_unembeddable",
    [_restricted, _unpublished, _without_the_stream],
    ids=["private", "unpublished", "stream removed"],
)
def test_only_published_public_pages_are_embeddable(
    client, make_snippet, make_event_page, make_unembeddable
):
    page = make_event_page([make_snippet()])
    page_url = "http://testserver" + page.url
    embed_url = embed_url_of(client, page_url)
    make_unembeddable(page)
    for response in (oembed(client, page_url), oembed(client, embed_url), client.get(embed_url)):
        assert response.status_code == 404
        assert b"nanoStream" not in response.content and TEST_KEY.encode() not in response.content


def test_a_draft_is_not_embeddable(client, make_snippet, make_event_page):
    from tests.testapp.models import EventPage

    root = make_event_page([], slug="root-for-draft")
    draft = EventPage(
        title="Draft",
        slug="draft",
        live=False,
        body=[{"type": "vod", "value": {"stream": make_snippet().pk}}],
    )
    root.add_child(instance=draft)
    draft.save_revision()  # never published
    assert oembed(client, "http://testserver/root-for-draft/draft/").status_code == 404
    # Its preview shows the player, and names no embed that could work.
    preview = draft.make_preview_request().content.decode()
    assert "<video" in preview
    assert "embedUrl" not in preview and "/nanovod/embed/" not in preview


@pytest.mark.parametrize(
    "url",
    [
        "http://testserver/no-such-page/",
        "http://testserver/nanovod/embed/1/not-a-signed-embed/",
        "http://testserver/nanovod/state/",
        "javascript:alert(1)",
        "http://[::1/event/",  # urlsplit raises on these two
        "https://exa\uff03mple.com/event/",
        "ftp://testserver/event/",
        "",
        "http://testserver/" + "x" * 3000,
    ],
)
def test_anything_else_is_a_bare_404(client, make_snippet, make_event_page, url):
    make_event_page([make_snippet()])
    response = oembed(client, url)
    assert response.status_code == 404


def test_an_embed_signed_for_another_page_is_not_served(client, make_snippet, make_event_page):
    shown = make_event_page([make_snippet()], slug="shown")
    other = make_event_page([make_snippet()], slug="other")
    embed_url = embed_url_of(client, "http://testserver" + shown.url)
    # The same signed embed under the id of a page that does not show its stream.
    moved = embed_url.replace(f"/embed/{shown.pk}/", f"/embed/{other.pk}/")
    assert client.get(moved).status_code == 404


def test_pages_without_a_recording_and_sites_without_embeds_link_to_nothing(
    client, make_snippet, make_event_page, settings
):
    assert (
        discovery_link(client.get(make_event_page([], slug="empty").url).content.decode()) is None
    )
    page = make_event_page([make_snippet()])
    settings.WAGTAIL_NANOVOD = {**settings.WAGTAIL_NANOVOD, "EMBEDS": False}
    html = client.get(page.url).content.decode()
    assert discovery_link(html) is None
    assert "embedUrl" not in html
    assert oembed(client, "http://testserver" + page.url).status_code == 404


def test_who_may_frame_the_embed_is_a_setting(client, make_snippet, make_event_page, settings):
    page = make_event_page([make_snippet()])
    embed_url = embed_url_of(client, "http://testserver" + page.url)
    settings.WAGTAIL_NANOVOD = {
        **settings.WAGTAIL_NANOVOD,
        "EMBED_FRAME_ANCESTORS": ["https://partner.example"],
    }
    policy = client.get(embed_url)["Content-Security-Policy"]
    assert "frame-ancestors https://partner.example;" in policy + ";"


def test_a_live_embed_follows_the_stream_as_the_page_does(client, make_snippet, make_event_page):
    page = make_event_page([make_snippet(state="live", regions=())])
    body = client.get(embed_url_of(client, "http://testserver" + page.url)).content.decode()
    assert 'data-nanovod-state="live"' in body
    assert 'data-nanovod-state-url="/nanovod/state/"' in body  # polled, swapped in place
    assert "nanovod.js" in body


def test_the_endpoints_cost_the_same_queries_for_one_block_or_twelve(
    client, make_snippet, make_event_page
):
    def costs(page) -> tuple[int, int]:
        page_url = "http://testserver" + page.url
        embed_url = embed_url_of(client, page_url)  # warms what Wagtail caches
        with CaptureQueriesContext(connection) as asked:
            assert oembed(client, page_url).status_code == 200
        with CaptureQueriesContext(connection) as served:
            assert client.get(embed_url).status_code == 200
        return len(asked), len(served)

    one = costs(make_event_page([make_snippet()], slug="one"))
    many = costs(make_event_page([make_snippet() for _ in range(12)], slug="many"))
    assert one == many
    # oEmbed: the default site (testserver is no site's host), the view restrictions,
    # the page (2: base, specific), its first block's stream; the embed page the same,
    # without the site.
    assert one == (5, 4)


def test_a_page_with_a_non_ascii_slug_is_found_by_the_url_wagtail_gives_it(
    client, make_snippet, make_event_page
):
    page = make_event_page([make_snippet()], slug="über-uns")
    assert "%C3%BC" in page.url  # percent-encoded, as Wagtail writes it
    html = client.get(page.url).content.decode()
    answer = client.get(discovery_link(html)).json()
    assert client.get(re.search(r'src="([^"]+)"', answer["html"])[1]).status_code == 200


def test_an_embed_signed_with_other_options_is_not_served(client, make_snippet, make_event_page):
    snippet = make_snippet()
    public = make_event_page([snippet], slug="public")
    # The same stream on a private page, with a clip and a caption of its own.
    private = _restricted(
        make_event_page([snippet], slug="private", start_time=1, end_time=2, caption="Secret")
    )
    public_embed = embed_url_of(client, "http://testserver" + public.url)
    private_token = _player_token_of(client.get(private.url, follow=True))
    assert private_token is None  # a private page shows its password form, not the player
    # Rendered by someone who may see it, its embed description is still not the public
    # page's: signed for other options, it shows nothing under the public page's id.
    from wagtail_nanovod.player import PlayerOptions, player_token

    other = player_token(snippet, PlayerOptions(caption="Secret", start_time=1, end_time=2))
    forged = public_embed.rsplit("/", 2)[0] + f"/{other}/"
    assert client.get(forged).status_code == 404
    assert oembed(client, forged).status_code == 404
    assert client.get(public_embed).status_code == 200


def _player_token_of(response):
    found = re.search(
        r'data-nanovod-player-url="/nanovod/player/([^/"]+)/"', response.content.decode()
    )
    return found[1] if found else None


def test_static_files_and_images_from_a_cdn_are_allowed_by_the_embeds_policy(
    client, make_snippet, make_event_page, settings
):
    page = make_event_page([make_snippet()])
    embed_url = embed_url_of(client, "http://testserver" + page.url)
    settings.STATIC_URL = "https://static.example/assets/"
    settings.MEDIA_URL = "https://media.example/"
    response = client.get(embed_url)
    policy = dict(part.split(" ", 1) for part in response["Content-Security-Policy"].split("; "))
    assert "https://static.example" in policy["style-src"].split()
    assert "https://static.example" in policy["script-src"].split()
    assert "https://media.example" in policy["img-src"].split()
    assert 'href="https://static.example/assets/wagtail_nanovod/nanovod.css"' in (
        response.content.decode()
    )
