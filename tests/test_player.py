"""The player as visitors get it: real pages rendered through Wagtail, against the fake bintu."""

import re
from pathlib import Path

import pytest
from django.core.cache import caches
from django.db import connection
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext
from wagtail.images import get_image_model
from wagtail.images.tests.utils import get_test_image_file

from wagtail_nanovod.models import VodStream
from wagtail_nanovod.resolver import refresh_snippet
from wagtail_nanovod.testing import Fault

from .conftest import TEST_KEY, run_queued_refreshes
from .counting_cache import CountingCache

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def render(client, page) -> str:
    response = client.get(page.url)
    assert response.status_code == 200
    html = response.content.decode()
    assert TEST_KEY not in html
    return html


def figures(html):
    """The player roots of a page, each as (attributes dict, inner html).

    The attributes are those that say what is shown (the script's endpoints, the
    version token and the announcement are tested on their own, in test_lifecycle and
    test_browser).
    """
    found = []
    for attrs, inner in re.findall(r"<figure ([^>]*)>(.*?)</figure>", html, re.S):
        shown = dict(re.findall(r'(data-nanovod-[a-z]+)="([^"]*)"', attrs))
        shown.pop("data-nanovod-version", None)
        shown.pop("data-nanovod-announcement", None)
        found.append((shown, inner))
    return found


def test_a_ready_recording_plays_from_its_regions_host(
    client, bintu, make_snippet, make_event_page
):
    snippet = make_snippet(regions=("us",), title="Keynote <day 1>")
    page = make_event_page([snippet], caption="Opening keynote")
    ((attrs, inner),) = figures(render(client, page))
    assert attrs == {
        "data-nanovod-stream": str(snippet.stream_id),
        "data-nanovod-state": "ready",
        "data-nanovod-region": "us",
    }
    video = re.search(r"<video([^>]*)>", inner).group(1)
    for attribute in (
        "controls",
        'preload="metadata"',
        "playsinline",
        'aria-label="Keynote &lt;day 1&gt;"',
    ):
        assert attribute in video
    assert f'poster="{bintu.region_urls["eu"]}/vod/thumbnails/' in video
    sources = re.findall(r'<source src="([^"]+)" type="video/mp4">', inner)
    assert sources[0].startswith(bintu.region_urls["us"] + "/")
    # Failover sources: the same path on the other regions, after the storage region.
    assert {s.split("/")[2] for s in sources[1:]} == {
        bintu.region_urls[r].split("/")[2] for r in ("eu", "au")
    }
    assert re.search(rf'<a href="{re.escape(sources[0])}">Download the recording', inner)
    assert 'class="nanovod__media"' in inner and " style=" not in inner
    assert "<figcaption" in inner and "Opening keynote" in inner
    # The caption comes last in the figure: a script after it is invalid HTML.
    assert inner.rstrip().endswith("</figcaption>")


def _stylesheet_links(html: str) -> list[str]:
    return re.findall(r'<link rel="stylesheet" href="([^"]*nanovod[^"]*)">', html)


def test_a_page_links_the_players_stylesheet_once_however_many_players(
    client, bintu, make_snippet, make_event_page, settings
):
    from django.contrib.staticfiles import finders

    page = make_event_page([make_snippet(title=f"Talk {n}") for n in range(3)])
    html = render(client, page)
    assert len(figures(html)) == 3
    (href,) = _stylesheet_links(html)
    # The look is in the file, not in the markup: no style attributes anywhere.
    assert " style=" not in html.split("<figure", 1)[1]
    stylesheet = Path(finders.find(href.removeprefix(settings.STATIC_URL))).read_text()
    assert "aspect-ratio: 16 / 9" in stylesheet

    settings.WAGTAIL_NANOVOD = {**settings.WAGTAIL_NANOVOD, "STYLESHEET": False}
    assert _stylesheet_links(render(client, page)) == []


