import logging

import pytest
from django.core.cache import caches

from wagtail_nanovod import resolver
from wagtail_nanovod.exceptions import InvalidStreamId
from wagtail_nanovod.testing import Fault

from .conftest import TEST_KEY
from .counting_cache import CountingCache


@pytest.fixture
def counting_cache(settings, bintu):
    settings.CACHES = {
        **settings.CACHES,
        "nanovod": {"BACKEND": "tests.counting_cache.CountingCache", "LOCATION": "nanovod-tests"},
    }
    settings.WAGTAIL_NANOVOD = {**settings.WAGTAIL_NANOVOD, "CACHE_ALIAS": "nanovod"}
    caches["nanovod"].clear()
    CountingCache.round_trips = 0
    return CountingCache


def _expire(stream_id):
    """Make the cached entry of a stream stale, as time passing would."""
    cache = caches["default"]
    key = resolver.cache_key(stream_id)
    entry = cache.get(key)
    entry["fresh_until"] = 0
    cache.set(key, entry)


def test_a_stream_resolves_to_its_recordings(bintu):
    stream_id = bintu.add_stream()
    url = bintu.add_recording(stream_id, region="us")
    resolved = resolver.resolve(stream_id)
    assert resolved.stream.latest_recording.url == url
    assert resolved.error == ""
    assert resolved.is_fresh()


def test_a_fresh_stream_is_served_from_the_cache_without_asking_bintu(bintu):
    stream_id = bintu.add_stream()
    bintu.add_recording(stream_id)
    resolver.resolve(stream_id)
    resolver.resolve(stream_id)
    resolver.resolve_many([stream_id, stream_id.upper()])
    assert bintu.calls(stream_id) == 1


def test_many_streams_cost_one_cache_read_and_one_write(bintu, counting_cache):
    ids = [bintu.add_stream() for _ in range(20)]
    resolved = resolver.resolve_many(ids)
    assert list(resolved) == ids
    assert counting_cache.round_trips == 2  # get_many, then set_many of the twenty
    counting_cache.round_trips = 0
    resolver.resolve_many(ids)
    assert counting_cache.round_trips == 1  # all fresh: one get_many, nothing written
    assert bintu.calls() == 20


def test_an_expired_stream_is_asked_again_and_updated(bintu):
    stream_id = bintu.add_stream(state="live")
    assert resolver.resolve(stream_id).stream.state == "live"
    bintu.set_state(stream_id, "ended")
    url = bintu.add_recording(stream_id)
    _expire(stream_id)
    resolved = resolver.resolve(stream_id)
    assert resolved.stream.state == "ended"
    assert resolved.stream.latest_recording.url == url
    assert bintu.calls(stream_id) == 2


@pytest.mark.parametrize(
    "fault",
    [
        Fault.status(500),
        Fault.status(404),
        Fault.malformed_json(),
        Fault.wrong_type_json(),
        Fault.hang(),
    ],
    ids=["5xx", "404", "malformed", "wrong-type", "hang"],
)
def test_a_failure_never_overwrites_the_good_answer(bintu, settings, caplog, fault):
    settings.WAGTAIL_NANOVOD = {**settings.WAGTAIL_NANOVOD, "TIMEOUT": 0.5}
    stream_id = bintu.add_stream()
    url = bintu.add_recording(stream_id)
    resolver.resolve(stream_id)
    _expire(stream_id)
    bintu.inject(fault, stream_id=stream_id)
    with caplog.at_level(logging.WARNING, logger="wagtail_nanovod"):
        resolved = resolver.resolve(stream_id)
    assert resolved.stream.latest_recording.url == url
    assert resolved.error != ""
    # Logged once, with the stream id and the reason, and never with the key.
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert stream_id in warnings[0].getMessage()
    assert resolved.error in warnings[0].getMessage()
    assert TEST_KEY not in caplog.text
    # The good answer is still what the next render reads.
    assert resolver.resolve(stream_id).stream.latest_recording.url == url


def test_a_failure_is_remembered_so_renders_do_not_hammer_bintu(bintu):
    stream_id = bintu.add_stream()
    bintu.inject(Fault.status(500), stream_id=stream_id)
    first = resolver.resolve(stream_id)
    assert first.stream is None
    assert first.error == "server_error"
    for _ in range(5):
        assert resolver.resolve(stream_id).error == "server_error"
    assert bintu.calls(stream_id) == 1


def test_a_stream_bintu_does_not_know_resolves_to_not_found(bintu):
    resolved = resolver.resolve("00000000-0000-4000-8000-000000000000")
    assert resolved.stream is None
    assert resolved.error == "not_found"


def test_refresh_asks_bintu_even_when_fresh(bintu):
    stream_id = bintu.add_stream(state="live")
    resolver.resolve(stream_id)
    bintu.set_state(stream_id, "ended")
    assert resolver.refresh(stream_id).stream.state == "ended"
    assert resolver.resolve(stream_id).stream.state == "ended"
    assert bintu.calls(stream_id) == 2


def test_an_invalid_id_raises_before_the_cache_or_bintu(bintu):
    with pytest.raises(InvalidStreamId):
        resolver.resolve_many([bintu.add_stream(), "../organisation"])
    assert bintu.requests == []


def test_the_cache_holds_no_key(bintu):
    stream_id = bintu.add_stream()
    bintu.add_recording(stream_id)
    resolver.resolve(stream_id)
    assert TEST_KEY not in repr(caches["default"].get(resolver.cache_key(stream_id)))


def test_an_unreadable_cache_entry_is_fetched_again(bintu):
    stream_id = bintu.add_stream()
    caches["default"].set(resolver.cache_key(stream_id), {"v": resolver.CACHE_VERSION, "junk": 1})
    assert resolver.resolve(stream_id).stream.id == stream_id
    assert bintu.calls(stream_id) == 1
