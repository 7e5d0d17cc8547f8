import logging
from datetime import UTC, datetime

import pytest

from wagtail_nanovod.exceptions import InvalidStreamId
from wagtail_nanovod.parsing import (
    Stream,
    ingest_urls,
    normalize_stream_id,
    parse_stream,
    parse_stream_list,
)

STREAM_ID = "1dec3bbc-758b-4879-a202-7ae877d511ba"
RENDITION_ID = "2aa0c0de-0000-4000-8000-000000000002"
EU = "https://bintu-vod-eu.nanocosmos.de"
US = "https://bintu-vod-us.nanocosmos.de"


def realistic_payload(**changes):
    """The shape of the skeleton in bintu-api.md, with real-looking values."""
    payload = {
        "id": STREAM_ID,
        "state": "ended",
        "type": "low-latency",
        "created_at": "2026-03-04T17:09:19.899Z",
        "tags": ["event:keynote", "room:A"],
        "streamgroup": STREAM_ID,
        "ingest": {
            "rtmp": {"url": "rtmp://bintu-stream.nanocosmos.de/live", "streamname": "AbCdE-fGhIj"}
        },
        "playout": {
            "web": [
                {"type": "live", "url": f"https://bintu.nanocosmos.de:443/playout/{STREAM_ID}"},
                {
                    "type": "vod",
                    "url": f"{US}/AbCdE/AbCdE-fGhIj-1.mp4",
                    "createdAt": "2026-03-04T18:10:49.413Z",
                    "streamId": STREAM_ID,
                    "index": 1,
                },
                {
                    "type": "vod",
                    "url": f"{US}/AbCdE/AbCdE-fGhIj-3.mp4",
                    "createdAt": "2026-03-06T09:00:00.000Z",
                    "streamId": RENDITION_ID,
                    "index": 3,
                    "duration": 3605.5,
                    "size": 73400320,
                    "name": "Keynote day 2",
                    "somethingNew": {"nested": True},
                },
                {
                    "type": "vod",
                    "url": f"{US}/AbCdE/AbCdE-fGhIj-2.mp4",
                    "createdAt": "2026-03-05T12:00:00.000Z",
                    "streamId": STREAM_ID,
                    "index": 2,
                },
            ],
            "thumbnails": [
                {
                    "type": "image",
                    "url": "https://bintu-vod.nanocosmos.de/vod/thumbnails/AbCdE-fGhIj.jpg",
                }
            ],
            "motionclip": [{"type": "gif", "url": "https://bintu-vod.nanocosmos.de/x.gif"}],
            "h5live": [
                {
                    "type": "live",
                    "rtmp": {
                        "url": "rtmp://bintu-play.nanocosmos.de:80/play",
                        "streamname": "AbCdE-fGhIj",
                    },
                    "server": {"websocket": "wss://bintu-h5live.nanocosmos.de:443/h5live/stream"},
                }
            ],
        },
    }
    payload.update(changes)
    return payload


def test_a_realistic_stream_becomes_typed_values():
    stream = parse_stream(realistic_payload())
    assert stream.id == STREAM_ID
    assert stream.state == "ended"
    assert stream.created_at == datetime(2026, 3, 4, 17, 9, 19, 899000, tzinfo=UTC)
    assert stream.tags == ("event:keynote", "room:A")
    assert stream.streamname == "AbCdE-fGhIj"
    assert stream.thumbnail == "https://bintu-vod.nanocosmos.de/vod/thumbnails/AbCdE-fGhIj.jpg"
    assert stream.live.group_id == STREAM_ID
    assert stream.live.streamname == "AbCdE-fGhIj"
    # Only the vod items are recordings, the live playout page is not.
    assert len(stream.recordings) == 3


def test_recordings_come_newest_first_whatever_order_bintu_sent():
    stream = parse_stream(realistic_payload())
    assert [r.index for r in stream.recordings] == [3, 2, 1]
    latest = stream.latest_recording
    assert latest.url == f"{US}/AbCdE/AbCdE-fGhIj-3.mp4"
    assert latest.rendition_id == RENDITION_ID
    assert (latest.duration, latest.size, latest.name) == (3605.5, 73400320, "Keynote day 2")
    oldest = stream.recordings[-1]
    assert (oldest.duration, oldest.size, oldest.name) == (None, None, "")
    assert oldest.rendition_id == STREAM_ID


def test_created_at_is_accepted_in_either_spelling():
    payload = realistic_payload()
    payload["createdAt"] = payload.pop("created_at")
    assert parse_stream(payload).created_at.year == 2026


def test_a_bare_stream_with_no_arrays_parses_to_empty_values():
    stream = parse_stream({"id": STREAM_ID})
    assert stream.recordings == ()
    assert stream.thumbnails == ()
    assert stream.tags == ()
    assert stream.live is None
    assert stream.latest_recording is None
    assert stream.thumbnail == ""
    assert stream.ingest_urls() is None