def test_the_stylesheet_tag_in_the_head_keeps_the_players_from_linking_it(rf, bintu, make_snippet):
    snippet = make_snippet()
    template = Template(
        "{% load wagtail_nanovod_tags %}<head>{% nanovod_stylesheet %}</head>"
        "{% nanovod_player first %}{% nanovod_player second %}"
    )
    html = template.render(Context({"request": rf.get("/"), "first": snippet, "second": snippet}))
    assert len(_stylesheet_links(html)) == 1
    assert html.index("nanovod.css") < html.index("</head>")


def test_an_explicit_region_moves_the_url_to_that_regions_host(
    client, bintu, make_snippet, make_event_page
):
    snippet = make_snippet(regions=("eu",), region="au")
    ((attrs, inner),) = figures(render(client, make_event_page([snippet])))
    assert attrs["data-nanovod-region"] == "au"
    source = re.search(r'<source src="([^"]+)"', inner).group(1)
    assert source.startswith(bintu.region_urls["au"] + "/")
    # The moved URL is the file's real place: the fake serves it only from there.
    assert bintu.region_urls["eu"] not in source


@pytest.mark.parametrize(
    ("setup", "state", "message"),
    [
        ({"state": "ended", "regions": ()}, "processing", "being processed"),
        ({"state": "live", "regions": ()}, "live", "live now"),
        ({"state": "created", "regions": ()}, "upcoming", "has not started yet"),
        ({"state": "deleted", "regions": ("eu",)}, "unavailable", "not available"),
    ],
)
def test_each_state_without_a_recording_shows_a_clear_message(
    client, make_snippet, make_event_page, setup, state, message
):
    snippet = make_snippet(**setup)
    ((attrs, inner),) = figures(render(client, make_event_page([snippet])))
    assert attrs["data-nanovod-state"] == state
    assert "data-nanovod-region" not in attrs
    assert "<video" not in inner
    assert message in inner
    # The poster (bintu's thumbnail) stays, behind the message.
    assert "/vod/thumbnails/" in inner


def test_a_stream_bintu_does_not_know_is_unavailable(client, bintu, make_event_page):
    snippet = VodStream.objects.create(
        stream_id="00000000-0000-4000-8000-0000000000aa", title="Gone"
    )
    refresh_snippet(snippet)
    ((attrs, inner),) = figures(render(client, make_event_page([snippet])))
    assert attrs["data-nanovod-state"] == "unavailable"
    assert "not available" in inner


def test_bintu_never_reachable_is_unavailable_not_a_500(client, bintu, make_event_page):
    bintu.inject(Fault.status(503))
    snippet = VodStream.objects.create(stream_id=bintu.add_stream(), title="Unlucky")
    page = make_event_page([snippet])
    ((attrs, _inner),) = figures(render(client, page))
    assert attrs["data-nanovod-state"] == "unavailable"


def test_a_hostile_payload_renders_as_unavailable_or_plain_text(client, bintu, make_event_page):
    stream_id = bintu.add_stream()
    payload = bintu.stream_payload(stream_id)
    payload["playout"]["web"] = [{"type": "vod", "url": "javascript:alert(1)", "index": 1}]
    payload["playout"]["thumbnails"] = [
        {"url": 'https://x.nanocosmos.de/"><script>alert(1)</script>'}
    ]
    bintu.set_payload(stream_id, payload)
    snippet = VodStream.objects.create(stream_id=stream_id, title="<script>alert('t')</script>")
    refresh_snippet(snippet)
    html = render(client, make_event_page([snippet]))
    ((attrs, _inner),) = figures(html)
    # Recordings listed, none that may be played: unavailable, not "processing".
    assert attrs["data-nanovod-state"] == "unavailable"
    assert "javascript:" not in html
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#x27;t&#x27;)&lt;/script&gt;" in html


