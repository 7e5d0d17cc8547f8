import logging
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import caches

from wagtail_nanovod import fetching, locks, resolver
from wagtail_nanovod.exceptions import InvalidStreamId
from wagtail_nanovod.snapshot import DATA_VERSION
from wagtail_nanovod.testing import Fault

from .conftest import TEST_KEY, queued_refreshes, run_queued_refreshes
from .counting_cache import CountingCache

# Every fetch is announced to the snippets' snapshot keeper, which reads the database.
pytestmark = pytest.mark.django_db


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
    key = fetching.cache_key(stream_id)
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
    resolution = resolver.resolve_many([stream_id, stream_id.upper()])
    assert list(resolution) == [stream_id]
    assert queued_refreshes() == []
    assert bintu.calls(stream_id) == 1


def test_warm_streams_cost_one_cache_read_whatever_their_number(bintu, counting_cache):
    ids = [bintu.add_stream() for _ in range(20)]
    resolution = resolver.resolve_many(ids)
    assert list(resolution) == ids
    assert bintu.calls() == 20
    counting_cache.round_trips = 0
    resolver.resolve_many(ids)
    assert counting_cache.round_trips == 1
    assert bintu.calls() == 20


def test_unknown_streams_are_fetched_together_within_one_timeout(bintu, settings):
    settings.WAGTAIL_NANOVOD = {**settings.WAGTAIL_NANOVOD, "TIMEOUT": 2.0}
    ids = [bintu.add_stream() for _ in range(8)]
    bintu.inject(Fault.latency(0.5))
    started = time.monotonic()
    resolution = resolver.resolve_many(ids)
    elapsed = time.monotonic() - started
    assert all(resolution[sid].stream is not None for sid in ids)
    # One after another this would be 8 x 0.5 s; together it is about one latency.
    assert elapsed < 8 * 0.5 / 2
    assert bintu.calls() == 8


def test_a_hanging_bintu_costs_a_cold_page_one_timeout_then_it_renders_unverified(bintu, settings):
    settings.WAGTAIL_NANOVOD = {**settings.WAGTAIL_NANOVOD, "TIMEOUT": 0.5}
    ids = [bintu.add_stream() for _ in range(4)]
    bintu.inject(Fault.hang())
    started = time.monotonic()
    resolution = resolver.resolve_many(ids)
    assert time.monotonic() - started < 0.5 + 1.0
    assert {resolution[sid].error for sid in ids} == {"unreachable"}
    assert all(resolution[sid].stream is None for sid in ids)


def test_a_stale_stream_is_served_now_and_queued_for_a_background_refresh(bintu):
    stream_id = bintu.add_stream(state="live")
    resolver.resolve(stream_id)
    bintu.set_state(stream_id, "ended")
    url = bintu.add_recording(stream_id)
    _expire(stream_id)
    resolution = resolver.resolve_many([stream_id])
    assert resolution[stream_id].stream.state == "live"
    assert queued_refreshes() == [stream_id]
    assert bintu.calls(stream_id) == 1
    # Queued once: the next views find it queued.
    resolver.resolve_many([stream_id])
    assert queued_refreshes() == [stream_id]
    assert run_queued_refreshes() == [stream_id]
    resolved = resolver.resolve(stream_id)
    assert (resolved.stream.state, resolved.stream.latest_recording.url) == ("ended", url)
    assert bintu.calls(stream_id) == 2


def test_live_streams_are_fresh_for_less_time_than_settled_ones(bintu):
    live = bintu.add_stream(state="live")
    settled = bintu.add_stream(state="ended")
    bintu.add_recording(settled, created_at=datetime.now(UTC) - timedelta(hours=1))
    processing = bintu.add_stream(state="ended")
    # Listed a minute ago: its file may still be processing, so it is checked again soon.
    just_listed = bintu.add_stream(state="ended")
    bintu.add_recording(just_listed, created_at=datetime.now(UTC) - timedelta(minutes=1))
    resolution = resolver.resolve_many([live, settled, processing, just_listed])
    now = time.time()
    assert resolution[live].fresh_until - now == pytest.approx(30, abs=2)
    assert resolution[processing].fresh_until - now == pytest.approx(30, abs=2)
    assert resolution[just_listed].fresh_until - now == pytest.approx(30, abs=2)
    assert resolution[settled].fresh_until - now == pytest.approx(900, abs=2)


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
def test_a_failed_refresh_never_overwrites_the_good_answer(bintu, settings, caplog, fault):
    settings.WAGTAIL_NANOVOD = {**settings.WAGTAIL_NANOVOD, "TIMEOUT": 0.5}
    stream_id = bintu.add_stream()
    url = bintu.add_recording(stream_id)
    resolver.resolve(stream_id)
    bintu.inject(fault, stream_id=stream_id)
    with caplog.at_level(logging.WARNING, logger="wagtail_nanovod"):
        refreshed = resolver.refresh(stream_id)
    assert refreshed.stream.latest_recording.url == url
    assert refreshed.error != ""
    # Logged once, with the stream id and the reason, and never with the key.
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert stream_id in warnings[0].getMessage()
    assert refreshed.error in warnings[0].getMessage()
    assert TEST_KEY not in caplog.text
    # The good answer is still what the next render reads, and bintu is left alone.
    assert resolver.resolve(stream_id).stream.latest_recording.url == url
    assert queued_refreshes() == []


