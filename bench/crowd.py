"""6 crowd: the public state endpoint as a site serves it, polled by a crowd.

Every open tab of a page with a live stream asks ``/nanovod/state/?id=…&id=…`` every
``POLL_SECONDS``. Here a deployment answers: gunicorn, PostgreSQL and Redis (started as
the integration tests start them, tests/services.py), refreshes in the background of
the web processes (the immediate task backend), and a page's worth of streams synced
once, some of them live. ApacheBench (Debian's ``apache2-utils``) sends a fixed number
of requests, a fixed number at once, to three URLs in turn on the same server: a bare
Django view (the floor), the state of 1 stream, and the state of all of them.

The server and the seeding run in processes of their own (``benchsite.crowd_settings``);
the fake bintu runs in the bench's process, which counts its calls.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from urllib.parse import urlencode

import pytest
from benchsite.counting import CACHE_TRIPS_HEADER, QUERIES_HEADER
from measure import Report, Row, duration

from tests import services
from wagtail_nanovod.testing import FakeBintu

HERE = Path(__file__).resolve().parent

SECTION = "6 crowd"
# A page's worth of streams: the most the state endpoint answers in one request.
STREAMS = 50
LIVE_STREAMS = 10
# Short, so that each live stream goes stale several times while the crowd polls and
# the refreshes happen under load (a site's default is 30 s).
ACTIVE_FRESH_SECONDS = 1
# gthread, as a site taking the pollers' requests runs gunicorn: connections kept alive
# between requests (by a proxy in front, here by ab) need threaded workers, while sync
# workers close each one and need a buffering proxy. With threads, a request waiting on
# PostgreSQL or Redis does not hold its whole process.
WORKERS = 2
THREADS = 4
KEEP_ALIVE = True  # ab -k: gthread keeps connections alive, sync workers would not
# Requests in flight at once, and per timed run; runs of each URL, interleaved.
CONCURRENCY = 50
REQUESTS = 1500
ROUNDS = 3
QUICK_REQUESTS = 500
QUICK_ROUNDS = 1
# Requests per URL before timing: every worker thread has imported the views and
# opened its connections.
WARMUP_REQUESTS = 200
# Requests counted one at a time afterwards, per URL, that queued no refresh.
COUNTED_REQUESTS = 5
# How long a refresh queued by a request takes to reach the fake bintu, at most.
REFRESH_SETTLE = 0.1
START_SECONDS = 30
AN_HOUR_AGO = timedelta(hours=1)

KINDS = {
    "floor": "floor: a bare Django view returning a small JsonResponse",
    "one": "state endpoint, 1 id (a live stream)",
    "all": f"state endpoint, {STREAMS} ids ({LIVE_STREAMS} live), nothing changed",
}


@dataclass
class Load:
    """What one ab run measured."""

    rps: float
    p99: float  # seconds
    errors: int  # failed connections, receives and non-2xx answers


@dataclass
class Counts:
    """Queries and cache round trips of requests made one at a time."""

    quiet: list[tuple[int, int]]  # requests that queued no refresh
    refreshing: list[tuple[int, int]]  # requests that queued one
    streams: int  # streams in the last answer


def crowd(
    bintu: FakeBintu, report: Report, work_dir: Path, *, quick: bool, progress: Callable
) -> list[str]:
    """Measure the state endpoint under a crowd; add its rows; lines for the header."""
    started = time.perf_counter()
    requests, rounds = (QUICK_REQUESTS, QUICK_ROUNDS) if quick else (REQUESTS, ROUNDS)
    missing = _missing_program()
    if missing:
        return _not_measured(report, missing, progress)
    progress("crowd: starting PostgreSQL and Redis")
    try:
        with services.postgresql() as database, services.redis() as cache:
            env = _environment(work_dir, database.create_database("crowd"), cache.url())
            live, settled = _streams(bintu)
            progress("crowd: migrating and syncing the streams")
            _seed(env, live + settled)
            progress("crowd: starting gunicorn")
            with _gunicorn(env, work_dir / "gunicorn.log") as base_url:
                urls = {
                    "floor": f"{base_url}/floor/",
                    "one": _state_url(base_url, live[:1]),
                    "all": _state_url(base_url, live + settled),
                }
                _measure(bintu, report, urls, live, settled, requests, rounds, progress)
            versions = _versions(database, cache)
    except (pytest.skip.Exception, pytest.fail.Exception) as exc:
        # tests/services.py tells what is missing (PostgreSQL, Redis, their drivers)
        # the way it tells the test suite.
        return _not_measured(report, str(exc), progress)
    seconds = time.perf_counter() - started
    progress(f"crowd: done in {seconds:.1f} s")
    return [
        f"- {SECTION} ({seconds:.0f} s): {versions}, {WORKERS} gthread workers of {THREADS} "
        f"threads, on 127.0.0.1; ab -c {CONCURRENCY}{' -k' if KEEP_ALIVE else ''}, "
        f"{rounds} run(s) of {requests} requests per URL, interleaved; median: seconds per "
        "request of the whole server (1 / requests per second) or the p99 latency, each "
        "the median of the runs; DB queries, cache trips: the most of one request made "
        "alone afterwards; bintu calls: during the runs",
    ]


def _measure(bintu, report, urls, live, settled, requests: int, rounds: int, progress) -> None:
    """Warm up, time the URLs in interleaved rounds, then count; add the rows."""
    progress("crowd: warming up")
    calls_before = len(bintu.requests)
    polling_since = time.monotonic()
    for url in urls.values():
        _ab(url, WARMUP_REQUESTS)
    loads: dict[str, list[Load]] = {kind: [] for kind in urls}
    kinds = list(urls)
    for round_ in range(rounds):
        progress(f"crowd: round {round_ + 1} of {rounds}")
        # Rotated each round, so that no URL always runs first.
        shift = round_ % len(kinds)
        for kind in kinds[shift:] + kinds[:shift]:
            loads[kind].append(_ab(urls[kind], requests))
    polled = time.monotonic() - polling_since
    # A refresh queued by the last requests reaches bintu just after them.
    time.sleep(REFRESH_SETTLE)
    ours = set(live + settled)
    calls = [r for r in bintu.requests[calls_before:] if r.server == "api" and r.stream_id in ours]
    progress("crowd: counting queries and cache round trips")
    counts = {kind: _counts(bintu, url) for kind, url in urls.items()}
    _load_rows(report, loads, counts)
    _bintu_row(report, calls, polled, live, settled)


def _load_rows(report, loads: dict[str, list[Load]], counts: dict[str, Counts]) -> None:
    """Throughput of each URL, then the p99 latency of the state endpoint's."""
    rps = {kind: statistics.median(load.rps for load in runs) for kind, runs in loads.items()}
    p99 = {kind: statistics.median(load.p99 for load in runs) for kind, runs in loads.items()}
    n = {"floor": 0, "one": 1, "all": STREAMS}
    for kind, runs in loads.items():
        quiet, refreshing = counts[kind].quiet, counts[kind].refreshing
        case = f"{KINDS[kind]}: throughput, {rps[kind]:,.0f} requests/s"
        if refreshing:
            # Not held to the targets: a request that finds a live stream stale queues
            # its refresh, and the first after a refresh works its answer out afresh,
            # which costs more, once per ACTIVE_FRESH_SECONDS.
            case += (
                f" (of {len(quiet) + len(refreshing)} requests counted, {len(refreshing)} "
                f"came with a refresh: up to {max(q for q, _ in refreshing)} DB queries, "
                f"{max(c for _, c in refreshing)} cache trips)"
            )
        row = report.add(
            Row(
                SECTION,
                case,
                n[kind],
                1 / rps[kind],
                floor=rps["floor"] / rps[kind],
                queries=max((q for q, _ in quiet), default=None),
                cache=max((c for _, c in quiet), default=None),
            )
        )
        errors = sum(load.errors for load in runs)
        if errors:
            report.check(row, False, f"every answer a 200 ({errors} were not)")
        if kind == "floor":
            continue
        ratio = rps[kind] / rps["floor"]
        report.check(row, ratio >= 0.5, f"≥ 0.5x the floor's requests/s (is {ratio:.2f}x)")
        if kind == "all":
            _check_counts(report, row, counts[kind])
    for kind in ("one", "all"):
        ratio = p99[kind] / p99["floor"]
        row = report.add(
            Row(
                SECTION,
                f"{KINDS[kind]}: p99 latency, {CONCURRENCY} requests at once "
                f"(the floor's: {duration(p99['floor'])})",
                n[kind],
                p99[kind],
                floor=ratio,
            )
        )
        report.check(row, ratio <= 2, f"≤ 2x the floor's p99 (is {ratio:.2f}x)")