def test_the_editors_options_reach_the_video(client, bintu, make_snippet, make_event_page):
    snippet = make_snippet(regions=("eu",))
    page = make_event_page([snippet], autoplay=True, loop=True, controls=False, start_time=90)
    ((_attrs, inner),) = figures(render(client, page))
    video = re.search(r"<video([^>]*)>", inner).group(1)
    assert " autoplay" in video and " muted" in video and " loop" in video
    # Autoplay without controls would leave a visitor no way to pause: controls stay.
    assert " controls" in video
    sources = re.findall(r'<source src="([^"]+)"', inner)
    assert len(sources) == 3
    # Every source starts there, so a failover source does too.
    assert all(source.endswith(".mp4#t=90") for source in sources)


def test_controls_can_be_turned_off_without_autoplay(client, make_snippet, make_event_page):
    page = make_event_page([make_snippet()], controls=False)
    ((_attrs, inner),) = figures(render(client, page))
    assert " controls" not in re.search(r"<video([^>]*)>", inner).group(1)


def test_a_chosen_recording_plays_instead_of_the_latest(
    client, bintu, make_snippet, make_event_page
):
    snippet = make_snippet(regions=("eu", "us", "au"))
    ((_, latest),) = figures(render(client, make_event_page([snippet], slug="latest")))
    ((attrs, chosen),) = figures(
        render(client, make_event_page([snippet], slug="chosen", recording=1))
    )
    assert re.search(r'<source src="[^"]+-3\.mp4"', latest)
    assert re.search(r'<source src="[^"]+-1\.mp4"', chosen)
    assert attrs["data-nanovod-region"] == "eu"
    ((attrs, _missing),) = figures(
        render(client, make_event_page([snippet], slug="missing", recording=9))
    )
    assert attrs["data-nanovod-state"] == "unavailable"


def test_posters_the_block_overrides_the_snippet_overrides_bintu(
    client, make_snippet, make_event_page
):
    Image = get_image_model()
    snippet_poster = Image.objects.create(title="snippet", file=get_test_image_file("snippet.png"))
    block_poster = Image.objects.create(title="block", file=get_test_image_file("block.png"))
    snippet = make_snippet()
    snippet.poster = snippet_poster
    snippet.save()
    with_snippet_poster = render(client, make_event_page([snippet], slug="a"))
    assert re.search(r'poster="/media/images/snippet[^"]*\.jpg"', with_snippet_poster)
    with_block_poster = render(
        client, make_event_page([snippet], slug="b", poster=block_poster.pk)
    )
    assert re.search(r'poster="/media/images/block[^"]*\.jpg"', with_block_poster)


def _costs(client, page):
    CountingCache.round_trips = 0
    with CaptureQueriesContext(connection) as queries:
        render(client, page)
    return len(queries), CountingCache.round_trips


def test_many_blocks_cost_what_one_costs(
    client, bintu, make_snippet, make_event_page, counting_default_cache
):
    Image = get_image_model()
    snippets = [make_snippet(title=f"Talk {n}") for n in range(20)]
    for snippet in snippets:
        snippet.poster = Image.objects.create(title="p", file=get_test_image_file())
        snippet.save()
    one = make_event_page(snippets[:1], slug="one")
    twenty = make_event_page(snippets, slug="twenty")
    for _ in range(2):  # warm: renditions made, then the rows that show them reloaded
        render(client, one), render(client, twenty)
    bintu.reset_requests()
    assert _costs(client, one) == _costs(client, twenty)
    assert bintu.calls() == 0


def _render_body(page_id):
    from tests.testapp.models import EventPage

    page = EventPage.objects.get(pk=page_id)  # fresh, as for every request
    template = Template("{% load wagtailcore_tags %}{% include_block page.body %}")
    with CaptureQueriesContext(connection) as queries:
        html = template.render(Context({"page": page}))
    return html, len(queries)


