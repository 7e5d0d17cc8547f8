"""The client against a real HTTP server on 127.0.0.1: every status and fault, for real."""

import logging
import socket
import time

import pytest

from wagtail_nanovod import __version__
from wagtail_nanovod.client import BintuClient
from wagtail_nanovod.exceptions import (
    AuthenticationFailed,
    BadResponse,
    BintuError,
    BintuUnreachable,
    ConfigurationError,
    InvalidStreamId,
    RateLimited,
    ServerError,
    StreamNotFound,
)
from wagtail_nanovod.testing import FakeBintu, Fault

from .conftest import TEST_KEY
from .test_secrecy import everything_recorded


def _raises(exc_type, call):
    """Call, expect ``exc_type``, and check that the key is nowhere in the error."""
    with pytest.raises(exc_type) as caught:
        call()
    error = caught.value
    assert TEST_KEY not in str(error)
    assert TEST_KEY not in repr(error)
    # Nor in what an error tracker records of it: every frame's variables, the chain too.
    assert TEST_KEY not in everything_recorded(error)
    return error


def test_stream_info_sends_the_key_and_identifies_itself(bintu):
    stream_id = bintu.add_stream(tags=["event:keynote"])
    data = BintuClient().stream_info(stream_id)
    assert data["id"] == stream_id
    (request,) = bintu.requests
    assert request.path == f"/stream/{stream_id}"
    assert request.query["asset_limit"] == ["10"]
    assert request.headers.get("X-BINTU-APIKEY") == TEST_KEY
    assert request.headers.get("Accept") == "application/json"
    assert f"wagtail-nanovod/{__version__}" in request.headers.get("User-Agent")


def test_asset_limit_comes_from_the_settings(bintu, settings):
    settings.WAGTAIL_NANOVOD = {**settings.WAGTAIL_NANOVOD, "ASSET_LIMIT": 2}
    stream_id = bintu.add_stream()
    for _ in range(4):
        bintu.add_recording(stream_id)
    data = BintuClient().stream_info(stream_id)
    assert bintu.requests[0].query["asset_limit"] == ["2"]
    assert len([item for item in data["playout"]["web"] if item["type"] == "vod"]) == 2


def test_the_stream_list_sends_quantity_repeated_tags_and_states(bintu):
    keynote = bintu.add_stream(tags=["event:keynote", "room:A"], state="ended")
    bintu.add_stream(tags=["event:keynote"], state="created")
    bintu.add_stream(tags=["room:A"], state="live")
    data = BintuClient().list_streams(
        tags=["event:keynote", "room:A"], states=["ended", "live"], quantity=5
    )
    assert [item["id"] for item in data] == [keynote]
    query = bintu.requests[0].query
    assert query["tags[]"] == ["event:keynote", "room:A"]
    assert query["state"] == ["ended", "live"]
    assert query["quantity"] == ["5"]


@pytest.mark.parametrize(
    "bad_id",
    ["../organisation", "", " ", "abc def", "a" * 5000, "1dec3bbc-758b-4879-a202-7ae877d511ba/.."],
)
def test_a_bad_stream_id_raises_before_anything_is_sent(bintu, bad_id):
    with pytest.raises(InvalidStreamId):
        BintuClient().stream_info(bad_id)
    assert bintu.requests == []


def test_no_key_is_a_configuration_error_and_nothing_is_sent(bintu, settings, monkeypatch):
    monkeypatch.delenv("NANOVOD_API_KEY", raising=False)
    settings.WAGTAIL_NANOVOD = {**settings.WAGTAIL_NANOVOD, "API_KEY": ""}
    with pytest.raises(ConfigurationError, match="NANOVOD_API_KEY"):
        BintuClient().stream_info(bintu.add_stream())
    assert bintu.requests == []


def test_a_wrong_key_is_an_authentication_error_with_bintus_message(bintu, settings):
    stream_id = bintu.add_stream()
    client = BintuClient(api_key="made-up-wrong-key")
    error = _raises(AuthenticationFailed, lambda: client.stream_info(stream_id))
    assert error.status == 401
    assert "credentials not valid" in str(error)
    assert "made-up-wrong-key" not in str(error)
    assert bintu.calls(stream_id) == 1


@pytest.mark.parametrize(
    ("status", "exc_type", "calls"),
    [
        (403, AuthenticationFailed, 1),
        (404, StreamNotFound, 1),
        (400, BintuError, 1),
        (500, ServerError, 1),
        # 502/503/504 are retried: the first try and RETRIES (2) more.
        (502, ServerError, 3),
        (503, ServerError, 3),
        (504, ServerError, 3),
    ],
)
def test_each_status_maps_to_its_error(bintu, status, exc_type, calls):
    stream_id = bintu.add_stream()
    bintu.inject(Fault.status(status), stream_id=stream_id)
    error = _raises(exc_type, lambda: BintuClient().stream_info(stream_id))
    assert error.status == status
    assert error.stream_id == stream_id
    assert bintu.calls(stream_id) == calls


