"""The state endpoint's answers, remembered per process until any stream row changes.

Every open tab of a page with a live stream asks the same question every
``POLL_SECONDS``; a crowd is thousands of the same question a second. Each process
remembers the answer it gave, by the question's query string, and serves it again for
at most one cache read: the shared *epoch*, a random value that every write of a stream row
(:mod:`wagtail_nanovod.models`) replaces, in whichever process. An answer also ends
when what it says would change with no write (a processing grace period ends), and
when one of its snapshots is stale and no refresh of it is known to be on its way (the
endpoint works the answer out afresh, which queues one).

With a per-process cache (LocMem) a process sees only its own writes: the same
condition as the locks (see :mod:`wagtail_nanovod.locks`).
"""

from __future__ import annotations

import contextlib
import math
import random
import threading
import time
from dataclasses import dataclass, field, replace

from django.core.cache import caches
from django.db import transaction

from .conf import nanovod_settings, on_settings_change

EPOCH_KEY = "wagtail_nanovod:states-epoch"
#: Questions remembered per process, at most; the oldest is forgotten first. A question
#: is at most 50 stream ids, its answer as long: a few megabytes in all.
ANSWERS_MEMO_SIZE = 1024


@dataclass(frozen=True, slots=True)
class Answer:
    """One answer of the endpoint, as it was worked out."""

    body: bytes
    #: Until when it holds with no stream written: a processing grace period's end.
    valid_until: float
    #: Stream id -> (until when its snapshot is fresh, when bintu last answered): past
    #: that, a refresh is due, which only working the answer out afresh queues, unless
    #: one is queued or running already.
    due: dict[str, tuple[float, float | None]] = field(default_factory=dict)
    epoch: int | None = None
    #: When it was worked out.
    made_at: float = field(default_factory=time.time)
    #: When the first of its snapshots stops being fresh (worked out once).
    first_due: float = field(init=False)

    def __post_init__(self) -> None:
        first = min((fresh_until for fresh_until, _ in self.due.values()), default=math.inf)
        object.__setattr__(self, "first_due", first)


#: How long a process trusts the epoch it read: other processes' writes reach its
#: answers at most this much later (a tab polls every few seconds), and a crowd costs
#: the cache a read per process every half second instead of one per request.
EPOCH_TRUST_SECONDS = 0.5
_epoch_read: tuple[int | None, float] = (None, 0.0)

# query string -> its answer
_answers: dict[str, Answer] = {}
_writing = threading.Lock()
_working: set[str] = set()  # queries a thread of this process is working out now


@on_settings_change
def _forget() -> None:
    global _epoch_read
    _answers.clear()
    _epoch_read = (None, 0.0)


def _cache():
    return caches[nanovod_settings.CACHE_ALIAS]


def remembered(query: str) -> tuple[Answer | None, int | None]:
    """The remembered answer to ``query`` if no stream was written since, and the epoch
    read (to hand to :func:`remember` with an answer worked out now). At most one cache
    round trip, none within ``EPOCH_TRUST_SECONDS`` of the last. Whether the answer's
    stale streams are being refreshed is the caller's to ask (:attr:`Answer.due`)."""
    epoch = _current_epoch()
    answer = _answers.get(query)
    fits = answer is not None and epoch is not None and answer.epoch == epoch
    if fits and time.time() < answer.valid_until:
        return answer, epoch
    return None, epoch


def latest(query: str, max_age: float) -> Answer | None:
    """The last answer to ``query`` this process worked out, if it is at most
    ``max_age`` seconds old, whether it still holds or not."""
    answer = _answers.get(query)
    if answer is not None and time.time() - answer.made_at <= max_age:
        return answer
    return None


@contextlib.contextmanager
def single_flight(query: str):
    """Whether this thread is the one of its process to work out the answer to ``query``
    now (False while another thread is at it): a write voids the answers every thread is
    serving at once, and a crowd would otherwise work the same one out on all of them."""
    with _writing:
        mine = query not in _working
        _working.add(query)
    try:
        yield mine
    finally:
        if mine:
            with _writing:
                _working.discard(query)


def _current_epoch() -> int | None:
    global _epoch_read
    epoch, read_at = _epoch_read
    now = time.monotonic()
    if epoch is None or now - read_at >= EPOCH_TRUST_SECONDS:
        epoch = _cache().get(EPOCH_KEY)
        _epoch_read = (epoch, now)
    return epoch


def remember(query: str, epoch: int | None, answer: Answer) -> None:
    """Keep an answer worked out after reading ``epoch`` (so a write made meanwhile
    voids it)."""
    if epoch is None:
        # No epoch yet (a new or flushed cache): start one. If another process started
        # it first, the answer is not kept: its epoch is not known here.
        global _epoch_read
        epoch = _new_epoch()
        if not _cache().add(EPOCH_KEY, epoch, timeout=None):
            return
        _epoch_read = (epoch, time.monotonic())
    answer = replace(answer, epoch=epoch)
    with _writing:
        _answers.pop(query, None)
        if len(_answers) >= ANSWERS_MEMO_SIZE:
            del _answers[next(iter(_answers))]
        _answers[query] = answer


def streams_changed(using: str | None = None) -> None:
    """A stream row was written (in database ``using``): every process's remembered
    answers are void.

    Once now, and once more when the transaction commits: a process that read the rows
    between the two would otherwise keep an answer from before the write.
    """
    _set_epoch()
    if transaction.get_connection(using).in_atomic_block:
        transaction.on_commit(_set_epoch, using=using)


def _set_epoch() -> None:
    global _epoch_read
    epoch = _new_epoch()
    _cache().set(EPOCH_KEY, epoch, timeout=None)
    _epoch_read = (epoch, time.monotonic())  # this process sees its own writes at once


def _new_epoch() -> int:
    return random.getrandbits(62)
