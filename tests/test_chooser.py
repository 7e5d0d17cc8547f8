"""The block's stream chooser, as the page editor opens it."""

import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from wagtail_nanovod.models import VodStream

from .conftest import TEST_KEY

pytestmark = pytest.mark.django_db


def chooser_url(name="choose"):
    return reverse(VodStream.snippet_viewset.chooser_viewset.get_url_name(name))


def open_chooser(client, **params):
    """The chooser modal's HTML, as Wagtail's modal workflow receives it."""
    response = client.get(chooser_url(), params)
    assert response.status_code == 200
    html = json.loads(response.content)["html"]
    assert TEST_KEY not in html
    return html


def search(client, **params):
    """The results part of the chooser, as its search box fetches it."""
    response = client.get(chooser_url("choose_results"), params)
    assert response.status_code == 200
    return response.content.decode()


def titles(html):
    """The titles of the registered streams listed (their links choose them)."""
    listed = html.split("In nanoStream, not registered yet")[0]
    return re.findall(r"data-chooser-modal-choice[^>]*>\s*([^<]+?)\s*<", listed)


@pytest.fixture
def streams(bintu, make_snippet):
    keynote = make_snippet(title="Keynote", regions=("us",), tags=["event:opening", "room:A"])
    workshop = make_snippet(title="Keynote rehearsal", regions=())
    live = make_snippet(title="Panel", state="live", regions=())
    return {"keynote": keynote, "workshop": workshop, "live": live}


def test_each_row_tells_the_stream_apart(admin_client, streams, bintu):
    bintu.reset_requests()
    html = open_chooser(admin_client)
    keynote = streams["keynote"]
    (row,) = [row for row in html.split("<tr")[1:] if titles(row) == ["Keynote"]]
    assert 'class="nanovod-thumb"' in row and "/vod/thumbnails/" in row
    assert 'data-nanovod-badge="ready"' in row
    assert "…" + keynote.stream_id_str[-8:] in row
    assert [r.stream_id for r in bintu.requests] == [None]  # the list call only


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("keynote", ["Keynote", "Keynote rehearsal"]),
        ("room:A", ["Keynote"]),
        ("{part}", ["Keynote"]),
        ("{id}", ["Keynote"]),
        ("https://dashboard.nanostream.cloud/stream/{id}", ["Keynote"]),
    ],
    ids=["title", "tag", "part-of-id", "whole-id", "dashboard-url"],
)
def test_a_stream_is_found_by_title_tag_id_or_dashboard_address(
    admin_client, streams, bintu, query, found
):
    stream_id = streams["keynote"].stream_id_str
    q = query.format(id=stream_id, part=stream_id.split("-")[1] + "-" + stream_id.split("-")[2])
    assert sorted(titles(search(admin_client, q=q))) == found
    assert bintu.calls(stream_id) == 1  # make_snippet's only


def test_streams_are_filtered_by_state(admin_client, streams):
    assert titles(search(admin_client, state="live")) == ["Panel"]
    assert sorted(titles(search(admin_client, state="processing"))) == ["Keynote rehearsal"]


def test_a_page_of_results_costs_the_same_queries_for_one_stream_or_fifty(
    admin_client, bintu, make_snippet, poster_image
):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            html = search(admin_client)
        return len(captured), html

    first = make_snippet(title="Talk 0")
    first.poster = poster_image
    first.save()
    alone, html = queries()
    assert titles(html) == ["Talk 0"]
    for n in range(1, 50):
        snippet = make_snippet(title=f"Talk {n:02}")
        if n % 2:
            snippet.poster = poster_image
            snippet.save()
    bintu.reset_requests()
    many, html = queries()
    assert len(titles(html)) == VodStream.snippet_viewset.chooser_viewset.per_page
    assert many == alone
    assert bintu.calls() == 0


# -- straight from nanoStream ------------------------------------------------------------------


@pytest.fixture
def in_nanostream(bintu, streams):
    """Streams of the organisation that nobody registered yet (besides ``streams``)."""
    titled = bintu.add_stream(
        tags=["title:Closing panel", "event:closing"], streamname="AbCdE-closing"
    )
    bare = bintu.add_stream(streamname="bwPrF-oQGWZ")
    bintu.add_recording(bare, region="au")
    return {"titled": titled, "bare": bare}


