"""Storage regions of recording URLs: which region a URL is on, moving it, and who may play.

A recording is stored in one region and plays best from that region's host. The
region shows in the URL: on a configured ``REGIONS`` host, or as an ``-eu-`` /
``-us-`` / ``-au-`` label part in the host name (``bintu-vod-eu-02-ak.nanocosmos.de``).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

from .conf import nanovod_settings, on_settings_change

_DEFAULT_PORTS = {"http": 80, "https": 443}
# Control characters and white space have no place in a URL we hand to a browser.
_UNSAFE_CHARACTERS = re.compile(r"[\x00-\x20\x7f\\\"<>`]")


def origin(url: str) -> tuple[str, str, int] | None:
    """``(scheme, host, port)`` of a URL, default ports filled in; None if it has none."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if not scheme or not host:
        return None
    return scheme, host, port or _DEFAULT_PORTS.get(scheme, 0)


# (REGIONS dict, its origins): parsed once per settings value, not per URL checked.
_origins_memo: list = [None, {}]


@on_settings_change
def _forget_origins() -> None:
    _origins_memo[:] = [None, {}]


def _region_origins() -> dict[str, tuple[str, str, int]]:
    regions = nanovod_settings.REGIONS
    if _origins_memo[0] is not regions:
        origins = {code: o for code, base in regions.items() if (o := origin(base)) is not None}
        _origins_memo[:] = [regions, origins]
    return _origins_memo[1]


def region_of(url: str) -> str | None:
    """The storage region of a recording URL, or None when nothing tells."""
    url_origin = origin(url)
    if url_origin is None:
        return None
    for code, region_origin in _region_origins().items():
        if region_origin == url_origin:
            return code
    host = url_origin[1]
    for code in nanovod_settings.REGIONS:
        # "-eu-" in bintu-vod-eu-02-ak..., or "-eu" ending a label as in bintu-vod-eu.
        if re.search(rf"-{re.escape(code.lower())}(?:-|\.)", host):
            return code
    return None


def move_to_region(url: str, region: str) -> str:
    """The URL on ``region``'s host, path kept, when it sits on another configured host.

    bintu may hand out the default region's URL for a file stored elsewhere; an
    editor who knows better sets the region and playback follows. URLs that are not
    on a configured region host are returned unchanged: we cannot know their layout.
    """
    regions = nanovod_settings.REGIONS
    if region not in regions:
        return url
    current = region_of(url)
    if current is None or current == region or origin(url) != _region_origins().get(current):
        return url
    return _with_origin(url, regions[region])


def alternate_urls(url: str) -> list[str]:
    """The same file on the other configured regions' hosts, for failover sources.

    Ordered as ``REGIONS`` lists them, the default region first; empty when the URL
    is not on a configured region host.
    """
    regions = nanovod_settings.REGIONS
    current = region_of(url)
    if current is None or origin(url) != _region_origins().get(current):
        return []
    default = nanovod_settings.DEFAULT_REGION
    order = sorted(regions, key=lambda code: code != default)
    return [_with_origin(url, regions[code]) for code in order if code != current]


def is_playable(url: object) -> bool:
    """Whether a URL from bintu may reach a page: https on an allowed host.

    The configured region hosts are allowed whatever their scheme, so a local fake
    or a private CDN on http can serve them; everything else must be https on a
    ``PLAYBACK_HOSTS`` host. ``javascript:``, data URLs and strangers are refused.
    """
    if not isinstance(url, str) or not url or len(url) > 2048:
        return False
    if _UNSAFE_CHARACTERS.search(url):
        return False
    url_origin = origin(url)
    if url_origin is None:
        return False
    try:
        if urlsplit(url).username is not None:
            return False
    except ValueError:
        return False
    if url_origin in _region_origins().values():
        return True
    scheme, host, _port = url_origin
    return scheme == "https" and any(
        _host_matches(host, pattern) for pattern in nanovod_settings.PLAYBACK_HOSTS
    )


def _host_matches(host: str, pattern: str) -> bool:
    pattern = pattern.lower()
    if pattern.startswith("*."):
        return host.endswith(pattern[1:])
    return host == pattern


def _with_origin(url: str, base_url: str) -> str:
    base = urlsplit(base_url)
    parts = urlsplit(url)
    return urlunsplit((base.scheme, base.netloc, parts.path, parts.query, parts.fragment))
