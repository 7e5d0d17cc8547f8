"""Live now, recording later: one block follows its stream from upcoming to ready.

Each step is what a visitor's tab sees: the state endpoint its script polls, the
player markup the script swaps in, and the page itself. bintu moves the stream on,
a page view queues a refresh, the worker runs it, and the next view shows the news.
"""

import html as htmllib
import json
import re

import pytest

from tests.conftest import TEST_KEY, run_queued_refreshes
from wagtail_nanovod.player import player_token, read_player_token
from wagtail_nanovod.resolver import refresh_snippet

pytestmark = pytest.mark.django_db


@pytest.fixture
def active_stale(bintu, settings):
    """Active streams are stale at once, so every view queues a refresh."""
    settings.WAGTAIL_NANOVOD = {**settings.WAGTAIL_NANOVOD, "ACTIVE_FRESH_SECONDS": 0}
    return bintu


def figure_of(html: str) -> dict:
    """The one player of a page: its data-nanovod-* attributes and inner HTML."""
    ((attrs, inner),) = re.findall(r"<figure ([^>]*)>(.*?)</figure>", html, re.S)
    found = {
        name: htmllib.unescape(value)
        for name, value in re.findall(r'(data-nanovod-[a-z0-9-]+)(?:="([^"]*)")?', attrs)
    }
    return {**found, "inner": inner}


def page_figure(client, page) -> dict:
    response = client.get(page.url)
    assert response.status_code == 200
    html = response.content.decode()
    assert TEST_KEY not in html
    return figure_of(html)


def polled_state(client, stream_id: str) -> dict:
    response = client.get("/nanovod/state/", {"id": stream_id})
    assert response.status_code == 200
    assert TEST_KEY not in response.content.decode()
    return response.json()["streams"][stream_id]


def swapped_in(client, figure: dict) -> dict:
    """What the script puts in place of ``figure`` when its stream changes."""
    response = client.get(figure["data-nanovod-player-url"])
    assert response.status_code == 200
    return figure_of(response.content.decode())


def move_on(client, stream_id: str) -> None:
    """A view finds the snapshot stale and queues a refresh; the worker runs it."""
    polled_state(client, stream_id)
    assert run_queued_refreshes() == [stream_id]


def test_a_block_placed_before_the_event_follows_it_to_the_recording(
    client, active_stale, make_snippet, make_event_page
):
    bintu = active_stale
    snippet = make_snippet(state="created", regions=())
    sid = snippet.stream_id_str
    page = make_event_page([snippet])

    # Before the broadcast: the poster and an "upcoming" message, and the page polls.
    upcoming = page_figure(client, page)
    assert upcoming["data-nanovod-state"] == "upcoming"
    assert upcoming["data-nanovod-poll"] == "15"
    assert upcoming["data-nanovod-state-url"] == "/nanovod/state/"
    assert "has not started yet" in upcoming["inner"]
    assert "<img" in upcoming["inner"]  # bintu's thumbnail as the poster
    assert polled_state(client, sid)["state"] == "upcoming"
    assert run_queued_refreshes() == [sid]  # nothing changed in bintu yet

    # It goes live: the poll serves the snapshot at once, the refresh brings the news.
    bintu.set_state(sid, "live")
    stale = polled_state(client, sid)
    assert stale["state"] == "upcoming"  # served at once, never waiting on bintu
    assert run_queued_refreshes() == [sid]
    live = polled_state(client, sid)
    assert live["state"] == "live"
    assert live["version"] != upcoming["data-nanovod-version"]
    swapped = swapped_in(client, upcoming)
    assert swapped["data-nanovod-state"] == "live"
    assert swapped["data-nanovod-version"] == live["version"]
    live_div = re.search(r'<div class="nanovod__live"([^>]*)>', swapped["inner"]).group(1)
    config = json.loads(
        htmllib.unescape(re.search(r'data-nanovod-h5live="([^"]*)"', live_div).group(1))
    )
    assert config["source"] == {"group": {"id": sid}}
    assert config["playback"] == {"autoplay": True, "muted": True}
    assert 'data-nanovod-h5live-script="https://demo.nanocosmos.de/' in live_div
    assert "<video" not in swapped["inner"]
    assert page_figure(client, page)["data-nanovod-state"] == "live"

    # It ends: the recording is being processed.
    bintu.set_state(sid, "ended")
    move_on(client, sid)
    assert polled_state(client, sid)["state"] == "processing"
    processing = page_figure(client, page)
    assert processing["data-nanovod-state"] == "processing"
    assert "being processed" in processing["inner"]
    assert "data-nanovod-poll" in processing

    # The recording appears: the region-aware player, and the polling stops.
    url = bintu.add_recording(sid, region="us")
    move_on(client, sid)
    assert polled_state(client, sid)["state"] == "ready"
    ready = page_figure(client, page)
    assert ready["data-nanovod-state"] == "ready"
    assert ready["data-nanovod-region"] == "us"
    assert f'<source src="{url}"' in ready["inner"]
    assert "data-nanovod-poll" not in ready
    assert swapped_in(client, processing)["data-nanovod-state"] == "ready"


