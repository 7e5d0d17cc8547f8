"""Background refresh with the task backend Django and Wagtail default to: immediate."""

import threading
import time

import pytest
from django.core.cache import caches

from wagtail_nanovod.models import VodStream
from wagtail_nanovod.testing import Fault


@pytest.fixture
def immediate_backend(settings, bintu):
    # The immediate backend runs a task inside enqueue(); refreshes must still not
    # run inside the page render.
    settings.WAGTAIL_NANOVOD = {
        **settings.WAGTAIL_NANOVOD,
        "TASK_BACKEND": "default",
        "TIMEOUT": 4,
    }


def _eventually(condition, seconds=10.0):
    """Whether ``condition()`` comes true within ``seconds`` (background work is async)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_with_the_immediate_backend_a_page_never_waits_on_a_stale_refresh(
    client, bintu, make_snippet, make_event_page, immediate_backend
):
    snippet = make_snippet(regions=("us",))
    page = make_event_page([snippet])
    VodStream.objects.update(fresh_until=None)
    caches["default"].clear()
    bintu.inject(Fault.hang(), stream_id=snippet.stream_id_str)
    started = time.monotonic()
    response = client.get(page.url)
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert 'data-nanovod-region="us"' in response.content.decode()
    # bintu hangs for the whole 4 s TIMEOUT in the refresh; the page did not wait for it.
    assert elapsed < 2
    bintu.release()
    bintu.clear_faults()
    # Released, the hung call broke off and the retry got through: still ready.
    assert _eventually(lambda: VodStream.objects.get().synced_at > snippet.synced_at)
    assert VodStream.objects.get().status == "ready"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_immediate_backend_refresh_reaches_the_database(
    client, bintu, make_snippet, make_event_page, immediate_backend
):
    snippet = make_snippet(state="live", regions=())
    page = make_event_page([snippet])
    bintu.set_state(snippet.stream_id_str, "ended")
    bintu.add_recording(snippet.stream_id_str, region="au")
    VodStream.objects.update(fresh_until=None)
    caches["default"].clear()
    assert 'data-nanovod-state="live"' in client.get(page.url).content.decode()
    assert _eventually(lambda: VodStream.objects.get().status == "ready")
    assert 'data-nanovod-region="au"' in client.get(page.url).content.decode()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_page_of_fifty_stale_streams_starts_a_bounded_number_of_threads(
    client, bintu, make_snippet, make_event_page, immediate_backend
):
    from wagtail_nanovod.tasks import BACKGROUND_THREADS

    snippets = [make_snippet(title=f"Talk {n}") for n in range(50)]
    page = make_event_page(snippets)
    VodStream.objects.update(fresh_until=None)
    caches["default"].clear()
    bintu.reset_requests()
    before = {thread.ident for thread in _our_threads()}
    bintu.inject(Fault.latency(0.05))  # slow enough that the refreshes overlap the render
    html = client.get(page.url).content.decode()
    assert html.count('data-nanovod-state="ready"') == 50
    started = [t for t in _our_threads() if t.ident not in before]
    assert len(started) <= BACKGROUND_THREADS
    # Every stale stream is refreshed once, by those few threads.
    _eventually(lambda: bintu.calls() >= 50)
    assert bintu.calls() == 50
    assert {bintu.calls(s.stream_id_str) for s in snippets} == {1}
    assert len([t for t in _our_threads() if t.ident not in before]) <= BACKGROUND_THREADS


def _our_threads():
    """The threads this package started (the fake's server threads are not ours)."""
    return [thread for thread in threading.enumerate() if thread.name.startswith("nanovod")]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_background_refreshes_reuse_their_http_connections(
    settings, client, make_event_page, immediate_backend
):
    from wagtail_nanovod.tasks import BACKGROUND_THREADS
    from wagtail_nanovod.testing import FakeBintu, wait_for_background_refreshes

    with FakeBintu(api_key=settings.WAGTAIL_NANOVOD["API_KEY"], keep_alive=True) as bintu:
        settings.WAGTAIL_NANOVOD = {**settings.WAGTAIL_NANOVOD, **bintu.settings()}
        snippets = []
        for n in range(20):
            stream_id = bintu.add_stream()
            bintu.add_recording(stream_id)
            snippets.append(VodStream.objects.create(stream_id=stream_id, title=f"Talk {n}"))
        page = make_event_page(snippets)
        client.get(page.url)  # all never fetched: one bounded round, in the fetch pool
        VodStream.objects.update(fresh_until=None)
        caches["default"].clear()
        bintu.reset_requests()
        client.get(page.url)  # all stale: twenty background refreshes
        assert wait_for_background_refreshes(30)
        refreshes = [r for r in bintu.requests if r.server == "api"]
        assert len(refreshes) == 20
        # Each of the few background threads keeps its connection to bintu.
        assert len({request.connection for request in refreshes}) <= BACKGROUND_THREADS
