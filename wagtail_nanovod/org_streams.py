"""The organisation's streams as bintu lists them (``GET /stream``), for the editor's import
view and the chooser's "from nanoStream" list: the streams, or why there are none.
"""

from __future__ import annotations

import hashlib
import logging

from django.core.cache import caches

from . import locks
from .client import BintuClient
from .conf import nanovod_settings
from .exceptions import BintuError, ConfigurationError
from .parsing import Stream, parse_stream_list
from .reasons import describe_reason

logger = logging.getLogger(__name__)

#: Seconds a list is kept for the chooser: opened again and again while a page is
#: edited, it must not ask bintu (or wait on it) each time.
CHOOSER_LIST_SECONDS = 60
#: Seconds a failure to list is kept for the chooser: bintu down or hanging costs one
#: wait of ``TIMEOUT``, not one per opening of the chooser.
CHOOSER_FAILURE_SECONDS = 30


def list_streams(
    *, tags=(), states=(), quantity: int = 50, cached: bool = False
) -> tuple[list[Stream], str]:
    """``(streams, "")``, or ``([], why)`` in an editor's words when bintu cannot list
    them. ``cached``: a list fetched in the last ``CHOOSER_LIST_SECONDS`` will do."""
    tags, states = list(tags), list(states)
    # Hashed: a tag is free text, and some caches refuse spaces or long keys.
    asked = hashlib.blake2s(repr((quantity, tags, states)).encode(), digest_size=12).hexdigest()
    key = f"wagtail_nanovod:list:{asked}"
    cache = caches[nanovod_settings.CACHE_ALIAS]
    if cached:
        found = cache.get(key)
        if isinstance(found, list):
            return [Stream.from_dict(item) for item in found], ""
        if isinstance(found, str):  # a failure, kept a moment
            return [], describe_reason(found)
        if locks.circuit_is_open():
            return [], describe_reason("unreachable")
    try:
        streams = parse_stream_list(
            BintuClient().list_streams(tags=tags, states=states, quantity=quantity)
        )
    except (BintuError, ConfigurationError) as exc:
        # Decided here: the editor gets a sentence, the log gets bintu's details
        # (the client keeps the key out of both).
        reason = exc.reason if isinstance(exc, BintuError) else "configuration"
        logger.warning("Could not list nanoStream streams (%s): %s", reason, exc)
        cache.set(key, reason, CHOOSER_FAILURE_SECONDS)
        return [], describe_reason(reason)
    cache.set(key, [stream.to_dict() for stream in streams], CHOOSER_LIST_SECONDS)
    return streams, ""