def test_a_stream_changed_by_another_process_shows_its_change_at_the_next_render(
    bintu, make_snippet, make_event_page
):
    snippets = [make_snippet(title=f"Talk {n}") for n in range(5)]
    page_id = make_event_page(snippets).pk
    _render_body(page_id)
    # A write that never went through this process's instances, as another process's.
    VodStream.objects.filter(pk=snippets[2].pk).update(title="Talk two, renamed")
    html, queries = _render_body(page_id)
    assert "Talk two, renamed" in html
    assert queries == 2  # the versions, then the one row that changed
    html, queries = _render_body(page_id)
    assert "Talk two, renamed" in html and queries == 1


def test_an_edited_poster_shows_at_the_next_render(bintu, make_snippet, make_event_page):
    image = get_image_model().objects.create(title="p", file=get_test_image_file())
    snippet = make_snippet()
    snippet.poster = image
    snippet.save()
    page_id = make_event_page([snippet]).pk
    before = re.search(r'poster="([^"]+)"', _render_body(page_id)[0]).group(1)
    image.focal_point_x, image.focal_point_y = 10, 10
    image.focal_point_width = image.focal_point_height = 5
    image.save()
    after = re.search(r'poster="([^"]+)"', _render_body(page_id)[0]).group(1)
    assert after != before and after.startswith("/media/images/")
    # Renditions purged (wagtail_update_image_renditions --purge-only): made again.
    image.renditions.all().delete()
    purged = re.search(r'poster="([^"]+)"', _render_body(page_id)[0]).group(1)
    assert [r.url for r in image.renditions.all()] == [purged]
    image.delete()
    assert 'poster="/media' not in _render_body(page_id)[0]


def test_the_template_tag_takes_a_snippet_or_a_stream_id(bintu, make_snippet):
    snippet = make_snippet(regions=("us",), title="Tagged")
    template = Template(
        "{% load wagtail_nanovod_tags %}"
        "{% nanovod_player snippet caption='Hello' %}|{% nanovod_player stream_id %}"
        "|{% nanovod_player other_id %}|{% nanovod_player '../organisation' %}"
    )
    other_id = bintu.add_stream(state="live")
    html = template.render(
        Context({"snippet": snippet, "stream_id": str(snippet.stream_id), "other_id": other_id})
    )
    by_snippet, by_id, bare, invalid = html.split("|")
    assert 'data-nanovod-region="us"' in by_snippet and "Hello" in by_snippet
    assert 'data-nanovod-region="us"' in by_id and 'aria-label="Tagged"' in by_id
    assert f'data-nanovod-stream="{other_id}" data-nanovod-state="live"' in bare
    assert 'data-nanovod-state="unavailable"' in invalid
    assert TEST_KEY not in html


def test_a_stale_snapshot_is_served_at_once_and_refreshed_in_the_background(
    client, bintu, make_snippet, make_event_page
):
    snippet = make_snippet(state="live", regions=())
    page = make_event_page([snippet])
    assert figures(render(client, page))[0][0]["data-nanovod-state"] == "live"
    bintu.set_state(snippet.stream_id_str, "ended")
    bintu.add_recording(snippet.stream_id_str, region="us")
    VodStream.objects.update(fresh_until=None)
    caches["default"].clear()
    bintu.reset_requests()
    # Stale: the visitor gets the snapshot now, and bintu is not asked in the render.
    assert figures(render(client, page))[0][0]["data-nanovod-state"] == "live"
    assert bintu.calls() == 0
    assert run_queued_refreshes() == [snippet.stream_id_str]
    assert VodStream.objects.get().status == "ready"
    assert figures(render(client, page))[0][0]["data-nanovod-region"] == "us"

    VodStream.objects.update(fresh_until=None)
    caches["default"].clear()
    bintu.inject(Fault.status(500))
    assert figures(render(client, page))[0][0]["data-nanovod-region"] == "us"
    run_queued_refreshes()
    stored = VodStream.objects.get()
    assert (stored.status, stored.last_error) == ("ready", "server_error")
    assert figures(render(client, page))[0][0]["data-nanovod-region"] == "us"