def test_failures_back_off_doubling(bintu, settings):
    settings.WAGTAIL_NANOVOD = {**settings.WAGTAIL_NANOVOD, "ERROR_SECONDS": 10}
    stream_id = bintu.add_stream()
    bintu.inject(Fault.status(500), stream_id=stream_id)
    waits = []
    for _ in range(4):
        outcome = resolver.refresh(stream_id)
        waits.append(round(outcome.fresh_until - outcome.error_at))
    assert waits == [10, 20, 40, 80]
    bintu.clear_faults()
    assert resolver.refresh(stream_id).failures == 0


def test_a_retry_after_longer_than_the_back_off_is_honoured(bintu):
    stream_id = bintu.add_stream()
    bintu.inject(Fault.rate_limited(retry_after=600), stream_id=stream_id)
    outcome = resolver.refresh(stream_id)
    assert outcome.error == "rate_limited"
    assert outcome.fresh_until - outcome.error_at == pytest.approx(600, abs=1)


def test_a_failure_is_remembered_so_renders_do_not_hammer_bintu(bintu):
    stream_id = bintu.add_stream()
    bintu.inject(Fault.status(500), stream_id=stream_id)
    first = resolver.resolve(stream_id)
    assert first.stream is None
    assert first.error == "server_error"
    for _ in range(5):
        assert resolver.resolve(stream_id).error == "server_error"
    assert bintu.calls(stream_id) == 1


def test_repeated_failures_open_a_circuit_that_no_request_waits_on(bintu, settings, caplog):
    settings.WAGTAIL_NANOVOD = {
        **settings.WAGTAIL_NANOVOD,
        "CIRCUIT_FAILURES": 3,
        "CIRCUIT_COOLDOWN_SECONDS": 60,
    }
    bintu.inject(Fault.status(503))
    resolver.resolve_many([bintu.add_stream() for _ in range(3)])
    assert locks.circuit_is_open()
    bintu.reset_requests()
    known = bintu.add_stream()
    resolution = resolver.resolve_many([bintu.add_stream(), known])
    assert bintu.calls() == 0
    assert queued_refreshes() == []
    assert {entry.stream for entry in resolution.values()} == {None}
    # The background task, too, leaves bintu alone while the circuit is open.
    from wagtail_nanovod.tasks import refresh_stream

    refresh_stream.call(known)
    assert bintu.calls() == 0
    assert "circuit" in caplog.text


def test_a_success_closes_the_count_of_failures(bintu, settings):
    settings.WAGTAIL_NANOVOD = {**settings.WAGTAIL_NANOVOD, "CIRCUIT_FAILURES": 3}
    failing = bintu.add_stream()
    bintu.inject(Fault.status(503), stream_id=failing)
    resolver.refresh(failing)
    resolver.refresh(failing)
    resolver.resolve(bintu.add_stream())
    resolver.refresh(failing)
    assert not locks.circuit_is_open()


def test_concurrent_cold_resolves_make_one_call_per_stream(bintu, settings):
    settings.WAGTAIL_NANOVOD = {**settings.WAGTAIL_NANOVOD, "TIMEOUT": 3.0}
    ids = [bintu.add_stream() for _ in range(3)]
    for sid in ids:
        bintu.add_recording(sid)
    bintu.inject(Fault.latency(0.3))
    results, errors = [], []

    def render():
        try:
            results.append(resolver.resolve_many(ids))
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=render) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert all(r[sid].stream.recordings for r in results for sid in ids)
    assert {bintu.calls(sid) for sid in ids} == {1}


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
    assert TEST_KEY not in repr(caches["default"].get(fetching.cache_key(stream_id)))


