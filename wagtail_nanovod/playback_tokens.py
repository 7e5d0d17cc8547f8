"""Secure playback tokens for live players: one per stream group and host, shared by
every process through the cache, asked for by one of them at a time.

A token is asked for with ``TOKEN_SECONDS`` to live and renewed once fewer than
``TOKEN_RENEW_SECONDS`` are left; until then it is served from this process's memory
(no cache trip) or the cache. The renewal runs in a thread of its own, while every
render goes on serving the token it has, still valid. Only when there is none does a
render wait, for the process that asks, and never longer than ``TIMEOUT``.

When the token service is slow, down or refuses, a live player cannot be given a token:
it shows that the stream cannot be played right now. The service is taken as down for
every group and host alike: nothing asks it again before ``ERROR_SECONDS`` (doubled
with each failure in a row, up to ``MAX_ERROR_SECONDS``), so a page of several live
streams waits on one failure at most, and the first failure of a streak is logged as a
WARNING, the others at INFO, across processes. The token itself is never logged.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass, field

from django.core.cache import caches

from . import locks
from .client import BintuClient
from .conf import nanovod_settings, on_settings_change
from .parsing import parse_playback_token

logger = logging.getLogger(__name__)

#: How often a render waiting on another process's request looks for its token.
WAIT_STEP_SECONDS = 0.05
#: A token this close to its expiry is not handed out (a quarter of its life, if that is
#: less): the player needs time to use it.
LAST_SECONDS = 30
#: The token service failed lately: {"failures": in a row, "retry_at": when to ask again}.
DOWN_KEY = "wagtail_nanovod:splay-down"
_MEMO_SIZE = 256


@dataclass(frozen=True, slots=True)
class _Token:
    """A token as the cache keeps it, with when to renew it and when to stop serving it."""

    token: str = field(default="", repr=False)
    usable_until: float = 0.0
    renew_at: float = 0.0

    def usable(self, now: float) -> str:
        return self.token if now < self.usable_until else ""


_memo: dict[str, _Token] = {}  # this process's tokens that need no renewing yet
_memo_lock = threading.Lock()


@on_settings_change
def forget() -> None:
    """Forget this process's tokens (the settings name another service or lifetime)."""
    with _memo_lock:
        _memo.clear()


def token_for(group_id: str, host: str) -> str | None:
    """A token for live playback of *group_id* on *host*; None when none can be had now.

    *host* is the one the token is bound to, the page's; without one there is no token.
    """
    if not host:
        return None  # an unbound token would play on any site
    key = _key(group_id, host)
    now = time.time()
    remembered = _memo.get(key)
    if remembered is not None and now < remembered.renew_at:
        return remembered.token
    entry, down = _read(key)
    settled = _settled(key, entry, down, now)
    if settled is not _ASK_SERVICE:
        return settled
    owned = locks.take([_lock_key(key)], locks.fetch_seconds())
    if not owned:
        # Another process is asking: the token we have is still good, else wait for its.
        return entry.usable(now) or _wait_for(key, now)
    # Read again: the process that held the lock a moment ago may have stored its outcome.
    entry, down = _read(key)
    settled = _settled(key, entry, down, now)
    if settled is not _ASK_SERVICE:
        locks.release(owned)
        return settled
    if entry.usable(now):
        # A renewal: nobody waits for it, the token in hand serves meanwhile.
        thread = threading.Thread(
            target=_ask, args=(key, group_id, host, owned), name="nanovod-token", daemon=True
        )
        thread.start()
        return entry.usable(now)
    return _ask(key, group_id, host, owned) or None


#: What :func:`_settled` says when the service is to be asked.
_ASK_SERVICE = object()


def _settled(key: str, entry: _Token, down: dict, now: float):
    """What to serve without asking the service: a token that needs no renewing yet, or,
    while a failure's pause lasts, the token in hand (None without one); else
    ``_ASK_SERVICE``."""
    if entry.token and now < entry.renew_at:
        _remember(key, entry)
        return entry.token
    if now < down["retry_at"]:
        return entry.usable(now) or None
    return _ASK_SERVICE