def test_the_api_representation_gives_the_resolved_playback(bintu, make_snippet, make_event_page):
    snippet = make_snippet(regions=("au",), title="API talk")
    page = make_event_page([snippet], caption="Cap", start_time=5)
    block = page.body[0]
    data = block.block.get_api_representation(block.value)
    assert data["stream_id"] == str(snippet.stream_id)
    assert (data["state"], data["region"], data["title"]) == ("ready", "au", "API talk")
    assert data["url"].startswith(bintu.region_urls["au"] + "/")
    assert len(data["alternate_urls"]) == 2
    assert data["poster"].endswith(".jpg")
    assert data["recording"]["index"] == 1
    assert data["recording"]["created_at"]
    assert (data["caption"], data["start_time"]) == ("Cap", 5)


def test_loading_or_saving_a_page_asks_nothing_of_bintu_only_showing_it_does(
    client, bintu, make_snippet, make_event_page
):
    snippet = make_snippet(regions=("eu",))
    page = make_event_page([snippet])
    VodStream.objects.update(fresh_until=None)
    caches["default"].clear()
    bintu.reset_requests()
    page = type(page).objects.get(pk=page.pk)
    assert page.body[0].value["stream"].title == snippet.title
    page.save_revision().publish()
    assert bintu.calls() == 0
    render(client, page)
    assert run_queued_refreshes() == [snippet.stream_id_str]
    assert bintu.calls() == 1


def test_a_bare_stream_id_keeps_its_own_snapshot_through_a_cache_flush(bintu):
    from wagtail_nanovod.models import StreamSnapshot

    stream_id = bintu.add_stream()
    bintu.add_recording(stream_id, region="us")
    template = Template("{% load wagtail_nanovod_tags %}{% nanovod_player stream_id %}")
    first = template.render(Context({"stream_id": stream_id}))
    assert 'data-nanovod-region="us"' in first
    assert StreamSnapshot.objects.filter(stream_id=stream_id).exists()

    # The cache is gone and bintu is down: the row still knows the recording.
    caches["default"].clear()
    bintu.inject(Fault.status(503))
    StreamSnapshot.objects.update(fresh_until=None)
    written = StreamSnapshot.objects.get().updated_at
    again = template.render(Context({"stream_id": stream_id}))
    assert 'data-nanovod-region="us"' in again
    run_queued_refreshes()
    row = StreamSnapshot.objects.get()
    assert row.snapshot.stream.latest_recording is not None
    assert row.snapshot.error == "server_error"
    assert row.updated_at > written  # the refresh wrote it, and says when


def test_a_remembered_player_follows_every_change_of_its_stream_and_the_settings(
    client, bintu, make_snippet, make_event_page, settings
):
    snippet = make_snippet(regions=("eu",), title="Before")
    page = make_event_page([snippet])
    assert 'aria-label="Before"' in render(client, page)
    VodStream.objects.filter(pk=snippet.pk).update(title="After", region="us")
    html = render(client, page)
    assert 'aria-label="After"' in html
    assert re.search(rf'<source src="{re.escape(bintu.region_urls["us"])}/', html)
    assert len(re.findall("<source ", html)) == 3
    # Two regions left: one failover source fewer, though nothing on the row changed.
    settings.WAGTAIL_NANOVOD = {
        **settings.WAGTAIL_NANOVOD,
        "REGIONS": {region: bintu.region_urls[region] for region in ("eu", "us")},
    }
    assert len(re.findall("<source ", render(client, page))) == 2
    # A rule narrowed so that the stored URL may no longer be played: not played, at
    # once, whatever the snapshot stored before (no refresh in between).
    bintu.reset_requests()
    settings.WAGTAIL_NANOVOD = {
        **settings.WAGTAIL_NANOVOD,
        "REGIONS": {"eu": "https://eu.example", "us": "https://us.example"},
        "PLAYBACK_HOSTS": ["*.example"],
    }
    html = render(client, page)
    assert "<source " not in html and bintu.region_urls["us"] not in html
    assert 'data-nanovod-state="unavailable"' in html
    assert bintu.calls() == 0