def test_an_unreadable_cache_entry_is_fetched_again(bintu):
    stream_id = bintu.add_stream()
    caches["default"].set(fetching.cache_key(stream_id), {"v": DATA_VERSION, "junk": 1})
    assert resolver.resolve(stream_id).stream.id == stream_id
    assert bintu.calls(stream_id) == 1


def test_a_failure_cached_after_a_flush_never_hides_the_callers_good_answer(bintu):
    stream_id = bintu.add_stream()
    url = bintu.add_recording(stream_id)
    good = resolver.resolve(stream_id)
    caches["default"].clear()
    bintu.inject(Fault.status(500), stream_id=stream_id)
    # A background refresh with nothing in the cache to fall back on caches a failure...
    assert resolver.refresh(stream_id).stream is None
    # ...and a page holding the good snapshot (the database's) still shows it.
    stale_good = replace(good, fresh_until=0.0)
    shown = resolver.resolve_many([stream_id], known={stream_id: stale_good})[stream_id]
    assert shown.stream.latest_recording.url == url
    assert shown.error == "server_error"


def test_a_stale_page_whose_refresh_is_queued_reads_the_cache_once_per_process(
    bintu, counting_cache
):
    ids = [bintu.add_stream() for _ in range(10)]
    resolved = resolver.resolve_many(ids)
    stale = {sid: replace(entry, fresh_until=0.0) for sid, entry in resolved.items()}
    caches["nanovod"].clear()  # only the page's own (database) snapshots are left
    resolver.resolve_many(ids, known=stale)
    assert sorted(queued_refreshes()) == sorted(ids)
    # The process that queued the refreshes knows their markers: no cache read at all.
    counting_cache.round_trips = 0
    again = resolver.resolve_many(ids, known=stale)
    assert [entry.stream.id for entry in again.values()] == ids
    assert counting_cache.round_trips == 0
    # Another process learns of the markers in one read, then needs none.
    locks.forget_local_state()
    resolver.resolve_many(ids, known=stale)
    assert counting_cache.round_trips == 1
    resolver.resolve_many(ids, known=stale)
    assert counting_cache.round_trips == 1
    assert sorted(queued_refreshes()) == sorted(ids)
    # Once a refresh has run and let go of its marker, the stream is queued again.
    run_queued_refreshes()
    caches["nanovod"].clear()  # their answers too, so the page's snapshots are stale again
    locks.forget_local_state()
    resolver.resolve_many(ids[:1], known=stale)
    assert queued_refreshes() == ids[:1]


def test_a_refresh_that_ended_in_another_process_is_not_waited_for(bintu):
    sid = bintu.add_stream(state="live")
    stale = replace(resolver.resolve(sid), fresh_until=0.0)
    caches["default"].clear()  # only the page's own (database) snapshot is left
    resolver.resolve_many([sid], known={sid: stale})
    assert queued_refreshes() == [sid]
    # A worker elsewhere refreshes the stream and lets go of the marker; this process,
    # which took the marker, is not told.
    from django_tasks import task_backends

    task_backends["refresh"].clear()
    refreshed = resolver.refresh(sid)
    caches["default"].delete(locks.queued_key(sid))
    caches["default"].delete(fetching.cache_key(sid))
    # Its answer goes stale in turn (a live stream is checked often): queued again.
    resolver.resolve_many([sid], known={sid: replace(refreshed, fresh_until=0.0)})
    assert queued_refreshes() == [sid]


def test_a_first_fetch_that_cannot_start_before_the_timeout_is_left_to_the_background(
    bintu, settings
):
    from wagtail_nanovod.fetching import POOL_THREADS

    settings.WAGTAIL_NANOVOD = {**settings.WAGTAIL_NANOVOD, "TIMEOUT": 0.5}
    ids = [bintu.add_stream() for _ in range(POOL_THREADS + 5)]
    bintu.inject(Fault.hang())
    started = time.monotonic()
    resolution = resolver.resolve_many(ids)
    assert time.monotonic() - started < 0.5 + 1.0
    bintu.release()
    from wagtail_nanovod.testing import wait_for_background_refreshes

    assert wait_for_background_refreshes(10)
    # A page waits one TIMEOUT; what the pool could not start on in that time is not
    # asked late (its fetch lock would not cover it), but queued for the background.
    assert bintu.calls() == POOL_THREADS
    assert all(resolution[sid].stream is None for sid in ids)
    assert sorted(queued_refreshes()) == sorted(ids[POOL_THREADS:])