def test_wrongly_typed_items_are_skipped_with_a_log_line(caplog):
    payload = realistic_payload(tags=["ok", 5, None], created_at=12345)
    payload["playout"]["web"] += ["a string", 7, {"type": "vod", "url": 5}, {"type": "vod"}]
    payload["playout"]["thumbnails"] = {"not": "a list"}
    payload["playout"]["web"][1]["index"] = "one"
    payload["playout"]["web"][1]["createdAt"] = ["2026"]
    with caplog.at_level(logging.WARNING, logger="wagtail_nanovod"):
        stream = parse_stream(payload)
    assert stream.tags == ("ok",)
    assert stream.created_at is None
    assert stream.thumbnails == ()
    assert len(stream.recordings) == 3
    assert any(r.index is None and r.created_at is None for r in stream.recordings)
    assert STREAM_ID in caplog.text


@pytest.mark.parametrize(
    "playout",
    [None, "web", [], {"web": None}, {"web": {"type": "vod"}}, {"web": [None, [], 1.5]}],
)
def test_a_strange_playout_means_no_recordings_not_a_crash(playout):
    assert parse_stream({"id": STREAM_ID, "playout": playout}).recordings == ()


@pytest.mark.parametrize("payload", [[], "stream", 5, None, {"id": "../etc"}, {"state": "live"}])
def test_a_payload_that_is_no_stream_is_a_value_error(payload):
    with pytest.raises(ValueError):
        parse_stream(payload)


def test_an_answer_about_another_stream_is_refused():
    with pytest.raises(ValueError, match="asked for"):
        parse_stream(realistic_payload(), expected_id=RENDITION_ID)


def test_hostile_payload_keeps_text_as_text_and_drops_unsafe_urls(caplog):
    payload = realistic_payload(tags=["<script>alert(1)</script>", "x" * 10_000_000])
    payload["playout"]["web"] = [
        {"type": "vod", "url": "javascript:alert(1)", "createdAt": "2026-03-04T18:10:49Z"},
        {
            "type": "vod",
            "url": "https://evil.example.com/x.mp4",
            "createdAt": "2026-03-04T18:10:49Z",
        },
        {"type": "vod", "url": "http://bintu-vod-eu.example/x.mp4"},
        {"type": "vod", "url": f"{EU}/o/o-s-1.mp4", "name": "<img src=x onerror=alert(1)>"},
    ]
    payload["playout"]["thumbnails"] = [{"url": "javascript:alert(1)"}]
    with caplog.at_level(logging.WARNING, logger="wagtail_nanovod"):
        stream = parse_stream(payload)
    assert [r.url for r in stream.recordings] == [f"{EU}/o/o-s-1.mp4"]
    # Escaping is the template's job; parsing keeps the text but not its size.
    assert stream.recordings[0].name == "<img src=x onerror=alert(1)>"
    assert stream.tags[0] == "<script>alert(1)</script>"
    assert len(stream.tags[1]) <= 500
    assert stream.thumbnails == ()
    assert caplog.text.count("may not be played") == 3


def test_a_stream_survives_a_round_trip_through_plain_data():
    stream = parse_stream(realistic_payload())
    import json

    assert Stream.from_dict(json.loads(json.dumps(stream.to_dict()))) == stream


def test_the_stream_list_skips_items_that_are_no_stream(caplog):
    streams = parse_stream_list([realistic_payload(), "junk", {"no": "id"}])
    assert [s.id for s in streams] == [STREAM_ID]
    with pytest.raises(ValueError):
        parse_stream_list({"streams": []})


def test_ingest_urls_for_both_modes():
    urls = parse_stream(realistic_payload()).ingest_urls()
    assert urls.live == "rtmp://bintu-stream.nanocosmos.de/live/AbCdE-fGhIj"
    assert urls.recording == "rtmp://bintu-stream.nanocosmos.de/rec/AbCdE-fGhIj"
    # Without bintu's server URL the configured one is used.
    assert (
        ingest_urls("AbCdE-fGhIj").recording == "rtmp://bintu-stream.nanocosmos.de/rec/AbCdE-fGhIj"
    )


@pytest.mark.parametrize(
    "value",
    [
        "",
        " ",
        "../organisation",
        "not-a-uuid",
        STREAM_ID + "/../x",
        "1dec3bbc 758b 4879 a202 7ae877d511ba",
        "{1dec3bbc-758b-4879-a202-7ae877d511ba}",
        "1dec3bbc758b4879a2027ae877d511ba",
        "a" * 5000,
        None,
        42,
    ],
)
def test_anything_but_a_uuid_is_an_invalid_stream_id(value):
    with pytest.raises(InvalidStreamId, match="expected a UUID"):
        normalize_stream_id(value)


def test_an_invalid_id_error_does_not_repeat_a_huge_value():
    with pytest.raises(InvalidStreamId) as caught:
        normalize_stream_id("a" * 5000)
    assert len(str(caught.value)) < 200


def test_stream_ids_are_normalised():
    assert normalize_stream_id(" 1DEC3BBC-758B-4879-A202-7AE877D511BA\n") == STREAM_ID
