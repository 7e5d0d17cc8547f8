"""HTTP transport to bintu: headers, one time budget per call, retries, status to exception.

No Django cache here and no parsing beyond "is this a JSON object/array": the
resolver decides what to keep, :mod:`wagtail_nanovod.parsing` what it means.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests

from . import __version__
from .conf import Secret, nanovod_settings
from .exceptions import (
    AuthenticationFailed,
    BadResponse,
    BintuError,
    BintuUnreachable,
    ConfigurationError,
    RateLimited,
    ServerError,
    StreamNotFound,
)
from .parsing import normalize_stream_id

logger = logging.getLogger(__name__)

USER_AGENT = f"wagtail-nanovod/{__version__} (+https://pypi.org/project/wagtail-nanovod/)"

# Only these are worth another try: the request never arrived, or bintu said "later".
_RETRY_STATUSES = frozenset({429, 502, 503, 504})
# No back-off sleep is shorter than this, so a retry is never a busy loop.
_MIN_SLEEP = 0.05
_CHUNK_SIZE = 64 * 1024

# requests.Session is not safe to share between threads; one per thread keeps the
# connection pool warm for the worker that renders pages.
_local = threading.local()


def _session() -> requests.Session:
    session = getattr(_local, "session", None)
    if session is None:
        session = requests.Session()
        # Proxies and netrc from the environment could send the key somewhere else.
        session.trust_env = False
        _local.session = session
    return session


class BintuClient:
    """Calls to the bintu REST API with the organisation key.

    Every call is bounded by ``TIMEOUT`` seconds in all, retries included, because a
    person may be waiting on the page that made it.
    """

    def __init__(
        self,
        *,
        api_url: str | None = None,
        api_key: str | None = None,
        timeout: float | None = None,
        retries: int | None = None,
    ) -> None:
        self.api_url = (api_url or nanovod_settings.API_URL).rstrip("/")
        # Masked wherever it is shown, whoever passed it (see conf.Secret).
        self._api_key = Secret(api_key if api_key is not None else nanovod_settings.API_KEY)
        self.timeout = float(timeout if timeout is not None else nanovod_settings.TIMEOUT)
        self.retries = int(retries if retries is not None else nanovod_settings.RETRIES)
        self.backoff = float(nanovod_settings.RETRY_BACKOFF)
        self.max_bytes = int(nanovod_settings.MAX_RESPONSE_BYTES)

    def __repr__(self) -> str:
        return f"<BintuClient {self.api_url}>"

    def stream_info(self, stream_id: str, *, asset_limit: int | None = None) -> dict[str, Any]:
        """``GET /stream/{id}``: the stream object, as JSON."""
        stream_id = normalize_stream_id(stream_id)
        limit = asset_limit if asset_limit is not None else nanovod_settings.ASSET_LIMIT
        data = self._get(f"/stream/{stream_id}", {"asset_limit": int(limit)}, stream_id=stream_id)
        if not isinstance(data, dict):
            raise BadResponse(
                f"bintu answered Stream Info for {stream_id} with a JSON "
                f"{type(data).__name__}, not an object",
                stream_id=stream_id,
            )
        return data

    def list_streams(
        self,
        *,
        tags: Iterable[str] = (),
        states: Iterable[str] = (),
        quantity: int = 50,
    ) -> list[Any]:
        """``GET /stream``: the organisation's streams, as a JSON array."""
        params: list[tuple[str, str | int]] = [("quantity", int(quantity))]
        params += [("tags[]", tag) for tag in tags]
        params += [("state", state) for state in states]
        data = self._get("/stream", params)
        if not isinstance(data, list):
            raise BadResponse(
                f"bintu answered the stream list with a JSON {type(data).__name__}, not an array"
            )
        return data

    def playback_token(self, group_id: str, *, domain: str, expires_at: int) -> Any:
        """``POST`` to nanoStream's token service: a secure playback token for one stream
        group, bound to *domain* when given, valid until *expires_at* (Unix seconds).

        One attempt, no retries: it is not a GET, and a page may be waiting on it.
        """
        body: dict[str, Any] = {"groupid": group_id, "exp": int(expires_at)}
        if domain:
            body["domain"] = domain
        return self._call(
            "POST",
            nanovod_settings.TOKEN_URL,
            json_body=body,
            about=f"a playback token for group {group_id}",
            service="nanoStream's token service",
            retries=0,
        )

    def _get(self, path: str, params, *, stream_id: str | None = None) -> Any:
        about = f"stream {stream_id}" if stream_id else "the stream list"
        return self._call(
            "GET", self.api_url + path, params=params, stream_id=stream_id, about=about
        )

    def _call(
        self,
        method: str,
        url: str,
        *,
        params=None,
        json_body: Any = None,
        stream_id: str | None = None,
        about: str,
        service: str = "bintu",
        retries: int | None = None,
    ) -> Any:
        if not self._api_key:
            raise ConfigurationError(
                "No bintu API key: set WAGTAIL_NANOVOD['API_KEY'] or the NANOVOD_API_KEY "
                "environment variable."
            )
        retries = self.retries if retries is None else retries
        request = _Request(method, url, params, json_body, stream_id, about, service)
        headers = {
            "X-BINTU-APIKEY": self._api_key,
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        deadline = time.monotonic() + self.timeout
        attempt = 0
        while True:
            try:
                return self._attempt(request, headers, deadline)
            except (BintuUnreachable, RateLimited, ServerError) as exc:
                if exc.status is not None and exc.status not in _RETRY_STATUSES:
                    raise
                wait = self._backoff(attempt, getattr(exc, "retry_after", None))
                if attempt >= retries or time.monotonic() + wait >= deadline:
                    raise
                attempt += 1
                logger.info(
                    "%s: %s failed (%s), retry %s of %s in %.2fs",
                    service, about, exc.reason, attempt, retries, wait,
                )  # fmt: skip
                time.sleep(wait)

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return max(retry_after, _MIN_SLEEP)
        # Exponential with jitter, so that many processes do not retry in step.
        base = self.backoff * (2**attempt)
        return max(base * (0.5 + random.random() / 2), _MIN_SLEEP)  # noqa: S311

    def _attempt(self, request: _Request, headers, deadline) -> Any:
        stream_id, service = request.stream_id, request.service
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise BintuUnreachable(f"no time left to ask {service}", stream_id=stream_id)
        try:
            response = _session().request(
                request.method,
                request.url,
                params=request.params,
                json=request.json_body,
                headers=headers,
                timeout=remaining,
                # A redirect would carry the key to wherever it points.
                allow_redirects=False,
                stream=True,
            )
        # Raised "from None": the exceptions below ours hold frames of requests, urllib3
        # and http.client whose local variables include the request as sent, key header
        # and all, and error trackers record every frame of a chain. What they would
        # tell is in our message.
        except requests.Timeout as exc:
            _forget_request(exc)
            raise BintuUnreachable(
                f"{service} did not answer within {self.timeout:g}s", stream_id=stream_id
            ) from None
        except requests.RequestException as exc:
            _forget_request(exc)
            raise BintuUnreachable(
                f"could not connect to {service}: {_describe(exc)}", stream_id=stream_id
            ) from None
        with response:
            _raise_for_status(response, request, secret=self._api_key)
            body = self._read_body(response, deadline, request)
        try:
            return json.loads(body)
        except ValueError as exc:
            raise BadResponse(
                f"{service} answered with something that is not JSON "
                f"(HTTP {response.status_code})",
                stream_id=stream_id,
                status=response.status_code,
            ) from exc

    def _read_body(self, response: requests.Response, deadline: float, request) -> bytes:
        stream_id, service = request.stream_id, request.service
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise _too_large(self.max_bytes, request)
        chunks, size = [], 0
        try:
            for chunk in response.iter_content(_CHUNK_SIZE):
                size += len(chunk)
                if size > self.max_bytes:
                    raise _too_large(self.max_bytes, request)
                # The read timeout applies per socket read; a body dripping in slowly
                # must not outlast the budget.
                if time.monotonic() > deadline:
                    raise BintuUnreachable(
                        f"{service}'s answer took longer than {self.timeout:g}s",
                        stream_id=stream_id,
                    )
                chunks.append(chunk)
        except requests.RequestException as exc:
            _forget_request(exc)
            raise BintuUnreachable(
                f"{service}'s answer broke off: {_describe(exc)}", stream_id=stream_id
            ) from None  # as above: the frames below hold the request
        return b"".join(chunks)


def _describe(exc: requests.RequestException) -> str:
    """The kind of a transport failure and its innermost cause, by type name only (the
    messages of the errors below carry URLs, and nothing of theirs is needed here)."""
    names = [type(exc).__name__]
    inner = exc.__context__
    while inner is not None and len(names) < 4:
        names.append(type(inner).__name__)
        inner = inner.__cause__ or inner.__context__
    return names[0] + (f" ({names[-1]})" if len(names) > 1 else "")


def _forget_request(exc: requests.RequestException) -> None:
    """Drop the request a requests error carries: its headers hold the key, and error
    trackers record the attributes of chained exceptions."""
    exc.request = None
    exc.response = None


@dataclass(frozen=True, slots=True)
class _Request:
    """One call: what is sent, and how its errors name it."""

    method: str
    url: str
    params: Any
    json_body: Any
    stream_id: str | None
    about: str  # "stream <id>", "the stream list", "a playback token for group <id>"
    service: str  # "bintu", "nanoStream's token service"


def _too_large(limit: int, request: _Request) -> BadResponse:
    return BadResponse(
        f"{request.service}'s answer is larger than {limit} bytes", stream_id=request.stream_id
    )


def _raise_for_status(response: requests.Response, request: _Request, secret: str) -> None:
    """Map a non-2xx answer to the error tree, with the service's own message when it sent one."""
    status = response.status_code
    if 200 <= status < 300:
        return
    about, service, stream_id = request.about, request.service, request.stream_id
    if 300 <= status < 400:
        target = urlsplit(response.headers.get("Location", "")).hostname or "an unknown place"
        raise BadResponse(
            f"{service} redirected the request for {about} to {target}; not followed, "
            "so that the key is not sent there",
            stream_id=stream_id,
            status=status,
        )
    detail = _error_message(response)
    if secret and secret in detail:
        # Should bintu ever echo the key back, it must not travel on in our messages.
        detail = detail.replace(secret, "[key]")
    kwargs = {"stream_id": stream_id, "status": status}
    if status in (401, 403):
        raise AuthenticationFailed(f"{service} refused the key for {about}{detail}", **kwargs)
    if status == 404:
        raise StreamNotFound(f"{service} does not know {about}{detail}", **kwargs)
    if status == 429:
        raise RateLimited(
            f"{service} rate-limited the request for {about}{detail}",
            retry_after=_retry_after(response.headers.get("Retry-After")),
            **kwargs,
        )
    if status >= 500:
        raise ServerError(f"{service} failed with HTTP {status} for {about}{detail}", **kwargs)
    raise BintuError(f"{service} answered HTTP {status} for {about}{detail}", **kwargs)


def _error_message(response: requests.Response) -> str:
    """``": <message>"`` from a documented error body, if any: bintu's
    ``{"error": {"message": ...}}`` or the token service's ``{"message": ...}``."""
    try:
        raw = response.raw.read(16 * 1024, decode_content=True)
        body = json.loads(raw)
        inner = body.get("error")
        message = inner["message"] if isinstance(inner, dict) else body["message"]
    except (ValueError, KeyError, TypeError, AttributeError, requests.RequestException, OSError):
        return ""
    if not isinstance(message, str):
        return ""
    return ": " + message.strip()[:200]


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header: a number, or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(moment.timestamp() - time.time(), 0.0)
