"""A fake bintu (the nanoStream Cloud REST API) for tests: ours and those of sites using us.

:class:`FakeBintu` runs real HTTP servers on 127.0.0.1, so timeouts, redirects, slow and broken
answers reach the client exactly as they would over the network: one server for the API, one
for nanoStream's secure playback token service (``token_url``: it issues HS256 JWTs that
``verify_token()`` checks) and one per storage region for the recording files and thumbnails.
It needs only the standard library (no Django settings, no pytest)::

    from wagtail_nanovod.testing import FakeBintu, Fault

    with FakeBintu(api_key="made-up-test-key") as bintu:
        stream_id = bintu.add_stream(tags=["event:keynote"])
        url = bintu.add_recording(stream_id, region="us")
        bintu.inject(Fault.status(503), times=1)  # the next API call fails once
        with override_settings(WAGTAIL_NANOVOD=bintu.settings()):
            token = ...  # a playback token the code under test got from the token service
        assert bintu.verify_token(token, groupid=stream_id, domain="example.com")
        bintu.inject(Fault.drop_connection(), service="token")  # token requests fail from now on

With pytest, ``from wagtail_nanovod.testing import fake_bintu`` in a ``conftest.py`` provides a
started instance as the ``fake_bintu`` fixture.
"""

from __future__ import annotations

import base64
import copy
import functools
import hashlib
import hmac
import json
import random
import re
import secrets
import string
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = [
    "FakeBintu",
    "Fault",
    "Headers",
    "ReceivedRequest",
    "fake_bintu",
    "wait_for_background_refreshes",
]


def wait_for_background_refreshes(timeout: float = 30.0) -> bool:
    """Wait until the refreshes this process runs in the background (the immediate task
    backend's, and first fetches that outlived a page's ``TIMEOUT``) have ended.

    Call it before asserting what a refresh stored, and between tests, so that one
    test's background work does not write into the next one's database.
    """
    from .fetching import wait_until_idle

    return wait_until_idle(timeout)


#: Storage regions, each served by its own server (see ``FakeBintu.region_urls``).
REGIONS = ("eu", "us", "au")

# A 16x9 px grey JPEG and a 1x1 px GIF: real images, so code that sniffs or decodes them works.
THUMBNAIL_JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERXRTc4"
    "UG1RV19iZ2hnPk1xeXBkeFxlZ2P/wAALCAAJABABAREA/8QAFQABAQAAAAAAAAAAAAAAAAAAAAX/xAAUEAEAAAAAAAAA"
    "AAAAAAAAAAAA/9oACAEBAAA/AJ4D/9k="
)
MOTIONCLIP_GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==")

_IMAGES = (
    ("/vod/thumbnails/", ".jpg", THUMBNAIL_JPEG, "image/jpeg"),
    ("/vod/motionclips/", ".gif", MOTIONCLIP_GIF, "image/gif"),
)

# 1 KiB made of an MP4 "ftyp" box and a "free" box: it sniffs as MP4 but is not playable.
PLACEHOLDER_MP4 = (
    b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
    + (1024 - 24).to_bytes(4, "big")
    + b"free"
    + bytes(1024 - 32)
)

_JSON = "application/json; charset=utf-8"
_NO_PAYLOAD: Any = object()  # marks a stream whose payload is built, not set by set_payload()
_DISCONNECTS = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)
_STREAM_INFO = re.compile(r"/stream/([^/]+)")
_RANGE = re.compile(r"bytes=([0-9]*)-([0-9]*)")

# The token service: its paths, and the lifetimes it gives tokens that ask for none.
_SPLAY = "/api/v1/splay"
_SPLAY_VERIFY = _SPLAY + "/verify"
_TOKEN_LIFETIME = 14 * 24 * 3600
_REVOCABLE_LIFETIME = 24 * 3600  # revocable tokens never live longer, whatever they ask
_JWT_HEADER = {"alg": "HS256", "typ": "JWT"}
_JWT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def _error_body(message: str, code: int) -> bytes:
    """The documented bintu error shape; codes the docs don't show are the HTTP status."""
    return json.dumps({"error": {"message": message, "code": code}}).encode()


def _iso(value: datetime | str | None) -> str:
    """ISO-8601 in UTC with milliseconds and ``Z``, as bintu writes it; strings pass untouched."""
    if isinstance(value, str):
        return value  # lets a test feed odd timestamps to the parser
    value = value or datetime.now(UTC)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def _token_error(message: str, code: int) -> dict[str, Any]:
    """The token service's error shape; codes its docs don't show are the HTTP status."""
    return {"success": False, "errorCode": code, "message": message}