def test_the_h5live_player_gets_the_group_id_and_never_the_key(
    client, bintu, make_snippet, make_event_page, settings
):
    settings.WAGTAIL_NANOVOD = {
        **settings.WAGTAIL_NANOVOD,
        "H5LIVE_SCRIPT_URL": "https://players.example.com/nanoplayer.js",
    }
    sid = bintu.add_stream(state="live")
    payload = bintu.stream_payload(sid)
    group = "0b0f5b7e-1111-4222-8333-444455556666"
    bintu.set_payload(sid, {**payload, "streamgroup": group})
    from wagtail_nanovod.models import VodStream

    snippet = VodStream.objects.create(stream_id=sid, title="Live")
    refresh_snippet(snippet)
    response = client.get(make_event_page([snippet, snippet]).url)  # twice on a page
    html = response.content.decode()
    assert TEST_KEY not in html
    containers = re.findall(r'<div class="nanovod__live"([^>]*)>', html)
    assert len(containers) == 2
    for attrs in containers:
        config = json.loads(
            htmllib.unescape(re.search(r'data-nanovod-h5live="([^"]*)"', attrs).group(1))
        )
        assert config["source"]["group"]["id"] == group
        assert 'data-nanovod-h5live-script="https://players.example.com/nanoplayer.js"' in attrs
        # The script gives each container its own id: the markup has none to clash.
        assert " id=" not in attrs


def test_the_state_endpoint_answers_only_for_streams_it_knows(client, bintu, make_snippet):
    ready = make_snippet()
    never_checked = bintu.add_stream()
    from wagtail_nanovod.models import VodStream

    VodStream.objects.create(stream_id=never_checked, title="Saved, not checked yet")
    made_up = "00000000-0000-4000-8000-000000000000"
    bintu.reset_requests()
    response = client.get("/nanovod/state/", {"id": [ready.stream_id_str, never_checked, made_up]})
    assert response.status_code == 200
    body = response.json()
    # Only what the page shows: a state and a version, for streams with a snapshot.
    assert body["streams"] == {
        ready.stream_id_str: {
            "state": "ready",
            "version": body["streams"][ready.stream_id_str]["version"],
        }
    }
    assert body["interval"] == 15
    # Asking never reaches bintu, whatever ids a visitor makes up.
    assert bintu.calls() == 0
    cache_control = response["Cache-Control"]
    assert "public" in cache_control and "max-age=7" in cache_control


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"id": "not-a-uuid"},
        {"id": [f"00000000-0000-4000-8000-{n:012d}" for n in range(51)]},
    ],
)
def test_a_bad_state_question_is_a_400_that_says_why(client, db, query):
    response = client.get("/nanovod/state/", query)
    assert response.status_code == 400
    assert response.json()["error"]


def test_the_player_endpoint_renders_only_signed_embeds(client, bintu, make_snippet):
    from wagtail_nanovod.player import PlayerOptions

    snippet = make_snippet()
    token = player_token(snippet, PlayerOptions(caption="Signed"))
    assert read_player_token(token)[1].caption == "Signed"
    good = client.get(f"/nanovod/player/{token}/")
    assert good.status_code == 200
    assert "Signed" in good.content.decode()
    assert good["X-Robots-Tag"] == "noindex"
    forged = token.replace(token.split(":")[0], token.split(":")[0][::-1])
    assert client.get(f"/nanovod/player/{forged}/").status_code == 404
    assert client.get("/nanovod/player/nonsense/").status_code == 404


