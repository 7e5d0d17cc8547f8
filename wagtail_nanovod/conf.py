"""The ``WAGTAIL_NANOVOD`` settings dict: its keys, their defaults, read at call time.

Every attribute read goes back to ``django.conf.settings``, so ``override_settings``
works everywhere and nothing is frozen at import time.
"""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings as django_settings
from django.core.signals import setting_changed

from .exceptions import ConfigurationError

SETTINGS_NAME = "WAGTAIL_NANOVOD"

#: The environment variable read when ``API_KEY`` is not set in the dict.
API_KEY_ENVIRON = "NANOVOD_API_KEY"

DEFAULTS: dict[str, Any] = {
    # bintu base URL, no version prefix.
    "API_URL": "https://bintu.nanocosmos.de",
    # The organisation key, sent as X-BINTU-APIKEY. None: read NANOVOD_API_KEY from the
    # environment at call time, so the key can stay out of settings files.
    "API_KEY": None,
    # Seconds one call to bintu may take in all, retries and back-off included: a page
    # render may be waiting on it, so this bounds the wait rather than each attempt.
    "TIMEOUT": 4.0,
    # Extra attempts after the first on connection errors and 429/502/503/504.
    "RETRIES": 2,
    # First back-off in seconds; doubled on each retry, with jitter.
    "RETRY_BACKOFF": 0.25,
    # Larger answers are refused: a stream with ASSET_LIMIT assets is a few KB.
    "MAX_RESPONSE_BYTES": 2 * 1024 * 1024,
    # Passed to Stream Info as asset_limit.
    "ASSET_LIMIT": 10,
    # The Django cache that holds resolved streams.
    "CACHE_ALIAS": "default",
    # Seconds a settled stream (ended with its recordings, or gone) is served before
    # bintu is asked again, in the background.
    "FRESH_SECONDS": 900,
    # The same for a stream about to change (live, upcoming, or its recording still
    # processing): its recording should show up within a minute of appearing.
    "ACTIVE_FRESH_SECONDS": 30,
    # Seconds an ended stream with no recording listed is shown as "processing",
    # counted from when we first saw it so. nanoStream's docs say a recording's file
    # may answer 404 for a minute or two after a stream ends and that a long broadcast
    # takes longer, and announce nothing when it is done; an hour covers a day-long
    # broadcast with room to spare. After it: unavailable, "not recorded".
    "PROCESSING_GRACE_SECONDS": 3600,
    # Seconds a resolved stream stays in the cache to be served when bintu cannot
    # answer (the database snapshot of a snippet outlives it anyway).
    "STALE_SECONDS": 7 * 24 * 3600,
    # Seconds before bintu is asked again after a failure; doubled with each failure
    # in a row, up to MAX_ERROR_SECONDS, so an outage is not hammered.
    "ERROR_SECONDS": 30,
    "MAX_ERROR_SECONDS": 900,
    # This many failed fetches in a row open the circuit: for CIRCUIT_COOLDOWN_SECONDS
    # nothing waits on bintu (all processes: the state is in the cache).
    "CIRCUIT_FAILURES": 5,
    "CIRCUIT_COOLDOWN_SECONDS": 30,
    # The django-tasks backend alias that runs background refreshes. With the
    # immediate backend (django-tasks' default) they run in a thread, never in the render.
    "TASK_BACKEND": "default",
    # Region code to the base URL (scheme://host[:port]) of its VOD host.
    "REGIONS": {
        "eu": "https://bintu-vod-eu.nanocosmos.de",
        "us": "https://bintu-vod-us.nanocosmos.de",
        "au": "https://bintu-vod-au.nanocosmos.de",
    },
    # The region assumed when nothing else tells.
    "DEFAULT_REGION": "eu",
    # Hosts whose https URLs may be played besides the REGIONS hosts; "*.example.com"
    # matches every subdomain of example.com.
    "PLAYBACK_HOSTS": ["*.nanocosmos.de"],
    # The RTMP server editors are told to stream to (ingest URLs for both modes).
    "INGEST_URL": "rtmp://bintu-stream.nanocosmos.de",
    # nanoStream's H5Live player, loaded once on a page that shows a live stream.
    "H5LIVE_SCRIPT_URL": "https://demo.nanocosmos.de/nanoplayer/api/release/nanoplayer.5.min.js",
    # nanoStream's secure playback, for organisations that require a token to play live
    # streams: each live player gets a token made here with the key by nanoStream's token
    # service, for the stream's group and bound to the site's host. Never the key.
    "SECURE_PLAYBACK": False,
    # The token service's endpoint (the fake in wagtail_nanovod.testing has its own).
    "TOKEN_URL": "https://token.nanostream.cloud/api/v1/splay",
    # Seconds a token is valid for; nanoStream recommends 5 minutes to 24 hours.
    "TOKEN_SECONDS": 6 * 3600,
    # A token is renewed when fewer seconds than this are left, so every page carries one
    # valid for at least this long: keep pages in a cache in front for less.
    "TOKEN_RENEW_SECONDS": 3600,
    # What nanoStream's H5Live player needs in a Content-Security-Policy besides its script
    # (wagtail_nanovod.csp): it connects to nanoStream's servers (wss and https, as in
    # nanoStream's samples) and plays from blob: URLs. Not testable offline.
    "H5LIVE_SOURCES": {
        "connect-src": ["https://*.nanocosmos.de", "wss://*.nanocosmos.de"],
        "media-src": ["blob:"],
        "worker-src": ["blob:"],
    },
    # Other sites may embed the players of published, public pages: an embed page for
    # each, an oEmbed endpoint, and the links to them. False: none of it.
    "EMBEDS": True,
    # Content-Security-Policy frame-ancestors of the embed page: who may frame it.
    # ["*"]: any site; ["https://partner.example"] only that one.
    "EMBED_FRAME_ANCESTORS": ["*"],
    # Seconds between the player script's questions to the state endpoint while a stream
    # on the page is upcoming, live or processing. Every open tab asks, so not too often.
    "POLL_SECONDS": 15,
    # schema.org VideoObject JSON-LD with each ready recording, for search engines.
    "JSON_LD": True,
    # The first player of a page links static/wagtail_nanovod/nanovod.css. False: the
    # site links it in its <head> itself, or bundles it with its own CSS.
    "STYLESHEET": True,
    # Show a facade (poster and play button, nothing loaded from nanoStream) until the
    # visitor clicks; blocks can override it either way.
    "CLICK_TO_LOAD": False,
    # Purge the pages using a stream from wagtail.contrib.frontend_cache (when it is
    # configured) once a refresh changes what the stream plays.
    "PURGE_FRONTEND_CACHE": True,
}


