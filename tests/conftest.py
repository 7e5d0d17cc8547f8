import pytest
from django.core.cache import caches

from wagtail_nanovod.resolver import refresh_snippet
from wagtail_nanovod.testing import FakeBintu

# A made-up key: tests search pages, logs and errors for it to prove it never leaks.
TEST_KEY = "made-up-test-key-5f0c1e"


@pytest.fixture
def bintu(settings):
    """A running fake bintu, with WAGTAIL_NANOVOD pointing at it."""
    with FakeBintu(api_key=TEST_KEY) as fake:
        settings.WAGTAIL_NANOVOD = {
            **fake.settings(),
            # Short enough that fault tests stay quick, long enough for a loaded CI machine.
            "TIMEOUT": 1.5,
            "RETRY_BACKOFF": 0.01,
            "TASK_BACKEND": "refresh",
        }
        yield fake


def run_queued_refreshes() -> list[str]:
    """Run the background refreshes queued so far, as a worker would; their stream ids."""
    from django_tasks import task_backends

    from wagtail_nanovod.tasks import refresh_stream

    backend = task_backends["refresh"]
    queued, backend.results = list(backend.results), []
    for result in queued:
        refresh_stream.call(*result.args)
    return [result.args[0] for result in queued]


def queued_refreshes() -> list[str]:
    """The stream ids whose background refresh was queued so far (not run)."""
    from django_tasks import task_backends

    return [result.args[0] for result in task_backends["refresh"].results]


@pytest.fixture(autouse=True)
def _empty_task_queue():
    from django_tasks import task_backends

    task_backends["refresh"].clear()
    yield


@pytest.fixture(autouse=True)
def _background_settled():
    """No test's background refresh outlives it (and writes into the next test's rows)."""
    yield
    from wagtail_nanovod.testing import wait_for_background_refreshes

    assert wait_for_background_refreshes(30), "background refreshes still running"


@pytest.fixture(autouse=True)
def _empty_caches():
    """Every test starts with empty caches: nothing carries over between tests."""
    from wagtail_nanovod import locks, playback_tokens, render_rows, state_answers

    for cache in caches.all():
        cache.clear()
    locks.forget_local_state()  # it mirrors what the cache held
    # Each test is a new process to the package: nothing remembered from the last one.
    render_rows._rows.clear()
    state_answers._forget()
    playback_tokens.forget()
    yield


@pytest.fixture
def make_snippet(bintu, db):
    """A VodStream snippet for a new fake stream, synced once, as an editor's save does."""
    from wagtail_nanovod.models import VodStream

    def make(*, state="ended", regions=("eu",), title="Keynote", region="auto", **stream_kwargs):
        stream_id = bintu.add_stream(state=state, **stream_kwargs)
        for recording_region in regions:
            bintu.add_recording(stream_id, region=recording_region)
        snippet = VodStream.objects.create(stream_id=stream_id, title=title, region=region)
        refresh_snippet(snippet)
        return snippet

    return make


@pytest.fixture
def make_event_page(db):
    """A published EventPage whose body holds one VOD block per stream given."""
    from wagtail.models import Page

    from tests.testapp.models import EventPage

    def make(streams, *, slug="event", **block_options):
        root = Page.get_first_root_node().get_children().first() or Page.get_first_root_node()
        body = [{"type": "vod", "value": {"stream": s.pk, **block_options}} for s in streams]
        page = EventPage(title="Event", slug=slug, body=body)
        root.add_child(instance=page)
        page.save_revision().publish()
        return EventPage.objects.get(pk=page.pk)

    return make


@pytest.fixture
def poster_image(db):
    """A Wagtail image, as an editor uploads for a poster."""
    from wagtail.images import get_image_model
    from wagtail.images.tests.utils import get_test_image_file

    return get_image_model().objects.create(title="Poster", file=get_test_image_file("poster.png"))


@pytest.fixture
def counting_default_cache(settings):
    """The default cache, counting its round trips (``CountingCache.round_trips``)."""
    from django.core.cache import caches

    from .counting_cache import CountingCache

    settings.CACHES = {"default": {"BACKEND": "tests.counting_cache.CountingCache"}}
    caches["default"].clear()
    CountingCache.round_trips = 0
    return CountingCache