def _requested_claims(request: Any, now: int) -> dict[str, Any]:
    """The claims of the token that *request* (the parsed body) asks for at *now*.

    Raises ValueError, with the message the service answers, for a request it refuses.
    """
    if not isinstance(request, dict):
        raise ValueError("the body must be a JSON object")
    scopes = [name for name in ("groupid", "streams", "orgawide") if name in request]
    if not scopes:
        raise ValueError("one of groupid, streams or orgawide is required")
    if len(scopes) > 1:
        raise ValueError(f"only one of groupid, streams or orgawide may be given, not {scopes}")
    scope, value = scopes[0], request[scopes[0]]
    if scope == "groupid" and not (isinstance(value, str) and value):
        raise ValueError("groupid must be a non-empty string")
    if scope == "streams" and not (
        isinstance(value, list) and value and all(isinstance(v, str) and v for v in value)
    ):
        raise ValueError("streams must be a non-empty list of stream names")
    if scope == "orgawide" and value is not True:
        raise ValueError("orgawide must be true")
    claims: dict[str, Any] = {scope: value}
    if "domain" in request:
        if not (isinstance(request["domain"], str) and request["domain"]):
            raise ValueError("domain must be a non-empty string")
        claims["domain"] = request["domain"]
    for name in ("nbf", "exp"):
        # JSON's true is an int to Python; to the service it is no time.
        if name in request and type(request[name]) is not int:
            raise ValueError(f"{name} must be an integer (Unix time in seconds)")
    nbf, exp = request.get("nbf", now), request.get("exp", now + _TOKEN_LIFETIME)
    if exp <= now:
        raise ValueError("exp must lie in the future")
    if request.get("revocable") is True:
        exp = min(exp, now + _REVOCABLE_LIFETIME)
    if exp <= nbf:
        raise ValueError("exp must come after nbf")
    return {**claims, "nbf": nbf, "exp": exp, "iat": now, "jti": secrets.token_hex(16)}