def _check_counts(report, row, counts: Counts) -> None:
    """The 50-id request: nothing from the database, one read from the cache, all there."""
    if not counts.quiet:
        report.check(row, False, "a request that queued no refresh, to count")
        return
    report.check(row, row.queries == 0, "0 DB queries")
    report.check(row, row.cache <= 1, "≤ 1 cache trip")
    report.check(
        row, counts.streams == STREAMS, f"all {STREAMS} streams answered (is {counts.streams})"
    )


def _bintu_row(report, calls, polled: float, live: list[str], settled: list[str]) -> None:
    """At most one call per live stream per ACTIVE_FRESH_SECONDS, none for settled ones."""
    per_stream = dict.fromkeys(live + settled, 0)
    for call in calls:
        per_stream[call.stream_id] += 1
    allowed = len(live) * (int(polled // ACTIVE_FRESH_SECONDS) + 1)
    most = max(per_stream[sid] for sid in live)
    row = report.add(
        Row(
            SECTION,
            f"bintu calls while the crowd polls a warm event: {len(live)} live streams, "
            f"ACTIVE_FRESH_SECONDS {ACTIVE_FRESH_SECONDS} s, {polled:.1f} s of polling "
            f"(most for one live stream: {most}; for the settled ones: "
            f"{sum(per_stream[sid] for sid in settled)})",
            STREAMS,
            polled,
            bintu=len(calls),
        )
    )
    report.check(
        row,
        len(calls) <= allowed,
        f"≤ 1 per live stream per ACTIVE_FRESH_SECONDS (≤ {allowed})",
    )


# -- the pieces ---------------------------------------------------------------------------


def _missing_program() -> str:
    """What to install for the programs this section runs besides the services; or ""."""
    if shutil.which("ab") is None:
        return "ApacheBench (ab) is not installed: apt-get install apache2-utils"
    if importlib.util.find_spec("gunicorn") is None:
        return "gunicorn is not installed: pip install -e '.[test,bench]'"
    return ""


def _not_measured(report: Report, reason: str, progress) -> list[str]:
    progress(f"crowd: not measured: {reason}")
    row = report.add(Row(SECTION, "state endpoint under a crowd: not measured", STREAMS, None))
    report.check(row, False, reason)
    return []


def _environment(work_dir: Path, database_url: str, cache_url: str) -> dict[str, str]:
    """The environment of the seeding and the server: the crowd's settings, found."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "benchsite.crowd_settings",
        # The bench site, the repository (tests.services) and the generated migrations.
        "PYTHONPATH": os.pathsep.join(map(str, (HERE, HERE.parent, work_dir))),
        "BENCH_POSTGRESQL": database_url,
        "BENCH_REDIS": cache_url,
        "BENCH_ACTIVE_FRESH_SECONDS": str(ACTIVE_FRESH_SECONDS),
    }


def _streams(bintu: FakeBintu) -> tuple[list[str], list[str]]:
    """Live streams, and settled ones with a recording listed an hour ago."""
    live = [bintu.add_stream(state="live") for _ in range(LIVE_STREAMS)]
    settled = []
    listed = datetime.now(UTC) - AN_HOUR_AGO
    for n in range(STREAMS - LIVE_STREAMS):
        stream_id = bintu.add_stream()
        # An hour old: a recording listed minutes ago is checked at the active pace.
        bintu.add_recording(stream_id, region=("eu", "us", "au")[n % 3], created_at=listed)
        settled.append(stream_id)
    return live, settled


def _seed(env: dict[str, str], stream_ids: list[str]) -> None:
    """Migrate the crowd's database and sync its snippets (benchsite's crowd_seed)."""
    done = subprocess.run(
        [sys.executable, "-m", "django", "crowd_seed", *stream_ids],
        cwd=HERE,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"crowd_seed failed:\n{done.stdout}{done.stderr}")


@contextlib.contextmanager
def _gunicorn(env: dict[str, str], log: Path) -> Iterator[str]:
    """gunicorn serving the crowd's site on a free port of 127.0.0.1; its base URL."""
    port = services.free_port()
    with log.open("w") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                f"--bind=127.0.0.1:{port}",
                f"--workers={WORKERS}",
                "--worker-class=gthread",
                f"--threads={THREADS}",
                "--log-level=warning",
                "--error-logfile=-",
                "--graceful-timeout=5",
                "benchsite.wsgi",
            ],
            cwd=HERE,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/floor/", timeout=5):
                    break
            except (urllib.error.URLError, ConnectionError) as exc:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = log.read_text()
                    raise RuntimeError(f"gunicorn did not start ({exc}):\n{output}") from exc
                time.sleep(0.1)
        yield base_url
    finally:
        _stop(process)


