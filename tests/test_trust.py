"""Only a trustworthy answer replaces what we know: a garbled answer from bintu, through
every path that asks it, leaves a recording that played playing.

The page render and the worker are covered fault by fault in test_faults.py; here the
other paths: "Refresh now", ``nanovod_sync``, import, the state endpoint. The soak
(page views while bintu cycles through its faults) is in test_real_services.py.
"""

import io
import re

import pytest
from django.core.cache import caches
from django.core.management import call_command
from django.urls import reverse

from wagtail_nanovod.models import VodStream
from wagtail_nanovod.testing import Fault

from .conftest import TEST_KEY, run_queued_refreshes

# Each garbled in its own way; each was once read as "this stream has no recordings".
GARBLED = {
    "state-number": Fault.garbled("state", 5),
    "playout-string": Fault.garbled("playout", "web"),
    "web-object": Fault.garbled("playout.web", {"type": "vod"}),
    "web-item-string": Fault.garbled("playout.web.1", "vod"),
    "url-number": Fault.garbled("playout.web.1.url", 7),
    "tags-string": Fault.garbled("tags", "event:keynote"),
}
by_garble = pytest.mark.parametrize("fault", GARBLED.values(), ids=GARBLED)


def url(name, *args):
    return reverse(VodStream.snippet_viewset.get_url_name(name), args=args)


def still_plays(client, page, region="us"):
    html = client.get(page.url).content.decode()
    assert TEST_KEY not in html
    assert re.findall(r'data-nanovod-state="(\w+)"', html) == ["ready"]
    assert f'data-nanovod-region="{region}"' in html


@pytest.fixture
def played(bintu, make_snippet, make_event_page):
    """A stream whose recording played on a page, then bintu starts garbling."""
    snippet = make_snippet(regions=("us",))
    return snippet, make_event_page([snippet])


@pytest.mark.django_db
@by_garble
def test_refresh_now_keeps_the_recording_and_says_the_answer_was_unreadable(
    fault, bintu, played, admin_client, client
):
    snippet, page = played
    bintu.inject(fault)
    response = admin_client.post(url("refresh", snippet.pk), follow=True)
    assert "could not be checked: nanoStream sent an answer that could not be read" in (
        response.content.decode()
    )
    stored = VodStream.objects.get()
    assert (stored.status, stored.recording_count, stored.last_error) == (
        "ready",
        1,
        "bad_response",
    )
    still_plays(client, page)


@pytest.mark.django_db
@by_garble
def test_sync_counts_an_unreadable_answer_as_failed(fault, bintu, played, client):
    snippet, page = played
    bintu.inject(fault)
    out = io.StringIO()
    call_command("nanovod_sync", "--stream", snippet.stream_id_str, stdout=out)
    report = out.getvalue()
    assert "No failures" not in report
    assert "Failed: 1." in report
    assert "[bad_response]" in report
    still_plays(client, page)


@pytest.mark.django_db
@by_garble
def test_the_worker_and_the_state_endpoint_keep_the_recording(fault, bintu, played, client):
    snippet, page = played
    sid = snippet.stream_id_str
    VodStream.objects.update(fresh_until=None)
    caches["default"].clear()
    bintu.inject(fault)
    for _ in range(2):
        answer = client.get("/nanovod/state/", {"id": sid}).json()["streams"][sid]
        assert answer["state"] == "ready"
        run_queued_refreshes()
    assert VodStream.objects.get().last_error == "bad_response"
    still_plays(client, page)


@pytest.mark.django_db
@by_garble
def test_an_import_under_an_unreadable_answer_is_saved_unverified(fault, bintu, admin_client):
    sid = bintu.add_stream(tags=["title:Opening night"])
    bintu.add_recording(sid, region="us")
    bintu.inject(fault, stream_id=sid)
    response = admin_client.post(url("import"), {"stream": [sid]}, follow=True)
    assert "not verified yet: nanoStream sent an answer that could not be read" in (
        response.content.decode()
    )
    stored = VodStream.objects.get()
    assert (stored.last_error, stored.status) == ("bad_response", "unavailable")
    bintu.clear_faults()
    admin_client.post(url("refresh", stored.pk))
    assert VodStream.objects.get().status == "ready"
