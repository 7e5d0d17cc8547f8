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
    return re.findall(r"data-chooser-modal-choice[^>]*>\s*([^<]+?)\s*<", html)


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
    assert keynote.stream_id_str.split("-")[0] in row
    assert bintu.calls() == 0


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