def _stop(process: subprocess.Popen) -> None:
    """gunicorn's quick shutdown (SIGINT), which stops its workers; killed if that hangs.

    It stays in the bench's process group, like the services: a Ctrl-C reaches it
    directly, in case the bench is killed before this runs (dev.py gives it 0.25 s).
    A killed master's workers notice and exit by themselves.
    """
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _state_url(base_url: str, stream_ids: list[str]) -> str:
    return f"{base_url}/nanovod/state/?" + urlencode([("id", sid) for sid in stream_ids])


def _ab(url: str, requests: int) -> Load:
    """One ApacheBench run: ``requests`` requests of ``url``, CONCURRENCY at once."""
    command = ["ab", "-q", "-n", str(requests), "-c", str(CONCURRENCY), "-s", "30"]
    if KEEP_ALIVE:
        command.append("-k")
    done = subprocess.run(
        [*command, url], capture_output=True, text=True, timeout=300, check=False
    )
    output = done.stdout
    if done.returncode or "Requests per second" not in output:
        raise RuntimeError(f"ab failed on {url}:\n{output}{done.stderr}")

    def number(label: str, default: str | None = None) -> float:
        found = re.search(rf"^\s*{re.escape(label)}\s+([\d.]+)", output, re.MULTILINE)
        if found is None:
            if default is None:
                raise RuntimeError(f"no {label!r} in ab's output:\n{output}")
            return float(default)
        return float(found[1])

    # Failed requests counts answers whose length differs from the first one's too,
    # which says nothing wrong of a JSON answer: only the other kinds are errors.
    failed = re.search(r"Connect: (\d+), Receive: (\d+), Length: \d+, Exceptions: (\d+)", output)
    errors = sum(map(int, failed.groups())) if failed else 0
    return Load(
        rps=number("Requests per second:"),
        p99=number("99%") / 1000,  # whole milliseconds: ab prints no finer
        errors=errors + int(number("Non-2xx responses:", "0")),
    )


