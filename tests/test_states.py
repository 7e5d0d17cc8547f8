"""Honest states: what a stream with nothing to play says, to visitors, editors and the
report, and how often it is asked about again.
"""

import logging
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import caches
from django.urls import reverse

from wagtail_nanovod.models import VodStream
from wagtail_nanovod.resolver import refresh_snippet

from .conftest import TEST_KEY

pytestmark = pytest.mark.django_db

GRACE = 3600


def shown(client, page) -> dict:
    """The player's attributes and message on the page."""
    response = client.get(page.url)
    assert response.status_code == 200
    html = response.content.decode()
    assert TEST_KEY not in html
    attrs = dict(re.findall(r'(data-nanovod-[a-z-]+)="([^"]*)"', html))
    message = re.search(r'<p class="nanovod__message"[^>]*>(.*?)</p>', html, re.S)
    return {**attrs, "message": message.group(1).strip() if message else ""}


def seconds_fresh(snippet) -> float:
    snippet.refresh_from_db()
    return (snippet.fresh_until - datetime.now(UTC)).total_seconds()


def test_an_ended_stream_without_a_recording_is_processing_only_for_the_grace_period(
    client, bintu, make_snippet, make_event_page
):
    snippet = make_snippet(regions=())
    page = make_event_page([snippet])
    first_seen = VodStream.objects.get().no_recording_since
    assert first_seen is not None
    assert shown(client, page)["data-nanovod-state"] == "processing"
    assert "being processed" in shown(client, page)["message"]
    assert seconds_fresh(snippet) == pytest.approx(30, abs=2)  # checked at the active pace

    # Refreshed again and again: the grace period still counts from the first sight.
    refresh_snippet(snippet)
    assert VodStream.objects.get().no_recording_since == first_seen

    # An hour and more later, still no recording: not recorded, said as such.
    VodStream.objects.update(no_recording_since=first_seen - timedelta(seconds=GRACE + 1))
    caches["default"].clear()  # only the database remembers that far back
    outcome = refresh_snippet(VodStream.objects.get())
    assert outcome.no_recording_since == pytest.approx(
        (first_seen - timedelta(seconds=GRACE + 1)).timestamp()
    )
    player = shown(client, page)
    assert player["data-nanovod-state"] == "unavailable"
    assert "was not recorded" in player["message"]
    assert "data-nanovod-poll" not in player  # a settled state: pages stop polling
    assert seconds_fresh(snippet) == pytest.approx(900, abs=2)  # the slow pace
    assert VodStream.objects.get().status == "unavailable"


def test_the_grace_period_is_a_setting(client, bintu, settings, make_snippet, make_event_page):
    settings.WAGTAIL_NANOVOD = {**settings.WAGTAIL_NANOVOD, "PROCESSING_GRACE_SECONDS": 0}
    snippet = make_snippet(regions=())
    assert shown(client, make_event_page([snippet]))["data-nanovod-state"] == "unavailable"


def test_a_stream_whose_processing_has_no_recording_step_is_not_recorded_at_once(
    client, bintu, make_snippet, make_event_page
):
    unrecorded = make_snippet(regions=(), records=False, title="Live only")
    recorded = make_snippet(regions=(), records=True, title="Recorded")
    page = make_event_page([unrecorded, recorded])
    html = client.get(page.url).content.decode()
    assert re.findall(r'data-nanovod-state="(\w+)"', html) == ["unavailable", "processing"]


def test_the_editor_is_told_how_recording_is_switched_on(
    admin_client, bintu, make_snippet, make_event_page
):
    snippet = make_snippet(regions=(), records=False)
    edit = reverse(VodStream.snippet_viewset.get_url_name("edit"), args=[snippet.pk])
    text = admin_client.get(edit).content.decode()
    assert "ended without a recording" in text
    assert "/rec/" in text and "recording package" in text


def test_recordings_listed_but_none_playable_are_unavailable_at_once_and_logged(
    client, bintu, make_event_page, caplog
):
    stream_id = bintu.add_stream()
    payload = bintu.stream_payload(stream_id)
    payload["playout"]["web"] = [
        {"type": "vod", "url": "https://elsewhere.example/x.mp4", "index": 1},
    ]
    bintu.set_payload(stream_id, payload)
    snippet = VodStream.objects.create(stream_id=stream_id, title="Elsewhere")
    with caplog.at_level(logging.WARNING, logger="wagtail_nanovod"):
        refresh_snippet(snippet)
    assert shown(client, make_event_page([snippet]))["data-nanovod-state"] == "unavailable"
    assert any(
        stream_id in record.getMessage()
        and "none on a host that may be played" in record.getMessage()
        for record in caplog.records
    )


def test_a_locked_stream_still_plays_what_bintu_lists_and_a_deleted_one_is_gone(
    client, bintu, make_snippet, make_event_page
):
    locked = make_snippet(state="locked", regions=("au",), title="Locked")
    deleted = make_snippet(state="deleted", regions=("au",), title="Deleted")
    html = client.get(make_event_page([locked, deleted]).url).content.decode()
    assert re.findall(r'data-nanovod-state="(\w+)"', html) == ["ready", "unavailable"]
    assert 'data-nanovod-region="au"' in html


def test_the_grace_period_ends_on_the_page_even_while_bintu_is_not_asked(
    client, bintu, make_snippet, make_event_page
):
    snippet = make_snippet(regions=())
    page = make_event_page([snippet])
    assert shown(client, page)["data-nanovod-state"] == "processing"  # and remembered
    # An hour later, the snapshot still fresh (bintu down, backing off, say): no fetch.
    long_ago = VodStream.objects.get().no_recording_since - timedelta(seconds=GRACE + 1)
    VodStream.objects.update(
        no_recording_since=long_ago, fresh_until=datetime.now(UTC) + timedelta(minutes=5)
    )
    bintu.reset_requests()
    assert shown(client, page)["data-nanovod-state"] == "unavailable"
    assert bintu.calls() == 0