def test_a_ready_page_has_no_polling_and_no_script(client, bintu, make_snippet, make_event_page):
    figure = page_figure(client, make_event_page([make_snippet()]))
    assert figure["data-nanovod-state"] == "ready"
    assert "data-nanovod-poll" not in figure
    assert "nanovod.js" not in figure["inner"]


def test_without_the_endpoints_installed_the_page_still_renders(
    client, bintu, make_snippet, make_event_page, settings
):
    settings.ROOT_URLCONF = "tests.urls_without_nanovod"
    figure = page_figure(client, make_event_page([make_snippet(state="live", regions=())]))
    assert figure["data-nanovod-state"] == "live"
    assert "data-nanovod-poll" not in figure
    assert "data-nanovod-player-url" not in figure


def test_an_embed_keeps_its_player_url_from_render_to_render(bintu, make_snippet):
    from wagtail_nanovod.player import PlayerOptions

    snippet = make_snippet()
    # The same URL every time, so a cache in front of the endpoint can answer for it.
    first = player_token(snippet, PlayerOptions(caption="Same"))
    assert player_token(snippet, PlayerOptions(caption="Same")) == first
    assert player_token(snippet, PlayerOptions(caption="Other")) != first


def test_a_stream_shown_by_its_id_alone_is_polled_too(client, bintu):
    from wagtail_nanovod.resolver import resolve_bare_ids

    sid = bintu.add_stream(state="live")
    resolve_bare_ids([sid])  # a page showed it through the template tag
    bintu.reset_requests()
    assert polled_state(client, sid)["state"] == "live"
    assert bintu.calls() == 0


def _poll_many(client, ids):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from .counting_cache import CountingCache

    CountingCache.round_trips = 0
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/nanovod/state/", {"id": ids})
    assert response.status_code == 200
    return response.json()["streams"], len(queries), CountingCache.round_trips


def test_a_crowd_polling_an_unchanged_event_costs_no_query_and_one_cache_read(
    client, bintu, make_snippet, counting_default_cache
):
    snippets = [make_snippet(state="live" if n < 10 else "ended") for n in range(50)]
    ids = [s.stream_id_str for s in snippets]
    first, _, _ = _poll_many(client, ids)
    assert len(first) == 50 and sum(v["state"] == "live" for v in first.values()) == 10
    bintu.reset_requests()
    for _ in range(5):
        answer, queries, cache_trips = _poll_many(client, ids)
        assert (answer, queries) == (first, 0) and cache_trips <= 1
    assert bintu.calls() == 0


def test_any_write_of_a_stream_ends_the_remembered_answers(
    client, bintu, make_snippet, counting_default_cache
):
    from wagtail_nanovod.models import VodStream

    kept, moved, gone = (make_snippet(regions=("eu", "us")) for _ in range(3))
    ids = [s.stream_id_str for s in (kept, moved, gone)]
    before, _, _ = _poll_many(client, ids)
    # Writes as another process makes them: straight to the database, nothing in
    # this process's instances.
    VodStream.objects.filter(pk=moved.pk).update(region="au")
    VodStream.objects.filter(pk=gone.pk).delete()
    after, queries, _ = _poll_many(client, ids)
    assert queries > 0
    assert set(after) == {kept.stream_id_str, moved.stream_id_str}
    assert after[kept.stream_id_str] == before[kept.stream_id_str]
    assert after[moved.stream_id_str]["version"] != before[moved.stream_id_str]["version"]


def test_a_remembered_processing_state_ends_with_its_grace_period(
    client, bintu, make_snippet, settings, counting_default_cache
):
    import time

    settings.WAGTAIL_NANOVOD = {**settings.WAGTAIL_NANOVOD, "PROCESSING_GRACE_SECONDS": 1}
    sid = make_snippet(state="ended", regions=()).stream_id_str
    assert _poll_many(client, [sid])[0][sid]["state"] == "processing"
    time.sleep(1.1)
    assert _poll_many(client, [sid])[0][sid]["state"] == "unavailable"
    # Past its grace period the answer no longer changes by itself: remembered again.
    answer, queries, _ = _poll_many(client, [sid])
    assert answer[sid]["state"] == "unavailable" and queries == 0
