"""Front-end cache purges when a refresh changes what a stream plays.

Wagtail's own HTTP backend sends the purges to a real server on 127.0.0.1 that records
them; the pages are found through Wagtail's reference index, filled as pages are saved.
"""

import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.cache import caches
from wagtail.models import Page

from tests.conftest import TEST_KEY, run_queued_refreshes
from tests.testapp.models import EventPage
from wagtail_nanovod.models import VodStream
from wagtail_nanovod.resolver import refresh_snippet
from wagtail_nanovod.tasks import schedule_refresh
from wagtail_nanovod.testing import Fault

HTTP_BACKEND = "wagtail.contrib.frontend_cache.backends.HTTPBackend"
# The live pages showing the `event` stream, as the cache sees their purges: (Host, path).
EVENT_PAGES = [("localhost", "/both/"), ("localhost", "/live-event/")]


class PurgeServer(ThreadingHTTPServer):
    """A cache that records the PURGE requests it gets, as ``(Host, path)``."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), PurgeHandler)
        self.purged = []

    @property
    def location(self):
        return f"http://127.0.0.1:{self.server_address[1]}"


class PurgeHandler(BaseHTTPRequestHandler):
    def do_PURGE(self):
        self.server.purged.append((self.headers["Host"], self.path))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format, *args):
        pass


@pytest.fixture
def purge_server():
    server = PurgeServer()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def frontend_cache(settings, purge_server):
    """Wagtail's HTTP backend pointed at purge_server."""
    settings.WAGTAILFRONTENDCACHE = {
        "cache": {"BACKEND": HTTP_BACKEND, "LOCATION": purge_server.location}
    }
    return purge_server


@pytest.fixture
def event(bintu, make_snippet, make_event_page):
    """A live stream on two live pages and a draft, beside another stream on its own page."""
    live = make_snippet(state="live", regions=(), title="Live")
    other = make_snippet(title="Other")
    make_event_page([live], slug="live-event")
    make_event_page([other, live], slug="both")
    make_event_page([other], slug="other")
    draft = EventPage(title="Draft", slug="draft", live=False)
    draft.body = [{"type": "vod", "value": {"stream": live.pk}}]
    Page.get_first_root_node().get_children().first().add_child(instance=draft)
    draft.save_revision()
    return live


def refresh(snippet, capture):
    """Refresh from bintu and commit, as a request or a worker would."""
    with capture(execute=True):
        refresh_snippet(snippet)


def test_live_processing_ready_purges_the_live_pages_using_the_stream(
    bintu, event, frontend_cache, django_capture_on_commit_callbacks
):
    stream_id = event.stream_id_str
    # Where wagtail.contrib.frontend_cache is installed, publishing purged them already.
    frontend_cache.purged.clear()

    # The broadcast ends. Its snapshot goes stale; a background refresh is queued (as a
    # page showing it would) and a worker runs it.
    bintu.set_state(stream_id, "ended")
    VodStream.objects.update(fresh_until=None)
    caches["default"].clear()
    assert schedule_refresh([stream_id]) == [stream_id]
    with django_capture_on_commit_callbacks(execute=True):
        assert run_queued_refreshes() == [stream_id]
    assert VodStream.objects.get(pk=event.pk).status == "processing"
    assert sorted(frontend_cache.purged) == EVENT_PAGES

    # The recording appears.
    frontend_cache.purged.clear()
    bintu.add_recording(stream_id)
    refresh(event, django_capture_on_commit_callbacks)
    assert VodStream.objects.get(pk=event.pk).status == "ready"
    assert sorted(frontend_cache.purged) == EVENT_PAGES


def test_a_new_recording_or_the_stream_going_away_purges(
    bintu, event, frontend_cache, django_capture_on_commit_callbacks
):
    stream_id = event.stream_id_str
    bintu.set_state(stream_id, "ended")
    bintu.add_recording(stream_id)
    refresh(event, django_capture_on_commit_callbacks)
    frontend_cache.purged.clear()

    bintu.add_recording(stream_id, region="us")  # a newer one: the player plays it instead
    refresh(event, django_capture_on_commit_callbacks)
    assert sorted(frontend_cache.purged) == EVENT_PAGES

    frontend_cache.purged.clear()
    bintu.remove_stream(stream_id)
    refresh(event, django_capture_on_commit_callbacks)
    assert VodStream.objects.get(pk=event.pk).status == "unavailable"
    assert sorted(frontend_cache.purged) == EVENT_PAGES


