from datetime import UTC, datetime

import pytest

from wagtail_nanovod.exceptions import BadResponse, InvalidStreamId
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
    assert stream.live_group_id == STREAM_ID
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


def test_fields_bintu_leaves_out_or_sends_as_null_are_empty_not_errors():
    payload = {key: None for key in realistic_payload()}
    payload["id"] = STREAM_ID
    stream = parse_stream(payload)
    assert (stream.state, stream.tags, stream.recordings, stream.live) == ("", (), (), None)
    assert parse_stream({"id": STREAM_ID, "playout": {"web": None}}).recordings == ()


# Documented fields present with the wrong JSON type: an answer that cannot be read, in
# several shapes, each of which was once read as "no recordings".
GARBLED = {
    "state": 5,
    "state-object": {"value": "ended"},
    "tags": "event:keynote",
    "tags[1]": 5,
    "playout": "web",
    "playout-list": [],
    "playout.web": {"type": "vod"},
    "playout.web-string": "[]",
    "playout.web[1]": "a string",
    "playout.web[1].url": 5,
    "playout.web[1].url-missing": None,
    "playout.web[1].type": ["vod"],
    "playout.web[1].createdAt": ["2026"],
    "playout.web[1].index": "one",
    "playout.thumbnails": {"not": "a list"},
    "playout.thumbnails[0].url": False,
    "playout.h5live": {"rtmp": {}},
    "ingest": "rtmp://x",
    "ingest.rtmp.streamname": 123,
    "created_at": 12345,
    "streamgroup": ["a"],
}


def _garble(payload, name, value):
    path = name.split("-")[0].replace("[", ".").replace("]", "").split(".")
    target = payload
    for step in path[:-1]:
        target = target[int(step)] if step.isdigit() else target[step]
    last = int(path[-1]) if path[-1].isdigit() else path[-1]
    if value is None and isinstance(target, dict):
        target.pop(last)
    else:
        target[last] = value
    return path


@pytest.mark.parametrize(("name", "value"), GARBLED.items(), ids=GARBLED)
def test_a_documented_field_of_the_wrong_type_is_a_bad_response(name, value):
    payload = realistic_payload()
    _garble(payload, name, value)
    with pytest.raises(BadResponse) as raised:
        parse_stream(payload, expected_id=STREAM_ID)
    assert raised.value.reason == "bad_response"
    assert raised.value.stream_id == STREAM_ID
    # The message names the field, for the operator who reads the log.
    assert name.split("-")[0].split(".")[-1].split("[")[0] in str(raised.value)


def test_undocumented_fields_of_a_strange_type_are_ignored():
    payload = realistic_payload()
    payload["playout"]["web"][2].update(duration="long", size=[1], name={"x": 1})
    payload["playout"]["motionclip"] = "not read"
    latest = parse_stream(payload).latest_recording
    assert (latest.duration, latest.size, latest.name) == (None, None, "")


def test_a_duration_too_large_for_a_float_is_unknown():
    payload = realistic_payload()
    # Valid JSON: a 400-digit integer, which float() cannot hold.
    payload["playout"]["web"][2]["duration"] = 10**400
    assert parse_stream(payload).latest_recording.duration is None


@pytest.mark.parametrize(
    ("steps", "records"),
    [
        ([{"id": "rec", "duration": None}, {"id": "thumbs", "interval": 45}], True),
        ([{"id": "thumbs", "interval": 45}, {"id": "replay"}], False),
        ([], False),
        (None, None),
        ("rec", None),  # a shape we have never seen: not said, and not an error
    ],
)
def test_the_live_processing_configuration_says_whether_the_stream_records(steps, records):
    payload = realistic_payload()
    if steps is not None:
        payload["playout"]["h5live"][0]["processing"] = steps
    assert parse_stream(payload).records is records


@pytest.mark.parametrize("payload", [[], "stream", 5, None, {"id": "../etc"}, {"state": "live"}])
def test_a_payload_that_is_no_stream_is_a_bad_response(payload):
    with pytest.raises(BadResponse):
        parse_stream(payload)


def test_an_answer_about_another_stream_is_refused():
    with pytest.raises(BadResponse, match="asked for"):
        parse_stream(realistic_payload(), expected_id=RENDITION_ID)


def test_hostile_text_stays_text_and_urls_stay_as_sent(caplog):
    payload = realistic_payload(tags=["<script>alert(1)</script>", "x" * 10_000_000])
    payload["playout"]["web"] = [
        {"type": "vod", "url": "javascript:alert(1)", "createdAt": "2026-03-04T18:10:49Z"},
        {"type": "vod", "url": f"{EU}/o/o-s-1.mp4", "name": "<img src=x onerror=alert(1)>"},
    ]
    stream = parse_stream(payload)
    # Which URLs may be played is decided when a player is built (test_snapshot).
    assert [r.url for r in stream.recordings] == ["javascript:alert(1)", f"{EU}/o/o-s-1.mp4"]
    # Escaping is the template's job; parsing keeps the text but not its size.
    assert stream.recordings[1].name == "<img src=x onerror=alert(1)>"
    assert stream.tags[0] == "<script>alert(1)</script>"
    assert len(stream.tags[1]) <= 500


def test_a_stream_survives_a_round_trip_through_plain_data():
    stream = parse_stream(realistic_payload())
    import json

    assert Stream.from_dict(json.loads(json.dumps(stream.to_dict()))) == stream


def test_the_stream_list_skips_items_that_are_no_stream(caplog):
    streams = parse_stream_list([realistic_payload(), "junk", {"no": "id"}, {"id": 5}])
    assert [s.id for s in streams] == [STREAM_ID]
    with pytest.raises(BadResponse):
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
