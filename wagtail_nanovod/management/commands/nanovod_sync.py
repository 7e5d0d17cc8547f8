"""``manage.py nanovod_sync``: ask bintu about every registered stream now.

Each stream goes through :func:`wagtail_nanovod.resolver.refresh_snippet`, as the admin's "refresh
now" does: the cache and the snapshots are updated, a failure keeps the last good
answer. The circuit breaker is ignored on purpose: an operator who runs this wants
bintu asked. A refused or missing key stops the run, since every call would fail alike.
"""

from __future__ import annotations

import time
from collections import Counter

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q
from django.utils import timezone

from ...exceptions import InvalidStreamId
from ...models import VodStream
from ...parsing import normalize_stream_id
from ...reasons import describe_reason
from ...resolver import refresh_snippet
from ...snapshot import state_of

# Failures that say nothing about one stream and everything about the next call.
FATAL_REASONS = frozenset({"authentication", "configuration"})
# A long list of failed streams helps nobody; the rest are counted.
LISTED_PER_REASON = 5


class Progress:
    """``[#####     ] 3/7`` redrawn in place on a terminal; one line per stream otherwise,
    so that a log file or CI output stays readable.
    """

    width = 30

    def __init__(self, stdout, total: int, *, enabled: bool = True) -> None:
        self.stdout = stdout
        self.total = total
        self.enabled = enabled
        self.tty = stdout.isatty()

    def step(self, done: int, stream: VodStream, result: str) -> None:
        """Show that ``done`` streams are done, the last being ``stream``, with ``result``."""
        if not self.enabled:
            return
        if self.tty:
            filled = self.width * done // self.total
            bar = "#" * filled + " " * (self.width - filled)
            self.stdout.write(f"\r[{bar}] {done}/{self.total}", ending="")
            self.stdout.flush()
        else:
            self.stdout.write(
                f"[{done}/{self.total}] {stream.title} ({stream.stream_id}): {result}"
            )

    def finish(self) -> None:
        """End the line the bar was drawn on."""
        if self.enabled and self.tty:
            self.stdout.write("")


class Command(BaseCommand):
    help = (
        "Refresh nanoStream streams from bintu now, whatever the cache and the circuit "
        "breaker say, and summarise what bintu answered."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--stale-only",
            action="store_true",
            help="Only streams whose snapshot is no longer fresh (or was never fetched).",
        )
        parser.add_argument(
            "--stream",
            action="append",
            dest="stream_ids",
            metavar="ID",
            help="Only the stream with this nanoStream stream ID; may be repeated.",
        )

    def handle(self, *args, stale_only=False, stream_ids=None, verbosity=1, **options):
        streams = self.select(stream_ids, stale_only)
        if not streams:
            self.stdout.write(
                "No stale streams to refresh." if stale_only else "No streams to refresh."
            )
            return
        progress = Progress(self.stdout, len(streams), enabled=verbosity > 0)
        states: Counter[str] = Counter()
        failed: dict[str, list[VodStream]] = {}
        started = time.monotonic()
        fatal = ""
        for done, stream in enumerate(streams, 1):
            outcome = refresh_snippet(stream)
            states[stream.status] += 1
            if outcome.error:
                failed.setdefault(outcome.error, []).append(stream)
                result = f"failed: {describe_reason(outcome.error)}"
            else:
                reason = state_of(outcome)[1]
                result = stream.get_status_display()
                if reason:
                    result += f": {describe_reason(reason)}"
            progress.step(done, stream, result)
            if outcome.error in FATAL_REASONS:
                fatal = outcome.error
                break
        progress.finish()
        self.summarise(sum(states.values()), len(streams), states, failed, started)
        if fatal:
            raise CommandError(
                f"Stopped: {describe_reason(fatal)}, so every call would fail the same way. "
                "Run manage.py nanovod_check to see why."
            )

    def select(self, stream_ids: list[str] | None, stale_only: bool) -> list[VodStream]:
        """The streams to refresh, in the listing's order."""
        streams = VodStream.objects.order_by("title", "pk")
        if stream_ids:
            try:
                wanted = {normalize_stream_id(value) for value in stream_ids}
            except InvalidStreamId as exc:
                raise CommandError(str(exc)) from exc
            streams = streams.filter(stream_id__in=wanted)
            unknown = wanted - {str(stream.stream_id) for stream in streams}
            if unknown:
                raise CommandError(
                    f"No stream is registered with the stream ID {', '.join(sorted(unknown))}."
                )
        if stale_only:
            now = timezone.now()
            streams = streams.filter(Q(fresh_until__isnull=True) | Q(fresh_until__lte=now))
        return list(streams)

    def summarise(self, done, total, states, failed, started) -> None:
        """Counts by resulting state, then the failures by reason, naming the streams."""
        seconds = time.monotonic() - started
        self.stdout.write(f"Refreshed {done} of {total} streams in {seconds:.1f}s.")
        counts = [
            f"{label} {states[value]}"
            for value, label in VodStream.STATUS_CHOICES
            if states[value]
        ]
        self.stdout.write(f"By state: {', '.join(counts)}.")
        if not failed:
            self.stdout.write(self.style.SUCCESS("No failures."))
            return
        self.stdout.write(self.style.WARNING(f"Failed: {sum(map(len, failed.values()))}."))
        for reason, streams in sorted(failed.items(), key=lambda item: -len(item[1])):
            names = ", ".join(f"{s.title} ({s.stream_id})" for s in streams[:LISTED_PER_REASON])
            if len(streams) > LISTED_PER_REASON:
                names += f" and {len(streams) - LISTED_PER_REASON} more"
            self.stdout.write(f"  {describe_reason(reason)} [{reason}]: {len(streams)}: {names}")
