"""Click to load: a facade that loads nothing from nanoStream until the visitor asks."""

import re

import pytest

from tests.conftest import TEST_KEY

pytestmark = pytest.mark.django_db

# Attributes that make a browser fetch something (or go somewhere) by themselves.
FETCHING = r'(?:src|poster|href|srcset|data-nanovod-h5live-script)="([^"]*)"'


def nanostream_urls(html: str, bintu) -> list[str]:
    """URLs in fetching attributes that point at any host of the (fake) nanoStream."""
    hosts = [bintu.api_url, *bintu.region_urls.values()]
    return [
        url
        for url in re.findall(FETCHING, html)
        if any(url.startswith(host) for host in hosts) or "nanocosmos" in url
    ]


def page_html(client, page) -> str:
    html = client.get(page.url).content.decode()
    assert TEST_KEY not in html
    return html


@pytest.fixture
def click_to_load(settings, bintu):
    settings.WAGTAIL_NANOVOD = {**settings.WAGTAIL_NANOVOD, "CLICK_TO_LOAD": True}
    return bintu


@pytest.mark.parametrize("setup", [{}, {"state": "live", "regions": ()}])
def test_the_facade_asks_nothing_of_nanostream_until_the_click(
    client, click_to_load, make_snippet, make_event_page, setup
):
    bintu = click_to_load
    snippet = make_snippet(title="Keynote", **setup)
    html = page_html(client, make_event_page([snippet]))
    assert "data-nanovod-facade" in html
    assert re.search(r'<button type="button" class="nanovod__play" data-nanovod-load', html)
    assert 'aria-label="Play: Keynote"' in html
    assert "<video" not in html and "nanovod__live" not in html
    assert nanostream_urls(html, bintu) == []
    # The bintu thumbnail is a nanoStream URL too: without a poster of its own, none.
    assert "<img" not in html

    # The click: the player endpoint answers with the real player, playing.
    url = re.search(r'data-nanovod-player-url="([^"]*)"', html).group(1)
    played = client.get(url + "?play=1").content.decode()
    assert "data-nanovod-facade" not in played
    if "state" in setup:
        assert "nanovod__live" in played
    else:
        assert re.search(r"<video[^>]* autoplay", played)
        assert " muted" not in played  # the visitor pressed play: with sound
    assert nanostream_urls(played, bintu)


def test_the_facade_shows_the_sites_own_poster(
    client, click_to_load, make_snippet, make_event_page, poster_image
):
    snippet = make_snippet()
    snippet.poster = poster_image
    snippet.save()
    html = page_html(client, make_event_page([snippet]))
    (src,) = re.findall(r'<img [^>]*src="([^"]*)"', html)
    assert src.startswith("/media/images/")
    assert nanostream_urls(html, click_to_load) == []


def test_a_block_can_turn_it_on_or_off_against_the_site(
    client, bintu, make_snippet, make_event_page, settings
):
    snippet = make_snippet()
    on = page_html(client, make_event_page([snippet], slug="on", click_to_load="on"))
    assert "data-nanovod-facade" in on and "<video" not in on
    settings.WAGTAIL_NANOVOD = {**settings.WAGTAIL_NANOVOD, "CLICK_TO_LOAD": True}
    off = page_html(client, make_event_page([snippet], slug="off", click_to_load="off"))
    assert "data-nanovod-facade" not in off and "<video" in off
    default = page_html(client, make_event_page([snippet], slug="default"))
    assert "data-nanovod-facade" in default


def test_states_with_nothing_to_play_show_their_message_without_nanostream(
    client, click_to_load, make_snippet, make_event_page
):
    html = page_html(client, make_event_page([make_snippet(regions=())]))
    assert "being processed" in html
    assert "data-nanovod-facade" not in html
    assert nanostream_urls(html, click_to_load) == []