def test_a_warm_streamfield_costs_one_query_and_no_cache_trip_for_its_blocks(
    bintu, make_snippet, make_event_page, counting_default_cache
):
    from tests.testapp.models import EventPage

    snippets = [
        make_snippet(title=f"Talk {n}", regions=(("eu", "us", "au")[n % 3],)) for n in range(12)
    ]
    page_id = make_event_page(snippets).pk
    template = Template("{% load wagtailcore_tags %}{% include_block page.body %}")
    for _ in range(2):  # the second time with the players remembered
        page = EventPage.objects.get(pk=page_id)
        bintu.reset_requests()
        CountingCache.round_trips = 0
        with CaptureQueriesContext(connection) as queries:
            html = template.render(Context({"page": page}))
        assert html.count('data-nanovod-state="ready"') == 12
        assert (len(queries), CountingCache.round_trips, bintu.calls()) == (1, 0, 0)


def test_a_poster_from_the_sites_images_has_a_srcset_and_may_be_fetched_first(
    client, bintu, make_snippet, make_event_page
):
    image = get_image_model().objects.create(title="p", file=get_test_image_file(size=(1600, 900)))
    ready = make_snippet()
    processing = make_snippet(state="ended", regions=())
    first = render(client, make_event_page([ready], poster=image.pk, poster_priority=True))
    # <video poster> takes one URL: it is preloaded, first.
    preload = re.search(
        r'<link rel="preload" as="image" href="([^"]+)" fetchpriority="high">', first
    )
    assert preload and f'poster="{preload.group(1)}"' in first
    behind = render(client, make_event_page([processing], slug="p", poster=image.pk))
    img = re.search(r"<img ([^>]*)>", behind).group(1)
    widths = re.findall(r"\.(?:jpg|jpeg) (\d+)w", img)
    assert widths == ["640", "1280"] and 'sizes="100vw"' in img
    assert "fetchpriority" not in img  # only when asked
    plain = render(client, make_event_page([ready], slug="r", poster=image.pk))
    assert 'rel="preload"' not in plain


def test_a_clip_plays_from_its_start_to_its_end(client, bintu, make_snippet, make_event_page):
    import json

    stream_id = bintu.add_stream(state="ended")
    bintu.add_recording(stream_id, region="us", extra={"duration": 3600})
    snippet = VodStream.objects.create(stream_id=stream_id, title="Day one")
    refresh_snippet(snippet)
    html = render(client, make_event_page([snippet], start_time=1800, end_time=2700))
    sources = re.findall(r'<source src="([^"]+)"', html)
    assert sources and all(src.endswith("#t=1800,2700") for src in sources)
    video = re.search(r"<video([^>]*)>", html).group(1)
    assert 'data-nanovod-start="1800"' in video and 'data-nanovod-end="2700"' in video
    assert "nanovod.js" in html  # the script stops browsers that ignore the fragment's end
    data = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', html)[1])
    assert data["duration"] == "PT15M"
    assert data["hasPart"] == {
        "@type": "Clip",
        "name": "Day one",
        "startOffset": 1800,
        "endOffset": 2700,
    }
    # The browser's controls show the recording's hour: the clip's part is in words.
    assert '<p class="nanovod__clip">Clip: 30:00 to 45:00 (15:00)</p>' in html


def test_the_pages_preview_shows_the_clip(bintu, make_snippet, make_event_page):
    page = make_event_page([make_snippet()], start_time=2, end_time=4)
    # What the editor's preview panel shows: the page rendered in preview mode.
    html = page.make_preview_request().content.decode()
    sources = re.findall(r'<source src="([^"]+)"', html)
    assert sources and all(src.endswith("#t=2,4") for src in sources)
    assert "Clip: 0:02 to 0:04 (0:02)" in html
