"""One request per stream in flight, whoever asks; locks released only by their owner.

Across processes: tests/test_real_services.py. Here, threads of one process sharing its
cache, as a threaded web server's requests and its background refreshes do.
"""

import threading
import time

import pytest
from django.core.cache import caches
from django.urls import reverse

from wagtail_nanovod import locks, resolver
from wagtail_nanovod.fetching import cache_key as fetching_cache_key
from wagtail_nanovod.models import VodStream
from wagtail_nanovod.resolver import refresh_snippet
from wagtail_nanovod.testing import Fault

from .conftest import queued_refreshes, run_queued_refreshes

# serialized_rollback: the content types a transactional test flushes come back after it.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def together(*calls):
    """Run the calls in threads started at once; their results, in order."""
    results = [None] * len(calls)

    def run(position, call):
        results[position] = call()

    threads = [threading.Thread(target=run, args=item) for item in enumerate(calls)]
    for thread in threads:
        thread.start()
        time.sleep(0.05)  # in this order, each while the first is in flight
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_refreshes_that_find_a_fetch_running_wait_for_it_and_report_its_result(
    bintu, make_snippet, admin_client
):
    snippet = make_snippet(state="live", regions=())
    bintu.set_state(snippet.stream_id_str, "ended")
    url = bintu.add_recording(snippet.stream_id_str, region="au")
    bintu.reset_requests()
    bintu.inject(Fault.latency(0.6))
    refresh_url = reverse(VodStream.snippet_viewset.get_url_name("refresh"), args=[snippet.pk])

    sync, now, page_worker = together(
        lambda: refresh_snippet(VodStream.objects.get()),
        lambda: admin_client.post(refresh_url),
        lambda: resolver.refresh(snippet.stream_id_str),
    )
    # One request answered all three, and each reports what it said.
    assert bintu.calls(snippet.stream_id_str) == 1
    assert sync.stream.latest_recording.url == url
    assert page_worker.stream.latest_recording.url == url
    assert now.status_code == 302
    edit = admin_client.get(now["Location"]).content.decode()  # with the message
    assert "verified with nanoStream: Ready, 1 recording" in edit
    assert VodStream.objects.get().status == "ready"


def test_a_wait_for_another_fetch_is_bounded_by_the_timeout(bintu, settings, make_snippet):
    settings.WAGTAIL_NANOVOD = {**settings.WAGTAIL_NANOVOD, "TIMEOUT": 0.5}
    snippet = make_snippet()
    # Another process holds the fetch lock and never finishes (it crashed, say).
    locks.take([locks.fetching_key(snippet.stream_id_str)], 60)
    started = time.monotonic()
    outcome = resolver.refresh(snippet.stream_id_str)
    assert time.monotonic() - started < 0.5 + 1.0
    assert bintu.calls(snippet.stream_id_str) == 1  # the make_snippet fetch only
    assert outcome.stream.recordings  # what we knew, unharmed


def test_a_task_releases_only_its_own_queued_marker(bintu, make_snippet):
    snippet = make_snippet()
    sid = snippet.stream_id_str
    VodStream.objects.update(fresh_until=None)
    caches["default"].clear()
    stale = VodStream.objects.get().snapshot
    resolver.resolve_many([sid], known={sid: stale})
    assert queued_refreshes() == [sid]
    # The task waits in a long queue; its marker runs out and a page queues another.
    caches["default"].delete(locks.queued_key(sid))
    locks.forget_local_state()
    resolver.resolve_many([sid], known={sid: stale})
    assert queued_refreshes() == [sid, sid]
    # The first task runs at last: it must not lift the second task's marker...
    from django_tasks import task_backends

    first, second = task_backends["refresh"].results
    task_backends["refresh"].results = [second]
    from wagtail_nanovod.tasks import refresh_stream

    refresh_stream.call(*first.args)
    assert bintu.calls(sid) == 2
    # ...so the next stale view still finds the stream queued, and queues nothing more.
    caches["default"].delete(fetching_cache_key(sid))
    locks.forget_local_state()
    resolver.resolve_many([sid], known={sid: stale})
    assert queued_refreshes() == [sid]  # the second task, still waiting


def test_a_queued_task_that_finds_the_stream_fresh_asks_nothing(bintu, make_snippet):
    snippet = make_snippet()
    sid = snippet.stream_id_str
    VodStream.objects.update(fresh_until=None)
    stale = VodStream.objects.get().snapshot
    caches["default"].clear()
    resolver.resolve_many([sid], known={sid: stale})
    refresh_snippet(VodStream.objects.get())  # an editor's "Refresh now" got there first
    assert run_queued_refreshes() == [sid]
    assert bintu.calls(sid) == 2  # make_snippet's, the editor's; not the task's