def test_an_unknown_stream_is_not_found(bintu):
    missing = "00000000-0000-4000-8000-000000000000"
    error = _raises(StreamNotFound, lambda: BintuClient().stream_info(missing))
    assert missing in str(error)


def test_a_passing_server_error_is_retried_and_succeeds(bintu):
    stream_id = bintu.add_stream()
    bintu.inject(Fault.status(503), stream_id=stream_id, times=2)
    assert BintuClient().stream_info(stream_id)["id"] == stream_id
    assert bintu.calls(stream_id) == 3


def test_retry_after_is_honoured_within_the_time_budget(bintu):
    stream_id = bintu.add_stream()
    bintu.inject(Fault.rate_limited(retry_after=1), stream_id=stream_id, times=1)
    started = time.monotonic()
    assert BintuClient(timeout=3).stream_info(stream_id)["id"] == stream_id
    assert time.monotonic() - started >= 1
    assert bintu.calls(stream_id) == 2


def test_a_retry_after_beyond_the_budget_gives_up_at_once(bintu):
    stream_id = bintu.add_stream()
    bintu.inject(Fault.rate_limited(retry_after=30), stream_id=stream_id)
    error = _raises(RateLimited, lambda: BintuClient().stream_info(stream_id))
    assert error.retry_after == 30
    assert bintu.calls(stream_id) == 1


def test_a_hanging_bintu_costs_one_timeout_not_one_per_retry(bintu):
    stream_id = bintu.add_stream()
    bintu.inject(Fault.hang(), stream_id=stream_id)
    started = time.monotonic()
    error = _raises(BintuUnreachable, lambda: BintuClient(timeout=0.5).stream_info(stream_id))
    assert time.monotonic() - started < 0.5 + 1.0  # the budget, plus scheduling slack
    assert "0.5s" in str(error)


def test_latency_within_the_timeout_is_only_slower(bintu):
    stream_id = bintu.add_stream()
    bintu.inject(Fault.latency(0.2), stream_id=stream_id)
    assert BintuClient().stream_info(stream_id)["id"] == stream_id
    assert bintu.calls(stream_id) == 1


def test_a_refused_connection_is_unreachable_after_the_retries(settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on the port any more: connections are refused at once.
    client = BintuClient(api_url=f"http://127.0.0.1:{port}", api_key=TEST_KEY)
    _raises(BintuUnreachable, lambda: client.stream_info("00000000-0000-4000-8000-000000000000"))


def test_a_dropped_connection_is_unreachable(bintu):
    stream_id = bintu.add_stream()
    bintu.inject(Fault.drop_connection(), stream_id=stream_id)
    _raises(BintuUnreachable, lambda: BintuClient().stream_info(stream_id))


def test_malformed_json_is_a_bad_response(bintu):
    stream_id = bintu.add_stream()
    bintu.inject(Fault.malformed_json(), stream_id=stream_id)
    _raises(BadResponse, lambda: BintuClient().stream_info(stream_id))
    assert bintu.calls(stream_id) == 1


def test_wrongly_typed_json_is_a_bad_response(bintu):
    stream_id = bintu.add_stream()
    bintu.inject(Fault.wrong_type_json(), stream_id=stream_id)
    _raises(BadResponse, lambda: BintuClient().stream_info(stream_id))
    bintu.inject(Fault.wrong_type_json())
    _raises(BadResponse, lambda: BintuClient().list_streams())


def test_an_oversized_body_is_refused(bintu, settings):
    settings.WAGTAIL_NANOVOD = {**settings.WAGTAIL_NANOVOD, "MAX_RESPONSE_BYTES": 100_000}
    stream_id = bintu.add_stream()
    bintu.inject(Fault.oversized(5_000_000), stream_id=stream_id)
    error = _raises(BadResponse, lambda: BintuClient().stream_info(stream_id))
    assert "larger than 100000 bytes" in str(error)


def test_a_redirect_is_not_followed_and_the_key_never_reaches_its_target(bintu):
    stream_id = bintu.add_stream()
    with FakeBintu(api_key="made-up-other") as elsewhere:
        target = f"{elsewhere.api_url}/stream/{stream_id}"
        bintu.inject(Fault.redirect(target), stream_id=stream_id)
        error = _raises(BadResponse, lambda: BintuClient().stream_info(stream_id))
        assert "redirected" in str(error)
        assert elsewhere.requests == []
    assert bintu.calls(stream_id) == 1


def test_the_key_appears_in_no_log_record_of_a_failing_call(bintu, caplog):
    stream_id = bintu.add_stream()
    bintu.inject(Fault.status(503), stream_id=stream_id)
    with caplog.at_level(logging.DEBUG):
        _raises(ServerError, lambda: BintuClient().stream_info(stream_id))
    assert caplog.records  # the retries were logged
    assert TEST_KEY not in caplog.text


def test_the_client_repr_hides_the_key(bintu):
    assert TEST_KEY not in repr(BintuClient())
    assert bintu.api_url in repr(BintuClient())
