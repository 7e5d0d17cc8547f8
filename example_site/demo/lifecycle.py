"""The "Live event" of the offline demo: bintu's side of a whole broadcast, on a clock.

Why this exists: the package's promise for live events is that a page moves from
"upcoming" to the live player, to "the recording is being processed", to the
recording, without anyone touching it. Offline there is no broadcast to watch, so
this module plays one on the fake bintu, in bintu's own terms::

    upcoming    state "created", no recording
    live        state "live"
    processing  state "ended", no recording yet
    ready       state "ended", one recording (the EU clip, stored in Europe)

It changes the fake only. The site learns of each step as it would from the real
bintu: a stream about to change is asked about again every ``ACTIVE_FRESH_SECONDS``
(by the task worker), and the page asks the site's state endpoint every
``POLL_SECONDS``, swapping its player in place. So what a visitor sees is the
package at work, not a shortcut.

The clock starts once run.py has loaded the demo content, just before the site
serves, so the first visitor still finds the stream upcoming. Durations come from
``NANOVOD_DEMO_LIFECYCLE`` ("upcoming,live,processing" in seconds), so a test can
play the whole broadcast in a few seconds. ``Start again`` on the page (offline
only) replays it.

Standard library only: the settings read :meth:`Timeline.from_environ` too.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

logger = logging.getLogger(__name__)

ENVIRON = "NANOVOD_DEMO_LIFECYCLE"
UPCOMING, LIVE, PROCESSING, READY = "upcoming", "live", "processing", "ready"
#: What bintu says about the stream in each phase: its state, and whether it has a recording.
BINTU_SIDE = {
    UPCOMING: ("created", False),
    LIVE: ("live", False),
    PROCESSING: ("ended", False),
    READY: ("ended", True),
}
#: The region storing the recording, and the clip it is.
RECORDING_REGION = "eu"
CLIP = Path(__file__).resolve().parent / "clips" / f"{RECORDING_REGION}.mp4"

# The page should catch every phase, and see each one for a while: asked about at
# least four times per phase, and never less often than every five seconds.
MAX_FRESH_SECONDS = 5
CHECKS_PER_PHASE = 4


@dataclass(frozen=True)
class Timeline:
    """How long the stream stays upcoming, live and processing, in seconds."""

    upcoming: float = 20
    live: float = 45
    processing: float = 25

    @classmethod
    def from_environ(cls, environ: dict[str, str] | None = None) -> Timeline:
        """The timeline of ``NANOVOD_DEMO_LIFECYCLE``, such as "20,45,25"; the default without."""
        value = (os.environ if environ is None else environ).get(ENVIRON, "").strip()
        if not value:
            return cls()
        try:
            seconds = [float(part) for part in value.split(",")]
        except ValueError:
            seconds = []
        if len(seconds) != 3 or not all(0 < s < 24 * 3600 for s in seconds):
            raise ValueError(
                f"{ENVIRON} must be three numbers of seconds, upcoming,live,processing "
                f'(such as "20,45,25"), not {value!r}.'
            )
        return cls(*seconds)

    @property
    def fresh_seconds(self) -> int:
        """How often the site asks bintu (and the page the site) while the stream moves."""
        shortest = min(self.live, self.processing)
        return max(1, min(MAX_FRESH_SECONDS, int(shortest // CHECKS_PER_PHASE)))

    def phase_at(self, elapsed: float) -> tuple[str, float]:
        """The phase *elapsed* seconds after the start, and the seconds it has left."""
        end = 0.0
        for phase, length in ((UPCOMING, self.upcoming), (LIVE, self.live)):
            end += length
            if elapsed < end:
                return phase, end - elapsed
        end += self.processing
        if elapsed < end:
            return PROCESSING, end - elapsed
        return READY, float("inf")

    def describe(self) -> str:
        """One line for the terminal."""
        return (
            f"upcoming {self.upcoming:g} s, live {self.live:g} s, "
            f"processing {self.processing:g} s, then its recording"
        )


class LifecycleDriver:
    """Moves one stream of a running FakeBintu through a broadcast, in a daemon thread.

    Made, it puts the stream upcoming; :meth:`start` starts the clock.
    """

    def __init__(self, bintu, stream_id: str, timeline: Timeline) -> None:
        self.bintu = bintu
        self.stream_id = stream_id
        self.timeline = timeline
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._started_at = time.monotonic()
        self._shown: str | None = None
        self._thread: threading.Thread | None = None
        # Kept across phases and replays: bintu's stream name and creation time do not
        # change while it goes live and ends.
        self._streamname = f"demo-{stream_id[-12:]}"
        self._created_at = datetime.now(UTC)
        with self._lock:
            self._apply(UPCOMING)

    def start(self) -> LifecycleDriver:
        """Start the clock now, the stream upcoming; returns self."""
        self.restart()
        self._thread = threading.Thread(target=self._run, name="demo-lifecycle", daemon=True)
        self._thread.start()
        return self

    def restart(self) -> None:
        """Play the broadcast again from the start: upcoming, at once."""
        with self._lock:
            self._started_at = time.monotonic()
            self._apply(UPCOMING)
        self._wake.set()

    def stop(self) -> None:
        """Stop the clock where it is."""
        self._stopped.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def phase(self) -> str:
        """The phase bintu (the fake) is in now."""
        with self._lock:
            return self._shown or UPCOMING

    def _run(self) -> None:
        while not self._stopped.is_set():
            with self._lock:
                phase, left = self.timeline.phase_at(time.monotonic() - self._started_at)
                if phase != self._shown:
                    self._apply(phase)
            # Woken early by restart() and stop(); once ready, only they wake it.
            self._wake.wait(None if left == float("inf") else left)
            self._wake.clear()

    def _apply(self, phase: str) -> None:
        """Make the fake say what bintu says in *phase* (with the lock held).

        The whole stream is set again each time rather than changed step by step, so a
        replay from any phase, or a phase skipped by a slow thread, lands right.
        """
        state, recorded = BINTU_SIDE[phase]
        self.bintu.add_stream(
            self.stream_id,
            state=state,
            tags=["demo"],
            streamname=self._streamname,
            created_at=self._created_at,
        )
        if recorded:
            self.bintu.add_recording(
                self.stream_id, region=RECORDING_REGION, content=CLIP.read_bytes()
            )
        self._shown = phase
        logger.info(
            "Live event: %s (bintu: state %s, %s)",
            phase,
            state,
            "one recording" if recorded else "no recording",
        )


_driver: LifecycleDriver | None = None


def install(bintu, stream_id: str, timeline: Timeline | None = None) -> LifecycleDriver:
    """Put *stream_id* on *bintu*, upcoming, under a driver that :func:`current` returns.

    The clock waits for ``start()``: run.py loads the demo content in between.
    """
    global _driver
    stop()
    _driver = LifecycleDriver(bintu, stream_id, timeline or Timeline.from_environ())
    return _driver


def current() -> LifecycleDriver | None:
    """The driver of this process, or None: a real bintu, or not started by run.py."""
    return _driver


def stop() -> None:
    """Stop the driver of this process, if any."""
    global _driver
    if _driver is not None:
        _driver.stop()
        _driver = None