def test_the_chooser_lists_the_streams_not_registered_yet(admin_client, in_nanostream, streams):
    html = open_chooser(admin_client)
    section = html[html.index("In nanoStream, not registered yet") :]
    rows = dict(re.findall(r'data-nanovod-unregistered="([^"]+)"(.*?)</tr>', section, re.S))
    assert set(rows) == set(in_nanostream.values())  # the registered ones are above
    assert 'value="Closing panel"' in rows[in_nanostream["titled"]]
    # No title in nanoStream: none is made up; the stream name is there as a hint.
    bare = rows[in_nanostream["bare"]]
    assert "bwPrF-oQGWZ" in bare and 'value="bwPrF-oQGWZ"' not in bare
    assert re.search(r'name="title"[^>]*required|required[^>]*name="title"', bare)


def test_choosing_a_stream_from_nanostream_registers_and_chooses_it(
    admin_client, bintu, in_nanostream
):
    sid = in_nanostream["bare"]
    response = admin_client.post(chooser_url("create"), {"stream_id": sid, "title": "Workshop A"})
    answer = json.loads(response.content)
    assert answer["step"] == "chosen"
    stream = VodStream.objects.get(stream_id=sid)
    assert answer["result"]["id"] == str(stream.pk)
    assert (stream.title, stream.status, stream.recording_count) == ("Workshop A", "ready", 1)
    # Chosen again (a double click): the same stream, not a second one.
    again = admin_client.post(chooser_url("create"), {"stream_id": sid, "title": "Workshop A"})
    assert json.loads(again.content)["result"]["id"] == str(stream.pk)
    assert VodStream.objects.filter(stream_id=sid).count() == 1


def test_a_stream_from_nanostream_without_a_title_is_not_registered(admin_client, in_nanostream):
    sid = in_nanostream["bare"]
    response = admin_client.post(chooser_url("create"), {"stream_id": sid, "title": " "})
    answer = json.loads(response.content)
    assert answer["step"] == "reshow_creation_form"
    assert "This field is required" in answer["htmlFragment"]
    assert not VodStream.objects.filter(stream_id=sid).exists()


def test_the_list_from_nanostream_is_kept_a_minute_and_filtered_by_state_and_tag(
    admin_client, bintu, in_nanostream
):
    bintu.reset_requests()
    open_chooser(admin_client)
    open_chooser(admin_client)
    assert bintu.calls() == 1  # one list call; the registered streams cost none
    html = open_chooser(admin_client, nanostream_tag="event:closing")
    asked = [r.query for r in bintu.requests if r.path == "/stream"]
    assert asked[-1]["tags[]"] == ["event:closing"]
    assert in_nanostream["titled"] in html and in_nanostream["bare"] not in html
    open_chooser(admin_client, nanostream_state="live")
    assert [r.query for r in bintu.requests if r.path == "/stream"][-1]["state"] == ["live"]


def test_the_chooser_works_for_registered_streams_when_bintu_cannot_list(
    admin_client, bintu, streams
):
    from wagtail_nanovod.testing import Fault

    bintu.inject(Fault.status(503))
    html = open_chooser(admin_client)
    assert sorted(titles(html)) == ["Keynote", "Keynote rehearsal", "Panel"]
    assert "cannot be listed now: nanoStream had a server error" in html


def test_a_failure_to_list_is_kept_a_moment_so_the_chooser_waits_once(
    admin_client, bintu, streams, settings
):
    import time

    from wagtail_nanovod.testing import Fault

    settings.WAGTAIL_NANOVOD = {**settings.WAGTAIL_NANOVOD, "TIMEOUT": 0.5, "RETRIES": 0}
    bintu.inject(Fault.hang())
    bintu.reset_requests()
    assert "cannot be listed now: nanoStream could not be reached" in open_chooser(admin_client)
    started = time.monotonic()
    html = open_chooser(admin_client)
    assert time.monotonic() - started < 0.4  # no second wait on a hanging bintu
    assert "cannot be listed now" in html and sorted(titles(html))[0] == "Keynote"
    assert len([r for r in bintu.requests if r.path == "/stream"]) == 1
    bintu.release()


def test_a_tag_with_spaces_filters_the_list(admin_client, bintu, streams):
    sid = bintu.add_stream(tags=["room:Hall A", "title:In the hall"])
    html = open_chooser(admin_client, nanostream_tag="room:Hall A")
    assert f'data-nanovod-unregistered="{sid}"' in html