def _ask(key: str, group_id: str, host: str, owned: dict[str, str]) -> str:
    """Ask the token service, store what came of it, lift the lock; the token, "" if none."""
    try:
        return _store(key, _new_token(group_id, host))
    except Exception as exc:  # whatever went wrong, the page plays on
        _record_failure(group_id, exc)
        return ""
    finally:
        locks.release(owned)


def _new_token(group_id: str, host: str) -> _Token:
    # Its own frame: the service's raw answer, token and all, ends with it.
    now = time.time()
    asked_until = int(now + float(nanovod_settings.TOKEN_SECONDS))
    answer = BintuClient().playback_token(group_id, domain=host, expires_at=asked_until)
    made = parse_playback_token(answer, asked_until=asked_until)
    life = made.expires_at - now
    return _Token(
        token=made.token,
        usable_until=made.expires_at - min(LAST_SECONDS, life / 4),
        # Renewed early enough that a page carrying it has TOKEN_RENEW_SECONDS to use it;
        # at half its life at the latest, should the service give less than was asked.
        renew_at=made.expires_at - min(float(nanovod_settings.TOKEN_RENEW_SECONDS), life / 2),
    )


def _store(key: str, made: _Token) -> str:
    cache = _cache()
    cache.set(key, _as_value(made), timeout=max(1, int(made.usable_until - time.time())))
    _remember(key, made)
    if cache.get(DOWN_KEY) is not None:
        cache.delete(DOWN_KEY)
        logger.info("Secure playback tokens can be had again")
    return made.token


def _record_failure(group_id: str, exc: Exception) -> None:
    cache = _cache()
    before = _down(cache.get(DOWN_KEY))
    failures = before["failures"] + 1
    error_seconds = float(nanovod_settings.ERROR_SECONDS)
    pause = min(error_seconds * 2 ** (failures - 1), float(nanovod_settings.MAX_ERROR_SECONDS))
    # Only the first failure of a streak is a WARNING: every page with a live stream
    # would log one while it lasts. Our errors' messages hold neither key nor token;
    # of anything else, only its type is told.
    reason = str(exc) if exc.__class__.__module__.startswith("wagtail_nanovod") else ""
    log = logger.warning if failures == 1 else logger.info
    log(
        "No secure playback token for group %s (failure %s in a row, next try in %.0fs): %s",
        group_id, failures, pause, reason or type(exc).__name__,
    )  # fmt: skip
    down = {"failures": failures, "retry_at": time.time() + pause}
    # Kept past the pause, so that the next failure knows it continues a streak.
    cache.set(DOWN_KEY, down, timeout=int(pause * 2) + 1)


def _wait_for(key: str, since: float) -> str | None:
    """The token another process is asking for, once it is in the cache; at most TIMEOUT."""
    deadline = since + float(nanovod_settings.TIMEOUT)
    while time.time() < deadline:
        time.sleep(WAIT_STEP_SECONDS)
        entry, down = _read(key)
        now = time.time()
        if entry.usable(now):
            if now < entry.renew_at:
                _remember(key, entry)
            return entry.token
        if down["retry_at"] > now:
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


def _read(key: str) -> tuple[_Token, dict]:
    """The token the cache holds for a key, and whether the service is down: one trip."""
    values = _cache().get_many([key, DOWN_KEY])
    value = values.get(key)
    try:
        entry = _Token(**value) if isinstance(value, dict) else _Token()
    except TypeError:  # written by another release
        entry = _Token()
    return entry, _down(values.get(DOWN_KEY))


def _down(value: object) -> dict:
    if isinstance(value, dict) and {"failures", "retry_at"} <= value.keys():
        return value
    return {"failures": 0, "retry_at": 0.0}


def _as_value(entry: _Token) -> dict:
    return {"token": entry.token, "usable_until": entry.usable_until, "renew_at": entry.renew_at}


def _remember(key: str, entry: _Token) -> None:
    with _memo_lock:  # evicting while another thread adds would break the iteration
        if len(_memo) >= _MEMO_SIZE:
            _memo.pop(next(iter(_memo)), None)
        _memo[key] = entry
