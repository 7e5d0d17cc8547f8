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


def _join_refresh_threads():
    for thread in threading.enumerate():
        if thread.name.startswith("nanovod-refresh-"):
            thread.join(timeout=10)


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
    _join_refresh_threads()
    # Released, the hung call broke off and the retry got through: still ready.
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
    _join_refresh_threads()
    assert VodStream.objects.get().status == "ready"
    assert 'data-nanovod-region="au"' in client.get(page.url).content.decode()