def _b64(data: bytes) -> str:
    """base64url without padding, as JWTs write it."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64_json(value: Any) -> str:
    return _b64(json.dumps(value, separators=(",", ":")).encode())


def _unb64_json(text: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


@dataclass(frozen=True)
class Fault:
    """Something going wrong on the API server or the token service (see ``FakeBintu.inject``);
    build one with the class methods."""

    kind: str  # "latency", "hang", "respond", "wrong_type", "garbled", "oversized", "drop"
    code: int = 200
    body: bytes = b""
    content_type: str = _JSON
    headers: tuple[tuple[str, str], ...] = ()
    seconds: float = 0.0
    size: int = 0
    path: tuple[str | int, ...] = ()
    value: Any = None

    @classmethod
    def latency(cls, seconds: float) -> Fault:
        """Answer normally, but only after *seconds*."""
        return cls("latency", seconds=seconds)

    @classmethod
    def hang(cls) -> Fault:
        """Accept the connection and never answer, until ``release()`` or ``stop()``."""
        return cls("hang")

    @classmethod
    def status(
        cls,
        code: int,
        body: Any = None,
        *,
        content_type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Fault:
        """Answer with status *code*.

        *body* defaults to the documented error shape; bytes and str are sent as they are
        (``text/plain`` unless *content_type* says otherwise), anything else as JSON.
        """
        if not 200 <= code <= 599:
            raise ValueError(f"a final HTTP status lies between 200 and 599, not {code}")
        if body is None:
            # 204 and 304 must not carry a body; the rest get the documented error shape.
            try:
                message = HTTPStatus(code).phrase.lower()
            except ValueError:  # a status without a registered name, such as 599
                message = "error"
            raw = b"" if code in (204, 304) else _error_body(message, code)
        elif isinstance(body, (bytes, str)):
            raw = body.encode() if isinstance(body, str) else body
            content_type = content_type or "text/plain; charset=utf-8"
        else:
            raw = json.dumps(body).encode()
        extra = tuple((headers or {}).items())
        return cls(
            "respond", code=code, body=raw, content_type=content_type or _JSON, headers=extra
        )

    @classmethod
    def rate_limited(cls, retry_after: int = 1) -> Fault:
        """429 with a ``Retry-After`` header of *retry_after* seconds."""
        return cls.status(429, headers={"Retry-After": str(retry_after)})

    @classmethod
    def malformed_json(cls) -> Fault:
        """200 announcing JSON, with a body that is not JSON (it is cut off)."""
        return cls.status(200, b'{"id": "1dec3bbc-758b', content_type=_JSON)

    @classmethod
    def wrong_type_json(cls) -> Fault:
        """200 with valid JSON of the wrong type (a list for Stream Info, an object for lists,
        a list for the token service)."""
        return cls("wrong_type")

    @classmethod
    def garbled(cls, path: str, value: Any) -> Fault:
        """200 with the stream's real Stream Info, one field replaced by *value*.

        *path* is dotted, list positions as numbers: ``"state"``, ``"playout.web"``,
        ``"playout.web.1.url"``. A path that does not exist yet is created, so a field
        the answer lacks can be sent too. Valid JSON that says something unreadable.

        On the token service it garbles the answer the request gets with the right key
        (``"data.token"``, ``"success"``), sent with 200 whatever that answer's status.
        """
        steps = tuple(int(step) if step.isdigit() else step for step in path.split("."))
        return cls("garbled", path=steps, value=value)

    @classmethod
    def redirect(cls, location: str, code: int = 302) -> Fault:
        """A redirect to *location*; point it at another server to see what a client sends on."""
        return cls.status(code, b"", headers={"Location": location})

    @classmethod
    def oversized(cls, n_bytes: int) -> Fault:
        """200 with a valid JSON object of exactly *n_bytes*, streamed in chunks."""
        if n_bytes < 16:
            raise ValueError("an oversized body has at least 16 bytes")
        return cls("oversized", size=n_bytes)

    @classmethod
    def drop_connection(cls) -> Fault:
        """Close the connection without answering."""
        return cls("drop")


class Headers(dict[str, str]):
    """Request headers as a dict of lower-case names; lookups ignore case."""

    def __getitem__(self, name: str) -> str:
        return super().__getitem__(name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and super().__contains__(name.lower())

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        """The value of header *name* (any case), or *default*."""
        return super().get(name.lower(), default)

    def __repr__(self) -> str:
        # Keeps credentials out of assertion messages and CI logs.
        secret = ("x-bintu-apikey", "x-bintu-token", "authorization")
        return repr({k: "***" if k in secret else v for k, v in self.items()})


@dataclass(frozen=True)
class ReceivedRequest:
    """One request as a server of the fake received it."""

    server: str  # "api", "token" or a region code
    method: str
    path: str  # without the query string, percent-decoded
    query: dict[str, list[str]]
    headers: Headers
    stream_id: str | None  # Stream Info id, or the stream owning a requested file
    time: float = field(default_factory=time.monotonic)  # to check back-off delays
    #: The client's end of the TCP connection ("127.0.0.1:54321"): one per connection.
    connection: str = ""


@dataclass
class _Stream:
    id: str
    state: str
    tags: list[str]
    streamname: str
    created_at: str
    created_key: str
    thumbnail: bool
    recordings: list[dict[str, Any]] = field(default_factory=list)
    records: bool | None = None
    payload: Any = _NO_PAYLOAD


@dataclass
class _File:
    stream_id: str
    content: bytes
    available_at: float  # time.monotonic(); 404 before, like a recording still being processed


@dataclass
class _Injection:
    fault: Fault
    stream_id: str | None
    remaining: int | None
    service: str = "api"  # or "token"


class FakeBintu:
    """A bintu API server, a secure playback token service and one file server per storage
    region, all on 127.0.0.1.

    Use it as a context manager, or call ``start()`` and ``stop()``. Everything is thread-safe.
    """

    def __init__(self, api_key: str = "made-up-test-key", *, keep_alive: bool = False) -> None:
        """*keep_alive*: the API server keeps connections open between requests (HTTP/1.1),
        as bintu does, so that a test can see a client reuse them (``connection`` of each
        received request). Off by default: faults close connections, which makes a client
        that reuses them retry."""
        self.api_key = api_key
        self.keep_alive = keep_alive
        self._lock = threading.Lock()
        self._streams: dict[str, _Stream] = {}
        self._files: dict[tuple[str, str], _File] = {}  # (region, path) -> file
        self._faults: list[_Injection] = []
        self._requests: list[ReceivedRequest] = []
        # Stream Info requests being answered now, and the most at once, by stream id.
        self._in_flight: dict[str, int] = {}
        self._most_in_flight: dict[str, int] = {}
        self._urls: dict[str, str] = {}
        self._servers: list[_Server] = []
        self._started = False
        self._stopping = threading.Event()
        # Hung requests wait on this; release() swaps in a fresh one so later hangs still hang.
        self._released = threading.Event()
        self._last_created = datetime.min.replace(tzinfo=UTC)
        # Signs the playback tokens: new for every fake, so no other issuer's token verifies.
        self._token_secret = secrets.token_bytes(32)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> FakeBintu:
        """Bind free ports and start serving; returns self."""
        if self._started:
            raise RuntimeError("a FakeBintu can be started only once")
        self._started = True
        servers: list[_Server] = []
        try:
            for name in ("api", "token", *REGIONS):
                handler: type[_Handler] = _FileHandler
                if name == "api":
                    handler = _KeepAliveApiHandler if self.keep_alive else _ApiHandler
                elif name == "token":
                    handler = _TokenHandler
                servers.append(_Server(self, name, handler))
        except BaseException:
            for server in servers:
                server.server_close()
            raise
        for server in servers:
            self._urls[server.name] = f"http://127.0.0.1:{server.server_address[1]}"
            # A short poll interval makes shutdown() in stop() return promptly.
            serve = functools.partial(server.serve_forever, poll_interval=0.05)
            threading.Thread(target=serve, name=f"FakeBintu-{server.name}", daemon=True).start()
            self._servers.append(server)
        return self

    def stop(self) -> None:
        """Stop all servers; hung and delayed requests are closed without an answer."""
        self._stopping.set()
        with self._lock:
            self._released.set()
            servers, self._servers = self._servers, []
        # shutdown() waits up to one poll interval: wait for all servers at once, not in turn.
        stoppers = [threading.Thread(target=server.shutdown) for server in servers]
        for thread in stoppers:
            thread.start()
        for thread, server in zip(stoppers, servers, strict=True):
            thread.join()
            server.server_close()

    def __enter__(self) -> FakeBintu:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        # Never the key: reprs end up in assertion messages and logs.
        if self._servers:
            return f"<FakeBintu {self.api_url}>"
        return "<FakeBintu (not running)>"

    # -- addresses -------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        """The API base URL, without a trailing slash."""
        return self._url("api")

    @property
    def region_urls(self) -> dict[str, str]:
        """Base URL of each region's file server, by region code."""
        return {region: self._url(region) for region in REGIONS}

    @property
    def token_url(self) -> str:
        """The token service's URL, ``/api/v1/splay`` included, as nanoStream documents it."""
        return self._url("token") + _SPLAY

    def settings(self) -> dict[str, Any]:
        """A ``WAGTAIL_NANOVOD`` settings dict pointing at this fake."""
        return {
            "API_URL": self.api_url,
            "API_KEY": self.api_key,
            "REGIONS": self.region_urls,
            "TOKEN_URL": self.token_url,
        }

    def _url(self, name: str) -> str:
        if not self._urls:
            raise RuntimeError("FakeBintu is not running: use it in a with block or call start()")
        return self._urls[name]

    # -- streams and recordings ------------------------------------------------------------

    def add_stream(
        self,
        stream_id: str | None = None,
        *,
        state: str = "ended",
        tags: Iterable[str] = (),
        streamname: str | None = None,
        created_at: datetime | str | None = None,
        created_key: str = "created_at",
        thumbnail: bool = True,
        records: bool | None = None,
    ) -> str:
        """Add (or replace) a stream and return its id.

        *created_key* names the creation time field: bintu has spelt it ``createdAt`` too.
        *records* adds its live processing configuration (``playout.h5live[].processing``),
        with a ``rec`` step or without; None leaves it out, as for a legacy stream.
        """
        stream_id = stream_id or str(uuid.uuid4())
        if streamname is None:
            # "organisation hash-stream part", like the names bintu hands out.
            org, part = ("".join(random.choices(string.ascii_letters, k=5)) for _ in "12")
            streamname = f"{org}-{part}"
        stream = _Stream(
            stream_id, state, list(tags), streamname, _iso(created_at), created_key, thumbnail
        )
        stream.records = records
        with self._lock:
            self._forget(stream_id)
            self._streams[stream_id] = stream
        return stream_id

    def add_recording(
        self,
        stream_id: str,
        *,
        region: str = "eu",
        created_at: datetime | str | None = None,
        index: int | None = None,
        rendition: str | None = None,
        extra: dict[str, Any] | None = None,
        available_after: float = 0.0,
        content: bytes | None = None,
    ) -> str:
        """Add a recording (a ``playout.web`` item of type ``vod``) and return its URL.

        The file is served by *region*'s server only, and answers 404 for *available_after*
        seconds, as a recording does while bintu still processes it. *extra* is merged into
        the item, for fields some payloads carry (duration, size, name, ...).
        """
        base = self._url(region)
        with self._lock:
            stream = self._streams[stream_id]
            if index is None:
                index = len(stream.recordings) + 1
            if created_at is None:
                # Strictly increasing, so recordings added in one millisecond still sort.
                now = datetime.now(UTC)
                created_at = max(now, self._last_created + timedelta(milliseconds=1))
                self._last_created = created_at
            org = stream.streamname.split("-", 1)[0]
            path = f"/{org}/{stream.streamname}-{index}.mp4"
            item = {
                "type": "vod",
                "url": base + path,
                "createdAt": _iso(created_at),
                "streamId": rendition or stream_id,
                "index": index,
                **(extra or {}),
            }
            stream.recordings.append(item)
            available_at = time.monotonic() + available_after
            self._files[region, path] = _File(
                stream_id, PLACEHOLDER_MP4 if content is None else content, available_at
            )
        return base + path

    def set_state(self, stream_id: str, state: str) -> None:
        """Change a stream's state (``created``, ``live``, ``ended``, ``locked``, ...)."""
        with self._lock:
            self._streams[stream_id].state = state

    def set_payload(self, stream_id: str, payload: Any) -> None:
        """Serve *payload* as Stream Info of *stream_id* from now on, whatever else was added.

        bytes and str are sent as the raw body, anything else as JSON; a dict also shows up
        in the stream list. Tip: edit a copy of ``stream_payload()`` to break one field.
        """
        with self._lock:
            if stream_id not in self._streams:
                self._streams[stream_id] = _Stream(stream_id, "", [], "", "", "", False)
            self._streams[stream_id].payload = payload

    def remove_stream(self, stream_id: str) -> None:
        """Delete a stream: its Stream Info, thumbnail and recording files answer 404."""
        with self._lock:
            if stream_id not in self._streams:
                raise KeyError(stream_id)
            self._forget(stream_id)

    def stream_payload(self, stream_id: str) -> Any:
        """A copy of what Stream Info answers now: a dict, unless set_payload() said otherwise."""
        with self._lock:
            return copy.deepcopy(self._payload(self._streams[stream_id], None))

    def _forget(self, stream_id: str) -> None:
        self._streams.pop(stream_id, None)
        for key in [key for key, file in self._files.items() if file.stream_id == stream_id]:
            del self._files[key]

    def _payload(self, stream: _Stream, asset_limit: int | None) -> Any:
        """Stream Info of *stream*, shaped like bintu's (call with the lock held)."""
        if stream.payload is not _NO_PAYLOAD:
            return stream.payload
        sid, name = stream.id, stream.streamname
        # bintu's order of assets is undocumented; keeping insertion order makes sure our
        # client sorts by itself.
        vods = stream.recordings if asset_limit is None else stream.recordings[:asset_limit]
        images = self._urls["eu"] + "/vod"
        thumbnails, motionclips = [], []
        if stream.thumbnail:
            thumbnail = {"type": "image", "url": f"{images}/thumbnails/{name}.jpg"}
            thumbnails = [{**thumbnail, "streamId": sid, "streamname": name}]
            motionclips = [{"type": "gif", "url": f"{images}/motionclips/{name}.gif"}]
        # Live outputs on the real hosts: nothing here fetches them, players only get the id.
        h5live = "https://bintu-h5live.nanocosmos.de:443/h5live"
        play = {"url": "rtmp://bintu-play.nanocosmos.de:80/play", "streamname": name}
        servers = {
            "websocket": "wss" + h5live[5:] + "/stream.mp4",
            "hls": h5live + "/http/playlist.m3u8",
            "progressive": h5live + "/http/stream.mp4",
        }
        live = {"id": sid, "type": "live", "rtmp": play, "server": servers}
        if stream.records is not None:
            steps = [{"id": "thumbs", "interval": 45}]
            live["processing"] = (
                [{"id": "rec", "duration": None}, *steps] if stream.records else steps
            )
        return {
            "id": sid,
            "state": stream.state,
            "type": "low-latency",
            stream.created_key: stream.created_at,
            "tags": list(stream.tags),
            "streamgroup": sid,
            "ingest": {
                "rtmp": {"url": "rtmp://bintu-stream.nanocosmos.de/live", "streamname": name}
            },
            "playout": {
                "web": [
                    {"type": "live", "url": f"{self.api_url}/playout/{sid}", "streamId": sid},
                    *vods,
                ],
                "thumbnails": thumbnails,
                "motionclip": motionclips,
                "h5live": [live],
                "hls": [{"type": "live", "url": f"{servers['hls']}?stream={name}"}],
                "rtmp": [{"type": "live", "url": f"{play['url']}/{name}"}],
            },
        }

    # -- faults ----------------------------------------------------------------------------

    def inject(
        self,
        fault: Fault,
        stream_id: str | None = None,
        times: int | None = None,
        *,
        service: str = "api",
    ) -> None:
        """Apply *fault* to the next *times* API requests (all of them when None).

        With *stream_id*, only Stream Info requests of that stream are affected. When several
        faults match a request, the one injected last applies. ``service="token"`` applies
        it to the token service's ``/api/v1/splay`` requests instead (``/verify`` is spared),
        and API requests are then left alone, as token requests are by API faults.
        """
        if service not in ("api", "token"):
            raise ValueError(f"service is 'api' or 'token', not {service!r}")
        if service == "token" and stream_id is not None:
            raise ValueError("stream_id picks Stream Info requests: the token service has none")
        with self._lock:
            self._faults.append(_Injection(fault, stream_id, times, service))

    def clear_faults(self) -> None:
        """Remove all faults; requests already hanging stay hung until ``release()``."""
        with self._lock:
            self._faults.clear()

    def release(self) -> None:
        """Close the requests hanging now; later ones hang only if a hang is injected again."""
        with self._lock:
            self._faults = [f for f in self._faults if f.fault.kind != "hang"]
            self._released.set()
            self._released = threading.Event()

    def _take_fault(
        self, stream_id: str | None, service: str = "api"
    ) -> tuple[Fault | None, threading.Event]:
        """The fault for a request to *service*, used up once; with the event a hang waits on."""
        with self._lock:
            for injection in reversed(self._faults):
                if injection.service != service or injection.stream_id not in (None, stream_id):
                    continue
                if injection.remaining is not None:
                    injection.remaining -= 1
                    if injection.remaining <= 0:
                        self._faults.remove(injection)
                return injection.fault, self._released
            return None, self._released

    # -- playback tokens -------------------------------------------------------------------

    def verify_token(
        self, token: Any, *, groupid: str | None = None, domain: str | None = None
    ) -> dict[str, Any] | None:
        """The claims of *token* when this fake's token service issued it and it is valid now
        (not before ``nbf``, not from ``exp`` on), with *groupid* and *domain* when given;
        None otherwise, whatever *token* is (it never raises)."""
        claims = self._valid_claims(token)
        if claims is None:
            return None
        if groupid is not None and claims.get("groupid") != groupid:
            return None
        if domain is not None and claims.get("domain") != domain:
            return None
        return claims

    def _sign_token(self, claims: dict[str, Any]) -> str:
        """*claims* as an HS256 JWT signed with this fake's secret."""
        signing_input = f"{_b64_json(_JWT_HEADER)}.{_b64_json(claims)}"
        digest = hmac.new(self._token_secret, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_b64(digest)}"

    def _valid_claims(self, token: Any) -> dict[str, Any] | None:
        """The claims of *token* when this fake signed it and it is valid now, else None."""
        if not isinstance(token, str) or not _JWT.fullmatch(token):
            return None
        signing_input, _, signature = token.rpartition(".")
        digest = hmac.new(self._token_secret, signing_input.encode(), hashlib.sha256).digest()
        # The signature as text, not as decoded bytes: base64 decoding skips stray characters.
        if not hmac.compare_digest(signature, _b64(digest)):
            return None
        # Signed by us, so it decodes to claims _requested_claims() made.
        claims = _unb64_json(signing_input.split(".")[1])
        return claims if claims["nbf"] <= time.time() < claims["exp"] else None

    # -- what was received -----------------------------------------------------------------

    @property
    def requests(self) -> list[ReceivedRequest]:
        """Every request received so far, on all servers, oldest first (a copy)."""
        with self._lock:
            return list(self._requests)

    def calls(self, stream_id: str | None = None) -> int:
        """How many Stream Info requests *stream_id* got; all API requests when None."""
        with self._lock:
            return sum(
                1
                for r in self._requests
                if r.server == "api" and (stream_id is None or r.stream_id == stream_id)
            )

    def token_calls(self) -> int:
        """How many token requests (``POST`` to ``token_url``) arrived, faults included."""
        with self._lock:
            return sum(
                1
                for r in self._requests
                if r.server == "token" and r.method == "POST" and r.path.rstrip("/") == _SPLAY
            )

    def most_concurrent_calls(self, stream_id: str) -> int:
        """The most Stream Info requests of *stream_id* that were being answered at once
        (from arrival to the end of the answer, faults included)."""
        with self._lock:
            return self._most_in_flight.get(stream_id, 0)

    def reset_requests(self) -> None:
        """Forget the requests received so far (and the most concurrent ones)."""
        with self._lock:
            self._requests.clear()
            self._most_in_flight.clear()

    def _answering(self, stream_id: str, delta: int) -> None:
        with self._lock:
            now = self._in_flight[stream_id] = self._in_flight.get(stream_id, 0) + delta
            self._most_in_flight[stream_id] = max(self._most_in_flight.get(stream_id, 0), now)

    def _record(self, request: ReceivedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    # -- lookups for the handlers ----------------------------------------------------------

    def _stream_info(self, stream_id: str, asset_limit: int | None) -> bytes | None:
        """The Stream Info body of *stream_id*, or None when there is no such stream."""
        with self._lock:
            stream = self._streams.get(stream_id)
            if stream is None:
                return None
            payload = self._payload(stream, asset_limit)
            if isinstance(payload, str):
                return payload.encode()
            return payload if isinstance(payload, bytes) else json.dumps(payload).encode()

    def _stream_list(self, tags: set[str], states: set[str], quantity: int) -> bytes:
        """The body of a stream list: streams with all *tags* and any of *states*."""
        found = []
        with self._lock:
            for stream in self._streams.values():
                payload = self._payload(stream, None)
                if not isinstance(payload, dict):
                    continue  # raw or non-object payloads only make sense for Stream Info
                # Filtering the payload itself lets set_payload() dicts take part too.
                own_tags = payload.get("tags")
                own_tags = set(own_tags) if isinstance(own_tags, list) else set()
                if tags <= own_tags and (not states or payload.get("state") in states):
                    found.append(payload)
            return json.dumps(found[:quantity]).encode()

    def _file(self, region: str, path: str) -> tuple[str | None, bytes | None, str]:
        """(owning stream id, content, type) of a file on *region*'s host; no content: 404."""
        with self._lock:
            file = self._files.get((region, path))
            if file is not None:
                ready = time.monotonic() >= file.available_at
                return file.stream_id, file.content if ready else None, "video/mp4"
            # Thumbnails and motion clips live on the EU host only, as in the payload.
            for prefix, suffix, data, content_type in _IMAGES if region == "eu" else ():
                if path.startswith(prefix) and path.endswith(suffix):
                    name = path[len(prefix) : -len(suffix)]
                    for stream in self._streams.values():
                        if stream.thumbnail and stream.streamname == name:
                            return stream.id, data, content_type
        return None, None, ""


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a hung handler must never keep the interpreter alive
    block_on_close = False
    request_queue_size = 128  # tests of concurrent page renders fire many requests at once

    def __init__(self, bintu: FakeBintu, name: str, handler: type[_Handler]) -> None:
        self.bintu = bintu
        self.name = name
        super().__init__(("127.0.0.1", 0), handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind() calls socket.getfqdn(), a reverse DNS lookup that can take
        # seconds on a badly configured machine; the name is not needed.
        TCPServer.server_bind(self)
        self.server_name, self.server_port = "127.0.0.1", self.server_address[1]

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that went away is normal here (timeouts, video seeking); real bugs still
        # print their traceback.
        if not isinstance(sys.exc_info()[1], _DISCONNECTS):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "FakeBintu"
    sys_version = ""
    # One request per connection: stop() then never waits on idle keep-alive sockets.
    protocol_version = "HTTP/1.0"
    body = b""  # the request's, read before serve()

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: test output is no place for an access log."""

    def do_GET(self) -> None:
        try:
            length = self.headers.get("Content-Length", "")
            # Read even when unused: an unread body would turn the close into a reset.
            self.body = self.rfile.read(int(length)) if length.isdigit() else b""
            url = urlsplit(self.path)
            self.serve(unquote(url.path), parse_qs(url.query, keep_blank_values=True))
        except _DISCONNECTS:
            self.close_connection = True

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def serve(self, path: str, query: dict[str, list[str]]) -> None:
        raise NotImplementedError

    def record(self, path: str, query: dict[str, list[str]], stream_id: str | None) -> None:
        headers = Headers()
        for name, value in self.headers.items():
            name = name.lower()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        request = ReceivedRequest(
            self.server.name,
            self.command,
            path,
            query,
            headers,
            stream_id,
            connection="{}:{}".format(*self.client_address[:2]),
        )
        self.server.bintu._record(request)

    def send(
        self,
        status: int,
        body: bytes = b"",
        content_type: str = _JSON,
        headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_error_body(self, status: int, message: str, code: int | None = None) -> None:
        self.send(status, _error_body(message, code or status))

    def act_out(
        self,
        fault: Fault,
        released: threading.Event,
        *,
        answer: Callable[[], Any] | None,
        wrong_type: Any,
    ) -> bool:
        """Play *fault*; True when the request should then be answered normally.

        *answer* makes the JSON that a garbled fault garbles (None: there is none, and the
        connection closes without a word); *wrong_type* is valid JSON of the wrong type.
        """
        if fault.kind == "latency":
            return not self.server.bintu._stopping.wait(fault.seconds)
        if fault.kind == "hang":
            released.wait()  # set by release() and stop(); the connection then just closes
        elif fault.kind == "respond":
            self.send(fault.code, fault.body, fault.content_type, fault.headers)
        elif fault.kind == "garbled" and answer is not None:
            payload = answer()
            _replace(payload, fault.path, fault.value)
            self.send(200, json.dumps(payload).encode())
        elif fault.kind == "wrong_type":
            self.send(200, json.dumps(wrong_type).encode())
        elif fault.kind == "oversized":
            self.send_oversized(fault.size)
        self.close_connection = True  # "drop" too: returning without a word closes the socket
        return False

    def send_oversized(self, size: int) -> None:
        head, tail = b'{"padding": "', b'"}'
        self.send_response(200)
        self.send_header("Content-Type", _JSON)
        self.send_header("Content-Length", str(size))
        self.end_headers()
        self.wfile.write(head)
        left, chunk = size - len(head) - len(tail), b"x" * 65536
        while left > 0:  # in chunks: never hold a second copy of a huge body
            self.wfile.write(chunk[:left])
            left -= len(chunk)
        self.wfile.write(tail)


class _ApiHandler(_Handler):
    def serve(self, path: str, query: dict[str, list[str]]) -> None:
        match = _STREAM_INFO.fullmatch(path)
        stream_id = match[1] if match else None
        if stream_id is None:
            return self.answer(path, query, None)
        self.server.bintu._answering(stream_id, +1)
        try:
            self.answer(path, query, stream_id)
        finally:
            self.server.bintu._answering(stream_id, -1)

    def answer(self, path: str, query: dict[str, list[str]], stream_id: str | None) -> None:
        bintu = self.server.bintu
        # Recorded before any fault, so tests can count calls that timed out or failed.
        self.record(path, query, stream_id)
        fault, released = bintu._take_fault(stream_id)
        if fault and not self.act_out(
            fault,
            released,
            answer=None if stream_id is None else functools.partial(self.payload, stream_id),
            wrong_type={"streams": []} if stream_id is None else ["not", "an", "object"],
        ):
            return
        if self.command != "GET":
            return self.send_error_body(405, "method not allowed")
        key = self.headers.get("X-BINTU-APIKEY") or ""
        if not hmac.compare_digest(key.encode(), bintu.api_key.encode()):
            return self.send_error_body(401, "credentials not valid", 4002)
        try:
            asset_limit, quantity = _int_param(query, "asset_limit"), _int_param(query, "quantity")
        except ValueError as exc:
            return self.send_error_body(400, str(exc), 1002)
        if stream_id is not None:
            body = bintu._stream_info(stream_id, asset_limit)
            if body is None:
                return self.send_error_body(404, "stream not found")
        elif path.rstrip("/") == "/stream":
            tags = set(query.get("tags[]", []) + query.get("tags", []))
            # state may repeat or come comma-separated; public clients do both.
            states = {s for value in query.get("state", []) for s in value.split(",") if s}
            body = bintu._stream_list(tags, states, 50 if quantity is None else quantity)
        else:
            return self.send_error_body(404, "not found")
        self.send(200, body)

    def payload(self, stream_id: str) -> Any:
        """A copy of *stream_id*'s Stream Info, for a garbled fault to garble ({} when none)."""
        bintu = self.server.bintu
        with bintu._lock:
            stream = bintu._streams.get(stream_id)
            return copy.deepcopy(bintu._payload(stream, None)) if stream else {}


def _replace(payload: Any, path: tuple[str | int, ...], value: Any) -> None:
    """Set *path* in *payload* to *value*, making the objects on the way."""
    target = payload
    for step in path[:-1]:
        target = target[step] if isinstance(target, list) else target.setdefault(step, {})
    target[path[-1]] = value


class _KeepAliveApiHandler(_ApiHandler):
    protocol_version = "HTTP/1.1"


class _TokenHandler(_Handler):
    """nanoStream's secure playback token service: issues HS256 JWTs and checks them."""

    def serve(self, path: str, query: dict[str, list[str]]) -> None:
        bintu = self.server.bintu
        # Recorded before any fault, as on the API server; the body is not kept.
        self.record(path, query, None)
        route = path.rstrip("/")
        if route == _SPLAY:
            fault, released = bintu._take_fault(None, "token")
            if fault and not self.act_out(
                fault, released, answer=lambda: self.splay()[1], wrong_type=["not", "an", "object"]
            ):
                return
        if route not in (_SPLAY, _SPLAY_VERIFY):
            return self.send_json(404, _token_error("not found", 404))
        if self.command != "POST":
            return self.send_json(405, _token_error("method not allowed", 405))
        if route == _SPLAY_VERIFY:
            return self.send_json(*self.verify())
        key = self.headers.get("X-BINTU-APIKEY") or ""
        if not hmac.compare_digest(key.encode(), bintu.api_key.encode()):
            return self.send_json(403, _token_error("API key missing or not valid", 1001))
        self.send_json(*self.splay())

    def splay(self) -> tuple[int, dict[str, Any]]:
        """(status, answer) of a token request, its key aside: a new token, or why not."""
        try:
            claims = _requested_claims(self.json_body(), int(time.time()))
        except ValueError as exc:
            return 400, _token_error(str(exc), 1002)
        return 200, {"success": True, "data": {"token": self.server.bintu._sign_token(claims)}}

    def verify(self) -> tuple[int, dict[str, Any]]:
        """(status, answer) of a verification: the token's claims, or why not."""
        try:
            request = self.json_body()
        except ValueError as exc:
            return 400, _token_error(str(exc), 1002)
        token = request.get("token") if isinstance(request, dict) else None
        claims = self.server.bintu._valid_claims(token)
        if claims is None:
            message = "token not valid: not issued here, changed, expired or not valid yet"
            return 400, _token_error(message, 1002)
        return 200, {"success": True, "data": claims}

    def json_body(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:  # UnicodeDecodeError included
            raise ValueError("the body must be a JSON object") from None

    def send_json(self, status: int, answer: Any) -> None:
        self.send(status, json.dumps(answer).encode())


class _FileHandler(_Handler):
    """A region's CDN host: public files, no key, byte ranges so players can seek."""

    def serve(self, path: str, query: dict[str, list[str]]) -> None:
        owner, content, content_type = self.server.bintu._file(self.server.name, path)
        self.record(path, query, owner)
        if self.command not in ("GET", "HEAD"):
            return self.send_error_body(405, "method not allowed")
        if content is None:
            return self.send(404, b"not found", "text/plain; charset=utf-8")
        self.send_file(content, content_type)

    def send_file(self, content: bytes, content_type: str) -> None:
        size = len(content)
        try:
            span = _parse_range(self.headers.get("Range"), size)
        except _Unsatisfiable:
            headers = [("Content-Range", f"bytes */{size}")]
            return self.send(416, b"", content_type, headers)
        if span is None:
            return self.send(200, content, content_type, [("Accept-Ranges", "bytes")])
        start, end = span
        headers = [("Accept-Ranges", "bytes"), ("Content-Range", f"bytes {start}-{end}/{size}")]
        self.send(206, content[start : end + 1], content_type, headers)


class _Unsatisfiable(Exception):
    pass


def _parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive byte span a ``Range`` header asks for, or None to send the whole file.

    Multiple ranges, other units and malformed headers get the whole file, which RFC 9110
    allows; a range starting past the end raises _Unsatisfiable (answered with 416).
    """
    match = _RANGE.fullmatch((header or "").strip())
    if not match or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if not first:  # "bytes=-n": the last n bytes
        if int(last) == 0:
            raise _Unsatisfiable  # asks for nothing at all
        start, end = max(size - int(last), 0), size - 1
    else:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
        if last and int(last) < start:
            return None  # an invalid range is ignored, not refused
    if start >= size:
        raise _Unsatisfiable
    return start, end


def _int_param(query: dict[str, list[str]], name: str) -> int | None:
    """A non-negative integer query parameter, or None when absent; ValueError when invalid."""
    values = query.get(name)
    if not values:
        return None
    if not (values[-1].isascii() and values[-1].isdigit()):
        raise ValueError(f"{name} must be a non-negative integer")
    return int(values[-1])


try:
    import pytest
except ImportError:  # pytest is only needed for the fixture
    pass
else:

    @pytest.fixture
    def fake_bintu() -> Iterator[FakeBintu]:
        """A running :class:`FakeBintu` with the key ``made-up-test-key``, stopped afterwards."""
        with FakeBintu(api_key="made-up-test-key") as bintu:
            yield bintu
