"""One small error tree for what bintu answers, and the errors outside it.

``BintuError`` and its subclasses are runtime failures of the remote API: a page
falls back on them, a form shows them, a command exits on them. Bad input from our
own callers (:class:`InvalidStreamId`) and a broken configuration
(:class:`ConfigurationError`) are not outages, so they stay outside that tree.

No message here ever carries the API key: messages are built from the stream id,
the HTTP status and the text bintu sent, never from request headers.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured


class ConfigurationError(ImproperlyConfigured):
    """``WAGTAIL_NANOVOD`` is wrong: an unknown key or an unusable value."""


class InvalidStreamId(ValueError):
    """A stream id that is not a UUID; nothing was sent to bintu."""

    def __init__(self, value: object) -> None:
        shown = repr(value)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        super().__init__(
            f"{shown} is not a nanoStream stream id: expected a UUID such as "
            "1dec3bbc-758b-4879-a202-7ae877d511ba."
        )


class BintuError(Exception):
    """bintu did not give a usable answer."""

    #: A short, stable word for logs, snapshots and admin badges.
    reason = "error"

    def __init__(
        self, message: str, *, stream_id: str | None = None, status: int | None = None
    ) -> None:
        super().__init__(message)
        self.stream_id = stream_id
        self.status = status


class AuthenticationFailed(BintuError):
    """401 or 403: the key is missing, wrong, or not allowed to see this."""

    reason = "authentication"


class StreamNotFound(BintuError):
    """404: bintu does not know this stream."""

    reason = "not_found"


class RateLimited(BintuError):
    """429: bintu asks us to slow down."""

    reason = "rate_limited"

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(BintuError):
    """5xx: bintu itself failed."""

    reason = "server_error"


class BintuUnreachable(BintuError):
    """No answer at all: connection refused or reset, DNS, or the timeout ran out."""

    reason = "unreachable"


class BadResponse(BintuError):
    """An answer we cannot use: not JSON, the wrong shape, too large, a redirect."""

    reason = "bad_response"