def test_a_refresh_with_the_same_answer_purges_nothing(
    bintu, event, frontend_cache, django_capture_on_commit_callbacks
):
    frontend_cache.purged.clear()
    refresh(event, django_capture_on_commit_callbacks)
    refresh(event, django_capture_on_commit_callbacks)
    assert frontend_cache.purged == []


def test_a_failed_refresh_that_keeps_the_last_answer_purges_nothing(
    bintu, event, frontend_cache, django_capture_on_commit_callbacks
):
    frontend_cache.purged.clear()
    bintu.inject(Fault.status(503), stream_id=event.stream_id_str)
    refresh(event, django_capture_on_commit_callbacks)
    assert VodStream.objects.get(pk=event.pk).last_error
    assert frontend_cache.purged == []


def test_the_setting_off_purges_nothing(
    bintu, event, frontend_cache, settings, django_capture_on_commit_callbacks
):
    settings.WAGTAIL_NANOVOD = {**settings.WAGTAIL_NANOVOD, "PURGE_FRONTEND_CACHE": False}
    frontend_cache.purged.clear()
    bintu.set_state(event.stream_id_str, "ended")
    refresh(event, django_capture_on_commit_callbacks)
    assert VodStream.objects.get(pk=event.pk).status == "processing"
    assert frontend_cache.purged == []


def test_without_a_configured_frontend_cache_nothing_is_purged_and_nothing_fails(
    bintu, event, frontend_cache, settings, caplog, django_capture_on_commit_callbacks
):
    del settings.WAGTAILFRONTENDCACHE
    frontend_cache.purged.clear()
    bintu.set_state(event.stream_id_str, "ended")
    with caplog.at_level(logging.INFO):
        refresh(event, django_capture_on_commit_callbacks)
    assert VodStream.objects.get(pk=event.pk).status == "processing"
    assert frontend_cache.purged == []
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]


def test_the_purge_waits_for_the_commit(
    bintu, event, frontend_cache, django_capture_on_commit_callbacks
):
    frontend_cache.purged.clear()
    bintu.set_state(event.stream_id_str, "ended")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        refresh_snippet(event)
    assert frontend_cache.purged == []  # a cache asking now would get the old page
    for callback in callbacks:
        callback()
    assert sorted(frontend_cache.purged) == EVENT_PAGES


def test_with_the_cache_server_down_the_refresh_succeeds_and_a_warning_is_logged(
    bintu, event, frontend_cache, settings, caplog, django_capture_on_commit_callbacks
):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        down = f"http://127.0.0.1:{probe.getsockname()[1]}"
    settings.WAGTAILFRONTENDCACHE = {"cache": {"BACKEND": HTTP_BACKEND, "LOCATION": down}}
    bintu.set_state(event.stream_id_str, "ended")
    with caplog.at_level(logging.WARNING):
        refresh(event, django_capture_on_commit_callbacks)
    assert VodStream.objects.get(pk=event.pk).status == "processing"
    # Wagtail's HTTP backend reports each URL it could not purge, and carries on.
    warnings = [
        r.getMessage()
        for r in caplog.records
        if r.name == "wagtail.frontendcache" and r.levelno >= logging.WARNING
    ]
    assert any("Couldn't purge 'http://localhost/live-event/'" in m for m in warnings)
    assert TEST_KEY not in caplog.text


def test_a_broken_frontend_cache_setting_is_logged_without_its_secrets(
    bintu, event, frontend_cache, settings, caplog, django_capture_on_commit_callbacks
):
    settings.WAGTAILFRONTENDCACHE = {
        "cache": {"BACKEND": "no.such.PurgeBackend", "TOKEN": "purge-token-3a9"}
    }
    bintu.set_state(event.stream_id_str, "ended")
    with caplog.at_level(logging.WARNING):
        refresh(event, django_capture_on_commit_callbacks)
    assert VodStream.objects.get(pk=event.pk).status == "processing"
    assert [(r.name, r.levelname) for r in caplog.records] == [
        ("wagtail_nanovod.purge", "WARNING")
    ]
    message = caplog.records[0].getMessage()
    assert event.stream_id_str in message
    assert "InvalidFrontendCacheBackendError" in message
    assert "purge-token-3a9" not in caplog.text
    assert TEST_KEY not in caplog.text