def _counts(bintu: FakeBintu, url: str) -> Counts:
    """Requests made one at a time with X-Bench-Count, sorted by whether each came with a
    refresh: it queued one (seen as a call reaching bintu right after it: nothing else
    asks now), or one ran since the requests before it (its store wrote the streams'
    rows, so each worker works its answer out afresh once). The others are "nothing
    changed". A few requests before each counted one let every worker answer once."""
    quiet: list[tuple[int, int]] = []
    refreshing: list[tuple[int, int]] = []
    streams = 0
    for _ in range(3 * COUNTED_REQUESTS):
        before = bintu.calls()
        for _ in range(WORKERS * 2):
            _get(url, count=False)
        counted, streams = _get(url, count=True)
        time.sleep(REFRESH_SETTLE)
        (refreshing if bintu.calls() > before else quiet).append(counted)
        if len(quiet) == COUNTED_REQUESTS:
            break
    return Counts(quiet, refreshing, streams)


def _get(url: str, *, count: bool) -> tuple[tuple[int, int], int]:
    """One request: (its queries, its cache trips) when counted, and the streams answered."""
    headers = {"X-Bench-Count": "1"} if count else {}
    # The URLs are the server's own, on 127.0.0.1.
    request = urllib.request.Request(url, headers=headers)  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        counted = (
            (int(response.headers[QUERIES_HEADER]), int(response.headers[CACHE_TRIPS_HEADER]))
            if count
            else (0, 0)
        )
        return counted, len(json.load(response).get("streams", ()))


def _versions(database: services.PostgreSQL, cache: services.Redis) -> str:
    with database.connect() as connection:
        postgresql = connection.execute("SHOW server_version").fetchone()[0]
    with cache.client() as client:
        redis = client.info("server")["redis_version"]
    return f"gunicorn {version('gunicorn')}, PostgreSQL {postgresql}, Redis {redis}"
