"""Only a trustworthy answer replaces what we know: a garbled answer from bintu, through
every path that asks it, leaves a recording that played playing.

The page render and the worker are covered fault by fault in test_faults.py; here the
other paths: "Refresh now", ``nanovod_sync``, import, the state endpoint. The soak
(page views while bintu cycles through its faults) is in test_real_services.py.
"""

import io
import re
import time

import pytest
from django.core.cache import caches
from django.core.management import call_command
from django.urls import reverse

from wagtail_nanovod.models import VodStream
from wagtail_nanovod.reasons import describe_reason
from wagtail_nanovod.testing import Fault

from .conftest import TEST_KEY, run_queued_refreshes
from .test_faults import FAILING, arm, elsewhere  # noqa: F401  (elsewhere: a fixture arm uses)

# Every way bintu fails (test_faults.py's table: latency past TIMEOUT, hang, 5xx, 429,
# malformed JSON, wrongly typed JSON, garbled fields, redirect, oversized, dropped and
# refused connections), through each path that asks bintu.
by_fault = pytest.mark.parametrize("case", FAILING, ids=str)


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
@by_fault
def test_refresh_now_keeps_the_recording_and_says_what_went_wrong(
    case, bintu, settings, request, played, admin_client, client
):
    snippet, page = played
    arm(case, bintu, settings, request)
    response = admin_client.post(url("refresh", snippet.pk), follow=True)
    said = f"could not be checked: {describe_reason(case.reason)}; the last known state is kept"
    assert said in response.content.decode().replace("&#x27;", "'")
    stored = VodStream.objects.get()
    assert (stored.status, stored.recording_count, stored.last_error) == (
        "ready",
        1,
        case.reason,
    )
    still_plays(client, page)


@pytest.mark.django_db
@by_fault
def test_sync_counts_the_failure(case, bintu, settings, request, played, client):
    snippet, page = played
    arm(case, bintu, settings, request)
    out = io.StringIO()
    call_command("nanovod_sync", "--stream", snippet.stream_id_str, stdout=out)
    report = out.getvalue()
    assert "No failures" not in report
    assert "Failed: 1." in report
    assert f"[{case.reason}]" in report
    still_plays(client, page)


@pytest.mark.django_db
@by_fault
def test_the_worker_and_the_state_endpoint_keep_the_recording(
    case, bintu, settings, request, played, client
):
    snippet, page = played
    sid = snippet.stream_id_str
    VodStream.objects.update(fresh_until=None)
    caches["default"].clear()
    arm(case, bintu, settings, request)
    for _ in range(2):
        answer = client.get("/nanovod/state/", {"id": sid}).json()["streams"][sid]
        assert answer["state"] == "ready"
        run_queued_refreshes()
    assert VodStream.objects.get().last_error == case.reason
    still_plays(client, page)


@pytest.mark.django_db
@by_fault
def test_an_import_under_the_fault_is_saved_unverified(
    case, bintu, settings, request, admin_client
):
    sid = bintu.add_stream(tags=["title:Opening night"])
    bintu.add_recording(sid, region="us")
    arm(case, bintu, settings, request)
    data = {"stream": [sid], f"title-{sid}": "Opening night"}
    response = admin_client.post(url("import"), data, follow=True)
    said = f"Saved, not verified yet: {describe_reason(case.reason)}"
    assert said in response.content.decode().replace("&#x27;", "'")
    stored = VodStream.objects.get()
    assert (stored.last_error, stored.status) == (case.reason, "unavailable")
    bintu.clear_faults()
    settings.WAGTAIL_NANOVOD = {**settings.WAGTAIL_NANOVOD, "API_URL": bintu.api_url}
    admin_client.post(url("refresh", stored.pk))
    assert VodStream.objects.get().status == "ready"


# -- a failure meets every copy of what we know ----------------------------------------------


@pytest.mark.django_db
def test_a_failure_for_a_bare_id_never_erases_the_snippet_of_the_same_stream(
    bintu, played, client
):
    from wagtail_nanovod.resolver import resolve_bare_ids

    snippet, page = played
    caches["default"].clear()
    bintu.inject(Fault.status(503))
    # The same stream shown by its id alone, never before: a first fetch, which fails.
    assert resolve_bare_ids([snippet.stream_id_str])[snippet.stream_id_str].stream.recordings
    stored = VodStream.objects.get()
    assert (stored.status, stored.recording_count, stored.last_error) == (
        "ready",
        1,
        "server_error",
    )
    still_plays(client, page)


# A thread of its own sees only committed rows.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_refresh_whose_other_fetch_left_nothing_answers_with_what_the_row_knows(
    bintu, played, client
):
    import threading

    from wagtail_nanovod import locks
    from wagtail_nanovod.resolver import refresh_snippet

    snippet, page = played
    caches["default"].clear()
    # Another process is fetching the stream...
    key = locks.fetching_key(snippet.stream_id_str)
    locks.take([key], 60)
    outcome = []
    refresh = threading.Thread(target=lambda: outcome.append(refresh_snippet(snippet)))
    refresh.start()
    # ...and ends without storing anything (its store failed, or the cache was flushed).
    time.sleep(0.3)
    caches["default"].delete(key)
    refresh.join(timeout=10)
    assert outcome[0].stream.recordings  # not an empty "not verified"
    assert snippet.recording_count == 1 and snippet.status == "ready"
    assert bintu.calls(snippet.stream_id_str) == 1  # make_snippet's: this one waited
    still_plays(client, page)


@pytest.mark.django_db
def test_an_answer_without_its_recordings_list_keeps_the_recordings_we_know(bintu, played, client):
    from wagtail_nanovod.resolver import refresh_snippet

    snippet, page = played
    payload = bintu.stream_payload(snippet.stream_id_str)
    del payload["playout"]["web"]
    bintu.set_payload(snippet.stream_id_str, payload)
    outcome = refresh_snippet(snippet)
    assert outcome.error == ""  # an answer, readable...
    assert len(outcome.stream.recordings) == 1  # ...that did not say the recordings are gone
    still_plays(client, page)
