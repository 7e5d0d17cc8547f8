"""The fake bintu that ships in wagtail_nanovod.testing, tested over real HTTP.

Nothing here needs Django: the fake must work in any test suite.
"""

import http.client
import json
import re
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest

from wagtail_nanovod import testing
from wagtail_nanovod.testing import FakeBintu, Fault

KEY = "made-up-test-key"

# The shipped fixture, pulled in the way a site's conftest.py would.
fake_bintu = testing.fake_bintu


def fetch(url, *, method="GET", headers=None, timeout=5.0):
    """(status, headers, body) of one request, without following redirects."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request(method, target, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


def api(bintu, path, *, key=KEY, **kwargs):
    """A request to the fake API with the key, decoded when it is JSON."""
    headers = {"X-BINTU-APIKEY": key, "Accept": "application/json"} if key else {}
    status, response_headers, body = fetch(bintu.api_url + path, headers=headers, **kwargs)
    try:
        return status, response_headers, json.loads(body)
    except ValueError:
        return status, response_headers, body


# -- the module itself -------------------------------------------------------------------------


def test_imports_without_django_or_pytest():
    code = (
        "import sys; sys.modules['pytest'] = None\n"
        "import wagtail_nanovod.testing as t\n"
        "assert not hasattr(t, 'fake_bintu'), 'fixture defined without pytest'\n"
        "assert not any(m.startswith('django') for m in sys.modules), 'django imported'\n"
        "with t.FakeBintu() as b: b.add_stream()\n"
    )
    root = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True, timeout=20)


def test_addresses_and_settings(fake_bintu):
    urls = fake_bintu.region_urls
    assert set(urls) == {"eu", "us", "au"}
    token_origin = fake_bintu.token_url.removesuffix("/api/v1/splay")
    assert len({fake_bintu.api_url, token_origin, *urls.values()}) == 5  # one port each
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", fake_bintu.api_url)
    assert fake_bintu.settings() == {
        "API_URL": fake_bintu.api_url,
        "API_KEY": KEY,
        "REGIONS": urls,
        "TOKEN_URL": fake_bintu.token_url,
    }


def test_repr_shows_url_not_key(fake_bintu):
    assert repr(fake_bintu) == f"<FakeBintu {fake_bintu.api_url}>"
    assert KEY not in repr(fake_bintu)


def test_needs_start_for_urls():
    bintu = FakeBintu()
    stream_id = bintu.add_stream()  # streams can be set up before start()
    with pytest.raises(RuntimeError, match="not running"):
        bintu.add_recording(stream_id)
    assert repr(bintu) == "<FakeBintu (not running)>"


# -- Stream Info -------------------------------------------------------------------------------


def test_stream_info_shape(fake_bintu):
    stream_id = fake_bintu.add_stream(tags=["event:keynote"])
    first = fake_bintu.add_recording(stream_id)
    second = fake_bintu.add_recording(stream_id, region="us")

    status, headers, data = api(fake_bintu, f"/stream/{stream_id}")

    assert status == 200
    assert headers["Content-Type"].startswith("application/json")
    assert data == fake_bintu.stream_payload(stream_id)
    assert data["id"] == data["streamgroup"] == stream_id
    assert (data["state"], data["type"], data["tags"]) == (
        "ended",
        "low-latency",
        ["event:keynote"],
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", data["created_at"])
    name = data["ingest"]["rtmp"]["streamname"]
    assert re.fullmatch(r"[A-Za-z]{5}-[A-Za-z]{5}", name)
    org = name.split("-")[0]
    assert first == f"{fake_bintu.region_urls['eu']}/{org}/{name}-1.mp4"
    assert second == f"{fake_bintu.region_urls['us']}/{org}/{name}-2.mp4"
    live, *vods = data["playout"]["web"]
    assert live["type"] == "live"
    assert [(v["type"], v["url"], v["streamId"], v["index"]) for v in vods] == [
        ("vod", first, stream_id, 1),
        ("vod", second, stream_id, 2),
    ]
    assert vods[0]["createdAt"] < vods[1]["createdAt"]
    assert data["playout"]["thumbnails"][0] == {
        "type": "image",
        "url": f"{fake_bintu.region_urls['eu']}/vod/thumbnails/{name}.jpg",
        "streamId": stream_id,
        "streamname": name,
    }
    assert data["playout"]["h5live"][0]["rtmp"]["streamname"] == name
    assert set(data["playout"]["h5live"][0]["server"]) == {"websocket", "hls", "progressive"}


def test_stream_and_recording_options(fake_bintu):
    created = datetime(2026, 3, 4, 17, 9, 19, 899000, tzinfo=UTC)
    stream_id = fake_bintu.add_stream(
        "1dec3bbc-758b-4879-a202-7ae877d511ba",
        state="live",
        streamname="AbCdE-fGhIj",
        created_at=created,
        created_key="createdAt",
        thumbnail=False,
    )
    url = fake_bintu.add_recording(
        stream_id,
        region="au",
        created_at="2026-03-04T18:10:49.413Z",
        index=7,
        rendition="rendition-2",
        extra={"duration": 12.5, "size": 1024},
    )

    data = fake_bintu.stream_payload(stream_id)

    assert stream_id == "1dec3bbc-758b-4879-a202-7ae877d511ba"
    assert data["createdAt"] == "2026-03-04T17:09:19.899Z" and "created_at" not in data
    assert data["state"] == "live"
    assert data["playout"]["thumbnails"] == []
    assert url == f"{fake_bintu.region_urls['au']}/AbCdE/AbCdE-fGhIj-7.mp4"
    assert data["playout"]["web"][1] == {
        "type": "vod",
        "url": url,
        "createdAt": "2026-03-04T18:10:49.413Z",
        "streamId": "rendition-2",
        "index": 7,
        "duration": 12.5,
        "size": 1024,
    }


@pytest.mark.parametrize("key", [None, "made-up-test-key-wrong"])
def test_bad_key_is_401_and_key_never_echoed(fake_bintu, key):
    stream_id = fake_bintu.add_stream()
    fake_bintu.add_recording(stream_id)

    status, headers, body = fetch(
        f"{fake_bintu.api_url}/stream/{stream_id}",
        headers={"X-BINTU-APIKEY": key} if key else {},
    )

    assert status == 401
    assert json.loads(body) == {"error": {"message": "credentials not valid", "code": 4002}}
    for answer in (body, *headers.values()):
        assert KEY not in str(answer)
    _, headers, body = fetch(
        f"{fake_bintu.api_url}/stream/{stream_id}", headers={"X-BINTU-APIKEY": KEY}
    )
    assert KEY.encode() not in body and KEY not in str(headers)


def test_unknown_stream_is_404(fake_bintu):
    status, _, data = api(fake_bintu, "/stream/00000000-0000-0000-0000-000000000000")
    assert status == 404
    assert data["error"]["message"] == "stream not found"


def test_asset_limit_caps_recordings_in_added_order(fake_bintu):
    stream_id = fake_bintu.add_stream()
    urls = [fake_bintu.add_recording(stream_id) for _ in range(3)]

    def vod_urls(query):
        status, _, data = api(fake_bintu, f"/stream/{stream_id}{query}")
        assert status == 200
        return [item["url"] for item in data["playout"]["web"] if item["type"] == "vod"]

    assert vod_urls("") == urls
    assert vod_urls("?asset_limit=2") == urls[:2]
    assert vod_urls("?asset_limit=0") == []
    status, _, data = api(fake_bintu, f"/stream/{stream_id}?asset_limit=lots")
    assert (status, data["error"]["code"]) == (400, 1002)


def test_state_changes_and_removal(fake_bintu):
    stream_id = fake_bintu.add_stream(state="created")
    url = fake_bintu.add_recording(stream_id)
    fake_bintu.set_state(stream_id, "live")
    assert api(fake_bintu, f"/stream/{stream_id}")[2]["state"] == "live"

    fake_bintu.remove_stream(stream_id)

    assert api(fake_bintu, f"/stream/{stream_id}")[0] == 404
    assert fetch(url)[0] == 404
    with pytest.raises(KeyError):
        fake_bintu.remove_stream(stream_id)


def test_set_payload_serves_raw_bytes(fake_bintu):
    stream_id = fake_bintu.add_stream()
    fake_bintu.set_payload(stream_id, b"\xff not json at all")

    status, _, body = fetch(
        f"{fake_bintu.api_url}/stream/{stream_id}", headers={"X-BINTU-APIKEY": KEY}
    )

    assert (status, body) == (200, b"\xff not json at all")
    assert api(fake_bintu, "/stream")[2] == []  # only dict payloads make it into the list


def test_set_payload_dict_for_unknown_id_shows_in_list(fake_bintu):
    odd = {"id": "odd", "state": "ended", "tags": "not-a-list", "playout": {"web": None}}
    fake_bintu.set_payload("odd", odd)

    assert api(fake_bintu, "/stream/odd")[2] == odd
    assert api(fake_bintu, "/stream")[2] == [odd]
    assert api(fake_bintu, "/stream?state=ended")[2] == [odd]
    assert api(fake_bintu, "/stream?tags[]=x")[2] == []


# -- listing -----------------------------------------------------------------------------------


def test_list_filters_by_tags_state_and_quantity(fake_bintu):
    a = fake_bintu.add_stream(state="live", tags=["x", "y"])
    b = fake_bintu.add_stream(state="ended", tags=["x"])
    c = fake_bintu.add_stream(state="created", tags=["y"])

    def ids(**params):
        query = urlencode(params, doseq=True)
        status, _, data = api(fake_bintu, f"/stream?{query}")
        assert status == 200 and isinstance(data, list)
        return [stream["id"] for stream in data]

    assert ids() == [a, b, c]
    assert ids(**{"tags[]": ["x", "y"]}) == [a]
    assert ids(**{"tags[]": ["x"]}) == [a, b]
    assert ids(state=["live", "ended"]) == [a, b]
    assert ids(state="live,created") == [a, c]
    assert ids(quantity=2) == [a, b]
    assert ids(quantity=0) == []
    assert api(fake_bintu, "/stream?tags[]=y&state=created")[2][0]["id"] == c  # raw brackets
    assert api(fake_bintu, "/stream", key=None)[0] == 401


# -- faults ------------------------------------------------------------------------------------


def test_latency_delays_the_answer(fake_bintu):
    stream_id = fake_bintu.add_stream()
    fake_bintu.inject(Fault.latency(0.3))

    started = time.monotonic()
    status = api(fake_bintu, f"/stream/{stream_id}")[0]

    assert status == 200
    assert time.monotonic() - started >= 0.3


def test_hang_times_out_the_client_and_stop_is_prompt():
    bintu = FakeBintu(api_key=KEY).start()
    try:
        bintu.inject(Fault.hang())
        with pytest.raises(TimeoutError):
            api(bintu, "/stream", timeout=0.2)
        assert bintu.calls() == 1  # recorded although never answered
    finally:
        started = time.monotonic()
        bintu.stop()
    assert time.monotonic() - started < 1.0


def test_release_closes_hung_requests_and_stops_hanging(fake_bintu):
    fake_bintu.inject(Fault.hang())
    errors = []

    def hung_call():
        try:
            api(fake_bintu, "/stream", timeout=5)
        except Exception as exc:
            errors.append(exc)

    thread = threading.Thread(target=hung_call)
    thread.start()
    while fake_bintu.calls() == 0:
        time.sleep(0.01)
    fake_bintu.release()
    thread.join(timeout=2)

    assert not thread.is_alive()
    assert isinstance(errors[0], ConnectionError)  # closed without an answer
    assert api(fake_bintu, "/stream", timeout=2)[0] == 200


def test_status_fault_uses_documented_error_shape(fake_bintu):
    fake_bintu.inject(Fault.status(503))
    status, _, data = api(fake_bintu, "/stream")
    assert (status, data) == (503, {"error": {"message": "service unavailable", "code": 503}})

    fake_bintu.inject(Fault.status(502, body="<html>Bad Gateway</html>"))
    status, headers, body = api(fake_bintu, "/stream")
    assert (status, body) == (502, b"<html>Bad Gateway</html>")
    assert headers["Content-Type"].startswith("text/plain")


def test_rate_limited_has_retry_after(fake_bintu):
    fake_bintu.inject(Fault.rate_limited(retry_after=2))
    status, headers, data = api(fake_bintu, "/stream")
    assert (status, headers["Retry-After"]) == (429, "2")
    assert data["error"]["code"] == 429


def test_malformed_json(fake_bintu):
    fake_bintu.inject(Fault.malformed_json())
    status, headers, body = api(fake_bintu, "/stream")
    assert status == 200
    assert headers["Content-Type"].startswith("application/json")
    with pytest.raises(ValueError):
        json.loads(body)


def test_wrong_type_json(fake_bintu):
    stream_id = fake_bintu.add_stream()
    fake_bintu.inject(Fault.wrong_type_json())
    status, _, data = api(fake_bintu, f"/stream/{stream_id}")
    assert status == 200 and isinstance(data, list)
    status, _, data = api(fake_bintu, "/stream")
    assert status == 200 and isinstance(data, dict)


def test_redirect_to_another_host_that_records_headers(fake_bintu):
    with FakeBintu(api_key="another-key") as elsewhere:
        target = f"{elsewhere.api_url}/stream/somewhere?x=1"
        fake_bintu.inject(Fault.redirect(target))
        status, headers, body = api(fake_bintu, "/stream")
        assert (status, headers["Location"], body) == (302, target, b"")

        fetch(headers["Location"], headers={"X-Custom": "followed"})

        (request,) = elsewhere.requests
        assert (request.path, request.query) == ("/stream/somewhere", {"x": ["1"]})
        assert request.headers["x-custom"] == "followed"
        assert "X-BINTU-APIKEY" not in request.headers


def test_oversized_body(fake_bintu):
    fake_bintu.inject(Fault.oversized(300_000))
    status, headers, body = fetch(f"{fake_bintu.api_url}/stream", headers={"X-BINTU-APIKEY": KEY})
    assert status == 200
    assert int(headers["Content-Length"]) == len(body) == 300_000
    assert isinstance(json.loads(body), dict)


def test_drop_connection(fake_bintu):
    fake_bintu.inject(Fault.drop_connection())
    with pytest.raises(ConnectionError):
        api(fake_bintu, "/stream")


def test_times_limits_a_fault_and_clear_faults_removes_them(fake_bintu):
    fake_bintu.inject(Fault.status(500), times=1)
    assert [api(fake_bintu, "/stream")[0] for _ in range(2)] == [500, 200]

    fake_bintu.inject(Fault.status(500))
    assert [api(fake_bintu, "/stream")[0] for _ in range(2)] == [500, 500]
    fake_bintu.clear_faults()
    assert api(fake_bintu, "/stream")[0] == 200


def test_per_stream_faults_leave_other_requests_alone(fake_bintu):
    broken, fine = fake_bintu.add_stream(), fake_bintu.add_stream()
    fake_bintu.inject(Fault.status(503), stream_id=broken)

    assert api(fake_bintu, f"/stream/{broken}")[0] == 503
    assert api(fake_bintu, f"/stream/{fine}")[0] == 200
    assert api(fake_bintu, "/stream")[0] == 200

    fake_bintu.inject(Fault.status(500))  # global, and the newest fault wins
    assert api(fake_bintu, f"/stream/{broken}")[0] == 500
    assert api(fake_bintu, f"/stream/{fine}")[0] == 500


def test_faults_come_before_the_key_check(fake_bintu):
    fake_bintu.inject(Fault.status(503), times=1)
    assert api(fake_bintu, "/stream", key=None)[0] == 503


# -- what the fake received --------------------------------------------------------------------


def test_requests_are_recorded_and_counted(fake_bintu):
    a, b = fake_bintu.add_stream(), fake_bintu.add_stream()
    url = fake_bintu.add_recording(a)
    api(fake_bintu, f"/stream/{a}?asset_limit=5")
    api(fake_bintu, f"/stream/{a}")
    api(fake_bintu, f"/stream/{b}")
    api(fake_bintu, "/stream?tags[]=x")
    fetch(url)

    first = fake_bintu.requests[0]
    assert (first.server, first.method, first.path) == ("api", "GET", f"/stream/{a}")
    assert (first.query, first.stream_id) == ({"asset_limit": ["5"]}, a)
    assert first.headers["X-Bintu-ApiKey"] == first.headers.get("x-bintu-apikey") == KEY
    assert "ACCEPT" in first.headers
    assert KEY not in repr(first)  # assertion messages do not leak the key
    assert fake_bintu.requests[3].query == {"tags[]": ["x"]}
    assert (fake_bintu.requests[4].server, fake_bintu.requests[4].stream_id) == ("eu", a)
    assert (fake_bintu.calls(a), fake_bintu.calls(b), fake_bintu.calls()) == (2, 1, 4)

    fake_bintu.reset_requests()
    assert fake_bintu.requests == [] and fake_bintu.calls() == 0


# -- region file servers -----------------------------------------------------------------------


def test_recording_supports_byte_ranges(fake_bintu):
    content = bytes(range(256)) * 4
    url = fake_bintu.add_recording(fake_bintu.add_stream(), content=content)

    status, headers, body = fetch(url)
    assert (status, body) == (200, content)
    assert (headers["Content-Type"], headers["Accept-Ranges"]) == ("video/mp4", "bytes")

    for asked, start, end in [("10-19", 10, 19), ("1000-", 1000, 1023), ("-16", 1008, 1023)]:
        status, headers, body = fetch(url, headers={"Range": f"bytes={asked}"})
        assert status == 206
        assert headers["Content-Range"] == f"bytes {start}-{end}/1024"
        assert body == content[start : end + 1]

    status, headers, _ = fetch(url, headers={"Range": "bytes=5000-"})
    assert (status, headers["Content-Range"]) == (416, "bytes */1024")


def test_recording_head_and_default_content(fake_bintu):
    url = fake_bintu.add_recording(fake_bintu.add_stream())
    status, headers, body = fetch(url, method="HEAD")
    assert (status, body) == (200, b"")
    assert int(headers["Content-Length"]) == len(testing.PLACEHOLDER_MP4)
    assert fetch(url)[2][4:12] == b"ftypmp42"


def test_recording_404_until_available(fake_bintu):
    url = fake_bintu.add_recording(fake_bintu.add_stream(), available_after=0.3)
    assert fetch(url)[0] == 404
    time.sleep(0.35)
    assert fetch(url)[0] == 200


def test_recording_only_on_its_own_region(fake_bintu):
    url = fake_bintu.add_recording(fake_bintu.add_stream(), region="us")
    path = urlsplit(url).path
    assert fetch(url)[0] == 200
    assert fetch(fake_bintu.region_urls["eu"] + path)[0] == 404
    assert fetch(fake_bintu.api_url + path)[0] == 401  # not a file server at all


def test_thumbnail_and_motionclip_are_images(fake_bintu):
    stream_id = fake_bintu.add_stream()
    playout = fake_bintu.stream_payload(stream_id)["playout"]

    status, headers, body = fetch(playout["thumbnails"][0]["url"])
    assert (status, headers["Content-Type"]) == (200, "image/jpeg")
    assert body[:2] == b"\xff\xd8" and body[-2:] == b"\xff\xd9"
    status, headers, body = fetch(playout["motionclip"][0]["url"])
    assert (status, headers["Content-Type"], body[:6]) == (200, "image/gif", b"GIF89a")

    path = urlsplit(playout["thumbnails"][0]["url"]).path
    assert fetch(fake_bintu.region_urls["us"] + path)[0] == 404
    bare = fake_bintu.add_stream(thumbnail=False, streamname="NoImg-Stream")
    assert fake_bintu.stream_payload(bare)["playout"]["thumbnails"] == []
    assert fetch(f"{fake_bintu.region_urls['eu']}/vod/thumbnails/NoImg-Stream.jpg")[0] == 404
