"""Fifty visitors open a cold page at once: one bintu call per stream, fifty full pages."""

import concurrent.futures
import urllib.request

import pytest
from django.core.cache import caches

from wagtail_nanovod.models import VodStream
from wagtail_nanovod.testing import Fault

from .conftest import TEST_KEY


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_fifty_concurrent_cold_renders_make_one_call_per_stream(
    live_server, bintu, settings, make_event_page
):
    settings.WAGTAIL_NANOVOD = {**settings.WAGTAIL_NANOVOD, "TIMEOUT": 5}
    snippets = []
    for n in range(3):
        stream_id = bintu.add_stream()
        bintu.add_recording(stream_id, region=("eu", "us", "au")[n])
        # Registered, never fetched: nothing is known yet.
        snippets.append(VodStream.objects.create(stream_id=stream_id, title=f"Talk {n}"))
    page = make_event_page(snippets)
    caches["default"].clear()
    bintu.reset_requests()
    # Slow enough that all fifty arrive while the first fetches are in flight.
    bintu.inject(Fault.latency(0.5))

    def visit(_):
        with urllib.request.urlopen(live_server.url + page.url, timeout=30) as response:  # noqa: S310
            return response.status, response.read().decode()

    with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(visit, range(50)))

    assert {status for status, _ in answers} == {200}
    for _, html in answers:
        assert html.count('data-nanovod-state="ready"') == 3
        assert TEST_KEY not in html
    assert [bintu.calls(s.stream_id_str) for s in snippets] == [1, 1, 1]
