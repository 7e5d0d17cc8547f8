"""Secure playback tokens for live players: one per stream group and host, shared by
every process through the cache, asked for by one of them at a time.

A token is asked for with ``TOKEN_SECONDS`` to live and renewed once fewer than
``TOKEN_RENEW_SECONDS`` are left; until then it is served from this process's memory
(no cache trip) or the cache. While one process renews it, the others go on serving the
one they have, which is still valid. Only when there is none does a render wait, for
the process that asks, and never longer than ``TIMEOUT``.

When the token service is slow, down or refuses, a live player cannot be given a token:
it shows that the stream cannot be played right now. Nothing asks the service again
before ``ERROR_SECONDS`` (doubled with each failure in a row, up to
``MAX_ERROR_SECONDS``), and the first failure of a streak is logged as a WARNING, the
others at INFO, across processes. The token itself is never logged.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field

from django.core.cache import caches

from . import locks
from .client import BintuClient
from .conf import nanovod_settings, on_settings_change
from .exceptions import BintuError, ConfigurationError
from .parsing import parse_playback_token

logger = logging.getLogger(__name__)

#: How often a render waiting on another process's request looks for its token.
WAIT_STEP_SECONDS = 0.05
#: A token this close to its expiry is not handed out (a quarter of its life, if that is
#: less): the player needs time to use it.
LAST_SECONDS = 30
_MEMO_SIZE = 256


@dataclass(frozen=True, slots=True)
class _Entry:
    """What the cache holds for a group and host: a token, failures, or both."""

    token: str = field(default="", repr=False)
    usable_until: float = 0.0
    renew_at: float = 0.0
    #: Failed requests in a row, and when the service may be asked again.
    failures: int = 0
    retry_at: float = 0.0

    def usable(self, now: float) -> str:
        return self.token if now < self.usable_until else ""


_memo: dict[str, _Entry] = {}  # this process's tokens that need no renewing yet


@on_settings_change
def forget() -> None:
    """Forget this process's tokens (the settings name another service or lifetime)."""
    _memo.clear()


def token_for(group_id: str, host: str) -> str | None:
    """A token for live playback of *group_id* on *host*; None when none can be had now.

    *host* binds the token to the site's domain ("" leaves it unbound).
    """
    key = _key(group_id, host)
    now = time.time()
    entry = _memo.get(key)
    if entry is not None and now < entry.renew_at:
        return entry.token
    entry = _read(key)
    if entry.token and now < entry.renew_at:
        _remember(key, entry)
        return entry.token
    usable = entry.usable(now)
    if now < entry.retry_at:
        return usable or None  # failed lately: not asked again yet
    owned = locks.take([_lock_key(key)], locks.fetch_seconds())
    if not owned:
        # Another process is asking: the token we have is still good, else wait for its.
        return usable or _wait_for(key, now)
    try:
        return _ask(key, group_id, host, entry, now) or usable or None
    finally:
        locks.release(owned)


def _ask(key: str, group_id: str, host: str, before: _Entry, now: float) -> str:
    """Ask the token service, store what came of it, and give the new token ("" if none)."""
    lifetime = float(nanovod_settings.TOKEN_SECONDS)
    try:
        answer = BintuClient().playback_token(
            group_id, domain=host, expires_at=int(now + lifetime)
        )
        made = parse_playback_token(answer, asked_until=int(now + lifetime))
    except (BintuError, ConfigurationError) as exc:
        # The pause counts from the failure: a call that timed out took TIMEOUT.
        _record_failure(key, group_id, before, exc, time.time())
        return ""
    if before.failures:
        logger.info("Secure playback tokens for group %s can be had again", group_id)
    life = made.expires_at - now
    entry = _Entry(
        token=made.token,
        usable_until=made.expires_at - min(LAST_SECONDS, life / 4),
        # Renewed early enough that a page carrying it has TOKEN_RENEW_SECONDS to use it;
        # at half its life at the latest, should the service give less than was asked.
        renew_at=made.expires_at - min(float(nanovod_settings.TOKEN_RENEW_SECONDS), life / 2),
    )
    _cache().set(key, _as_value(entry), timeout=max(1, int(made.expires_at - now)))
    _remember(key, entry)
    return made.token


def _record_failure(key, group_id, before: _Entry, exc: Exception, now: float) -> None:
    failures = before.failures + 1
    error_seconds = float(nanovod_settings.ERROR_SECONDS)
    pause = min(error_seconds * 2 ** (failures - 1), float(nanovod_settings.MAX_ERROR_SECONDS))
    # Only the first failure of a streak is a WARNING: every render asks while it lasts.
    log = logger.warning if failures == 1 else logger.info
    log(
        "No secure playback token for group %s (failure %s in a row, next try in %.0fs): %s",
        group_id, failures, pause, exc,
    )  # fmt: skip
    entry = _Entry(
        token=before.usable(now),
        usable_until=before.usable_until,
        renew_at=before.renew_at,
        failures=failures,
        retry_at=now + pause,
    )
    # Kept past the pause, so that the next failure knows it continues a streak.
    keep = max(pause * 2, entry.usable_until - now, 1)
    _cache().set(key, _as_value(entry), timeout=int(keep))
    _memo.pop(key, None)


def _wait_for(key: str, since: float) -> str | None:
    """The token another process is asking for, once it is in the cache; at most TIMEOUT."""
    deadline = since + float(nanovod_settings.TIMEOUT)
    while time.time() < deadline:
        time.sleep(WAIT_STEP_SECONDS)
        entry = _read(key)
        now = time.time()
        if entry.usable(now):
            if now < entry.renew_at:
                _remember(key, entry)
            return entry.token
        if entry.retry_at > now:
            return None  # it failed
    return None


def _key(group_id: str, host: str) -> str:
    # Hashed: a host is the request's, and cache backends limit what a key may hold.
    digest = hashlib.sha256(f"{group_id}\n{host}".encode()).hexdigest()[:32]
    return f"wagtail_nanovod:splay:{digest}"


def _lock_key(key: str) -> str:
    return key.replace(":splay:", ":splay-asking:", 1)


def _cache():
    return caches[nanovod_settings.CACHE_ALIAS]


def _read(key: str) -> _Entry:
    value = _cache().get(key)
    if not isinstance(value, dict):
        return _Entry()
    try:
        return _Entry(**value)
    except TypeError:  # written by another release
        return _Entry()


def _as_value(entry: _Entry) -> dict:
    return {
        "token": entry.token,
        "usable_until": entry.usable_until,
        "renew_at": entry.renew_at,
        "failures": entry.failures,
        "retry_at": entry.retry_at,
    }


def _remember(key: str, entry: _Entry) -> None:
    if len(_memo) >= _MEMO_SIZE:
        _memo.pop(next(iter(_memo)), None)
    _memo[key] = entry
