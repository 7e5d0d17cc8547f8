"""The Content-Security-Policy the package's players need, built from the settings.

One place for it: the embed page sends it, and a site (the example's middleware) can
send it on its own pages, with its own sources added. No 'unsafe-inline' anywhere: the
players' markup has no style attribute and no inline script.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

from django.conf import settings

from .conf import nanovod_settings


def player_policy(
    *,
    frame_ancestors: Iterable[str] = ("'self'",),
    extra: Mapping[str, Iterable[str]] | None = None,
) -> str:
    """The policy of a page showing players: its own origin, the VOD hosts for video and
    posters, the origin of ``H5LIVE_SCRIPT_URL`` and ``H5LIVE_SOURCES`` for live players.

    ``frame_ancestors``: who may show the page in a frame. ``extra``: more sources by
    directive, for the rest of a site's page.
    """
    vod = sorted(
        {origin for origin in map(_origin, nanovod_settings.REGIONS.values()) if origin}
        | {f"https://{host}" for host in nanovod_settings.PLAYBACK_HOSTS}
    )
    player = _origin(nanovod_settings.H5LIVE_SCRIPT_URL)
    # Static files (the stylesheet, the player script) and Wagtail's renditions (posters)
    # may be served from a CDN of the site's own.
    static = [o for o in (_origin(settings.STATIC_URL or ""),) if o]
    media = [o for o in (_origin(settings.MEDIA_URL or ""),) if o]
    sources: dict[str, list[str]] = {
        "default-src": ["'self'"],
        "script-src": ["'self'", *static, *([player] if player else [])],
        "style-src": ["'self'", *static],
        "img-src": ["'self'", *media, *vod],
        "media-src": ["'self'", *vod],
        "connect-src": ["'self'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": list(frame_ancestors) or ["'none'"],
    }
    for more in (nanovod_settings.H5LIVE_SOURCES, extra or {}):
        for directive, values in more.items():
            known = sources.setdefault(directive, [])
            known += [value for value in values if value not in known]
    return "; ".join(f"{name} {' '.join(values)}" for name, values in sources.items())


def _origin(url: str) -> str:
    """scheme://host[:port] of an absolute URL; "" for a path on this site."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