class NanovodSettings:
    """Attribute access to ``WAGTAIL_NANOVOD``, falling back to :data:`DEFAULTS`.

    Values are read at call time. The checked dict is kept while the settings object
    is the same one (a page renders dozens of reads), and dropped on Django's
    ``setting_changed`` signal, so ``override_settings`` works as always.
    """

    def __init__(self) -> None:
        self._checked: tuple[object, dict[str, Any]] | None = None

    def reset(self, **kwargs) -> None:
        """Forget the checked dict (connected to ``setting_changed``)."""
        self._checked = None

    def user_settings(self) -> dict[str, Any]:
        """The dict as the site set it; raises on an unknown key, naming it."""
        value = getattr(django_settings, SETTINGS_NAME, None) or {}
        checked = self._checked
        if checked is not None and checked[0] is value:
            return checked[1]
        if not isinstance(value, dict):
            raise ConfigurationError(
                f"{SETTINGS_NAME} must be a dict, not {type(value).__name__}."
            )
        unknown = sorted(set(value) - set(DEFAULTS))
        if unknown:
            raise ConfigurationError(
                f"Unknown {SETTINGS_NAME} setting {unknown[0]!r}. "
                f"Known settings: {', '.join(sorted(DEFAULTS))}."
            )
        self._checked = (value, value)
        return value

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(name)
        value = self.user_settings().get(name, DEFAULTS[name])
        if name == "API_KEY":
            value = value or os.environ.get(API_KEY_ENVIRON, "") or ""
            if not isinstance(value, str):
                # str() of a secret store's wrapper would be its mask, sent as the key.
                raise ConfigurationError(
                    f"{SETTINGS_NAME}['API_KEY'] must be a string, not {type(value).__name__}."
                )
            value = Secret(value)
        return value

    def __repr__(self) -> str:
        # Never show values: one of them is the organisation's master key.
        return f"<NanovodSettings {SETTINGS_NAME}>"


nanovod_settings = NanovodSettings()


class Secret(str):
    """The API key: a string that sends as itself but never shows itself.

    Its ``repr``, ``str`` and formatting are masked, so an error tracker that records
    the local variables of every frame (Sentry and the like), a log line or a message
    built from it shows ``********``. HTTP libraries encode the characters themselves.
    """

    __slots__ = ()
    MASK = "********"

    def __new__(cls, value: str = "") -> Secret:
        if isinstance(value, Secret):
            return value  # str(value) would be the mask
        return super().__new__(cls, value)

    def __repr__(self) -> str:
        return repr(self.MASK) if self else "''"

    def __str__(self) -> str:
        return self.MASK if self else ""

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


def _on_setting_changed(setting: str, **kwargs) -> None:
    if setting == SETTINGS_NAME:
        nanovod_settings.reset()
        for reset in _resets:
            reset()


#: Functions that forget what they derived from the settings, run when they change.
_resets: list = []


def on_settings_change(function):
    """Register a cache-clearing function to run when ``WAGTAIL_NANOVOD`` changes."""
    _resets.append(function)
    return function


setting_changed.connect(_on_setting_changed, dispatch_uid="wagtail_nanovod.conf")
