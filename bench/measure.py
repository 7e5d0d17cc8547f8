"""Timing and counting renders and requests, and the table they end up in."""

from __future__ import annotations

import functools
import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import connection
from django.template import Context, Template
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.counting_cache import CountingCache
from wagtail_nanovod.testing import FakeBintu

BODY = "{% load wagtailcore_tags %}{% include_block page.body %}"

Run = Callable[..., tuple[float, str]]


@dataclass
class Costs:
    """What one render (or request) costs besides time."""

    queries: int
    cache: int
    bintu: int
    html: str
    seconds: float


class Meter:
    """Times and counts renders and requests of pages."""

    def __init__(self, bintu: FakeBintu) -> None:
        self.bintu = bintu
        self.template = Template(BODY)
        self.client = Client()

    def render(self, ref) -> tuple[float, str]:
        """Seconds to render the body of a freshly fetched page (fetch not timed), and the HTML.

        The StreamField is converted lazily, so each block's ``bulk_to_python`` (and
        its queries) runs inside the timed render, as it does in a real page view.
        """
        return self.render_page(ref.fetch())

    def render_page(self, page) -> tuple[float, str]:
        """Seconds to render the body of this page object, and the HTML."""
        context = Context({"page": page})
        # No collection in the middle of a render: it would land on whichever kind
        # happened to be running. Series collect between rounds instead.
        gc.disable()
        try:
            started = time.perf_counter()
            html = self.template.render(context)
            elapsed = time.perf_counter() - started
        finally:
            gc.enable()
        return elapsed, html

    def request(self, ref) -> tuple[float, str]:
        """Seconds to serve the page through Django's test client, and the HTML."""
        gc.disable()
        try:
            started = time.perf_counter()
            response = self.client.get(ref.url)
            elapsed = time.perf_counter() - started
        finally:
            gc.enable()
        if response.status_code != 200:
            raise SystemExit(f"{ref.url} answered {response.status_code}")
        return elapsed, response.content.decode()

    def costs(self, ref, *, request: bool = False) -> Costs:
        """Queries, cache round trips and bintu calls of one run (and its time).

        Series count apart from the timed runs, so that capturing queries costs them
        nothing. A render is counted without the page fetch before it; a request whole.
        """
        if request:
            run = functools.partial(self.request, ref)
        else:
            run = functools.partial(self.render_page, ref.fetch())
        calls = self.bintu.calls()
        CountingCache.round_trips = 0
        with CaptureQueriesContext(connection) as queries:
            elapsed, html = run()
        trips = CountingCache.round_trips
        return Costs(len(queries), trips, self.bintu.calls() - calls, html, elapsed)

    def series(
        self, run: Run, refs: dict, repeat: int, warmup: int
    ) -> tuple[dict[str, float], dict[str, int]]:
        """Median seconds of each page, run interleaved; bintu calls during the series."""
        names = list(refs)
        for _ in range(warmup):
            for name in names:
                run(refs[name])
        # Everything alive now (Django, Wagtail, the content) stays: frozen, it is not
        # walked by each collection below, which would otherwise take ~0.1 s.
        gc.collect()
        gc.freeze()
        times: dict[str, list[float]] = {name: [] for name in names}
        calls = dict.fromkeys(names, 0)
        for round_ in range(repeat):
            gc.collect()
            # Rotated each round, so that no kind always runs first after a collection.
            shift = round_ % len(names)
            for name in names[shift:] + names[:shift]:
                before = self.bintu.calls()
                elapsed, _html = run(refs[name])
                calls[name] += self.bintu.calls() - before
                times[name].append(elapsed)
        return {name: statistics.median(values) for name, values in times.items()}, calls


@dataclass
class Row:
    """One line of the table."""

    section: str
    case: str
    n: int
    seconds: float | None  # None: not measured
    floor: float | None = None
    minimal: float | None = None
    queries: int | None = None
    cache: int | None = None
    bintu: int | None = None
    #: (what is promised, whether this run kept it)
    targets: list[tuple[str, bool]] = field(default_factory=list)

    @property
    def missed(self) -> list[str]:
        return [target for target, met in self.targets if not met]


class Report:
    """The rows of the table, with their targets."""

    COLUMNS = (
        "section",
        "case",
        "N",
        "median",
        "x floor",
        "x minimal",
        "DB queries",
        "cache trips",
        "bintu calls",
        "targets",
    )

    def __init__(self) -> None:
        self.rows: list[Row] = []

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        return row

    def find(self, section: str, case: str, n: int) -> Row:
        return next(r for r in self.rows if (r.section, r.case, r.n) == (section, case, n))

    @staticmethod
    def check(row: Row, met: bool, target: str) -> None:
        row.targets.append((target, bool(met)))

    @property
    def missed(self) -> list[tuple[Row, str]]:
        return [(row, target) for row in self.rows for target in row.missed]

    def markdown(self) -> list[str]:
        lines = [
            "| " + " | ".join(self.COLUMNS) + " |",
            "|" + "---|" * len(self.COLUMNS),
        ]
        for row in self.rows:
            cells = [
                row.section,
                row.case,
                str(row.n),
                "" if row.seconds is None else duration(row.seconds),
                _ratio(row.floor),
                _ratio(row.minimal),
                _count(row.queries),
                _count(row.cache),
                _count(row.bintu),
                "<br>".join(f"{'ok' if met else '**MISSED**'}: {t}" for t, met in row.targets),
            ]
            lines.append("| " + " | ".join(cells) + " |")
        return lines


def duration(seconds: float) -> str:
    if seconds >= 0.1:
        return f"{seconds:.3f} s"
    return f"{seconds * 1000:.2f} ms"


def _ratio(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}x"


def _count(value: int | None) -> str:
    return "" if value is None else str(value)
