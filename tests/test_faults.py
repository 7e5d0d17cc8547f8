"""Every fault of the fake bintu, driven through real page renders, warm and cold.

One table, :data:`FAULTS`, lists the ways bintu fails, beside a healthy baseline and two
faults a fetch survives within ``TIMEOUT`` (latency, a short ``Retry-After``). Each case
runs against:

- a **warm** page: the snippet holds a good snapshot that has gone stale. The page must
  show it at once, waiting on nothing; the background refresh then meets the fault, and
  the snapshot must survive it with the failure recorded beside it;
- a **cold** page: the snippet was never synced. The first view may wait on one bounded
  fetch (``TIMEOUT`` at most, retries included), then shows what it got.

Every step is measured: the requests bintu received while the step ran are the ones it
waited on; on a closed port, where nothing is received, the client's logged retries tell
the attempts. And every test, through the ``site`` fixture, searches all of its pages, log
records, cache values, queued task arguments and snapshot rows for the API key.
"""

from __future__ import annotations

import logging
import pickle
import re
import socket
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
import requests
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.test import Client
from django.urls import reverse
from django_tasks import task_backends

from wagtail_nanovod import locks, resolver
from wagtail_nanovod.client import BintuClient
from wagtail_nanovod.exceptions import BintuError
from wagtail_nanovod.models import VodStream
from wagtail_nanovod.parsing import parse_stream
from wagtail_nanovod.resolver import refresh_snippet
from wagtail_nanovod.testing import FakeBintu, Fault

from .conftest import TEST_KEY, run_queued_refreshes

pytestmark = pytest.mark.django_db

# Added to every upper time bound, for a loaded CI machine. The bounds tell "bounded by
# TIMEOUT" from "unbounded"; the call counts tell one attempt from two. Not benchmarks.
SLACK = 1.5
# The storage region of every recording here: not the default region, so a page that
# shows it shows the snapshot's own data.
REGION = "us"


# -- the table ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One way bintu fails, and what a site must make of it."""

    name: str
    #: Builds the fault from the test's fixture request (the redirect needs a second fake).
    fault: Callable[[pytest.FixtureRequest], Fault] | None
    #: The ``last_error`` the fault leaves; "" when the fetch survives it and the stream plays.
    reason: str
    #: Requests one fetch sends under the fault: 1 + the retries (RETRIES=2) it earns.
    attempts: int
    #: How many requests the fault lasts; None: all of them.
    times: int | None = None
    settings: dict = field(default_factory=dict)
    #: The fetch ends only when TIMEOUT runs out (no answer comes in time).
    waits_out_timeout: bool = False
    #: The fetch takes at least this long (a ``Retry-After`` honoured).
    min_seconds: float = 0.0
    #: API_URL points at a closed port instead of the fake: the fake receives nothing.
    refused: bool = False

    @property
    def state(self) -> str:
        """What a page shows of a stream fetched only under this fault."""
        return "unavailable" if self.reason else "ready"

    @property
    def waits(self) -> tuple[int, int]:
        """(requests the fake receives, retries the client logs) of one fetch."""
        return (0 if self.refused else self.attempts), self.attempts - 1

    def __str__(self) -> str:
        return self.name


def _redirect_elsewhere(request: pytest.FixtureRequest) -> Fault:
    # Another host name and another server: a client that followed would show up there.
    elsewhere = request.getfixturevalue("elsewhere")
    return Fault.redirect(elsewhere.api_url.replace("127.0.0.1", "localhost") + "/stream/x")


FAULTS = [
    Case("healthy", None, "", 1),
    Case("latency-under-timeout", lambda r: Fault.latency(0.3), "", 1, min_seconds=0.3),
    Case(
        "latency-over-timeout",
        lambda r: Fault.latency(5),
        "unreachable",
        1,
        settings={"TIMEOUT": 0.5},
        waits_out_timeout=True,
    ),
    Case(
        "hang",
        lambda r: Fault.hang(),
        "unreachable",
        1,
        settings={"TIMEOUT": 0.5},
        waits_out_timeout=True,
    ),
    Case("500", lambda r: Fault.status(500), "server_error", 1),
    Case("502", lambda r: Fault.status(502), "server_error", 3),
    Case("503", lambda r: Fault.status(503), "server_error", 3),
    Case("504", lambda r: Fault.status(504), "server_error", 3),
    # Retry-After: 1 fits in TIMEOUT 1.5: the client waits it out and the second call answers.
    Case(
        "429-retry-after-fits",
        lambda r: Fault.rate_limited(1),
        "",
        2,
        times=1,
        settings={"TIMEOUT": 1.5},
        min_seconds=1.0,
    ),
    # Retry-After: 60 does not: no sleep that would outlast the budget, one call only.
    Case("429-retry-after-too-long", lambda r: Fault.rate_limited(60), "rate_limited", 1),
    Case("malformed-json", lambda r: Fault.malformed_json(), "bad_response", 1),
    Case("wrong-type-json", lambda r: Fault.wrong_type_json(), "bad_response", 1),
    # Valid JSON whose documented fields bintu garbled: unreadable, never "no recordings".
    Case("garbled-state", lambda r: Fault.garbled("state", 5), "bad_response", 1),
    Case("garbled-playout", lambda r: Fault.garbled("playout", "web"), "bad_response", 1),
    Case("garbled-web", lambda r: Fault.garbled("playout.web", {}), "bad_response", 1),
    Case("garbled-web-item", lambda r: Fault.garbled("playout.web.1", "vod"), "bad_response", 1),
    Case("garbled-url", lambda r: Fault.garbled("playout.web.1.url", 7), "bad_response", 1),
    Case("redirect-to-another-host", _redirect_elsewhere, "bad_response", 1),
    Case(
        "oversized",
        lambda r: Fault.oversized(1_000_000),
        "bad_response",
        1,
        settings={"MAX_RESPONSE_BYTES": 64 * 1024},
    ),
    Case("dropped-connection", lambda r: Fault.drop_connection(), "unreachable", 3),
    Case("connection-refused", None, "unreachable", 3, refused=True),
]
FAILING = [case for case in FAULTS if case.reason]

by_fault = pytest.mark.parametrize("case", FAULTS, ids=str)


# -- fixtures and helpers -------------------------------------------------------------------


@dataclass
class Step:
    """What one page view or background refresh cost, and what it produced."""

    #: Requests the fake's API received during the step: the ones the step waited on.
    calls: int
    #: Retries the client logged during the step (the only trace of a closed port).
    retries: int
    #: Requests the fake's file servers received (recordings, thumbnails).
    files: int
    seconds: float
    keys_sent: list[str]
    html: str = ""
    state: str = ""
    region: str = ""
    sources: list[str] = field(default_factory=list)
    refreshed: list[str] = field(default_factory=list)

    @property
    def waits(self) -> tuple[int, int]:
        return self.calls, self.retries


class Site:
    """Page views as a visitor makes them and refreshes as a worker runs them, measured;
    everything they produced is kept, to be searched for the key afterwards.
    """

    def __init__(self, client, bintu: FakeBintu, caplog) -> None:
        self.client, self.bintu, self.caplog = client, bintu, caplog
        self.pages: list[str] = []
        self.task_args: list[str] = []
        self.editor: Client | None = None

    def view(self, page) -> Step:
        """Render ``page`` as a visitor: it must answer 200 with exactly one player."""
        response, step = self._measure(lambda: self.client.get(page.url))
        step.html = response.content.decode()
        self.pages.append(step.html)
        assert response.status_code == 200
        ((attrs, inner),) = re.findall(r"<figure ([^>]*)>(.*?)</figure>", step.html, re.S)
        attrs = dict(re.findall(r'data-nanovod-([a-z]+)="([^"]*)"', attrs))
        step.state, step.region = attrs["state"], attrs.get("region", "")
        step.sources = re.findall(r'<source src="([^"]+)"', inner)
        return step

    def admin(self, path: str) -> None:
        """An admin page as a superuser sees it; kept to be searched for the key."""
        if self.editor is None:
            self.editor = Client()
            # No password: hashing one would cost more than the page.
            self.editor.force_login(get_user_model().objects.create_superuser("editor"))
        response = self.editor.get(path)
        assert response.status_code == 200
        self.pages.append(response.content.decode())

    def run_refreshes(self) -> Step:
        """Run the refreshes the views queued, as a worker would."""
        queued = task_backends["refresh"].results
        self.task_args += [repr((result.args, result.kwargs)) for result in queued]
        refreshed, step = self._measure(run_queued_refreshes)
        step.refreshed = refreshed
        return step

    def _measure(self, action):
        self.bintu.reset_requests()
        logged = len(self.caplog.records)
        started = time.monotonic()
        outcome = action()
        seconds = time.monotonic() - started
        received = self.bintu.requests
        api = [r for r in received if r.server == "api"]
        retries = sum(
            1 for r in self.caplog.records[logged:] if re.search(r"retry \d+ of", r.getMessage())
        )
        keys = [r.headers.get("X-BINTU-APIKEY", "") for r in api]
        return outcome, Step(len(api), retries, len(received) - len(api), seconds, keys)

    def places(self) -> dict[str, list[str]]:
        """Everything the tests produced that a person or a machine could read."""
        logs = [self.caplog.text]
        for record in self.caplog.records:
            logs.append(record.getMessage())
            if record.exc_info and record.exc_info[1] is not None:
                logs.append("".join(traceback.format_exception(record.exc_info[1])))
        queued = task_backends["refresh"].results
        tasks = self.task_args + [repr((result.args, result.kwargs)) for result in queued]
        rows = [repr(row) for row in VodStream.objects.values()]
        return {
            "page": self.pages,
            "log": logs,
            "cache": _cache_contents(),
            "task argument": tasks,
            "snapshot row": rows,
        }


def _cache_contents() -> list[str]:
    """Every key and value of the default LocMem cache, raw and unpickled."""
    cache = caches["default"]
    found = []
    for key, raw in list(cache._cache.items()):
        found += [key, repr(raw)]
        # Our own test cache's values: nothing untrusted is unpickled here.
        found.append(repr(pickle.loads(raw)))  # noqa: S301
    return found


@pytest.fixture
def site(client, bintu, caplog, db):
    """The test's visitor and worker; afterwards, the key must be in nothing they produced.

    Checked at teardown, so an expected failure of the test body cannot hide a leak.
    """
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="wagtail_nanovod")
    observed = Site(client, bintu, caplog)
    yield observed
    leaks = [
        where
        for where, texts in observed.places().items()
        if any(TEST_KEY in text for text in texts)
    ]
    assert leaks == [], f"the API key is in a {' and a '.join(leaks)}"


@pytest.fixture
def elsewhere():
    """A second fake bintu, on another port: the target of redirects, never to be reached."""
    with FakeBintu(api_key=TEST_KEY) as other:
        yield other
        # Not followed: the key never travelled there, nor did anything else.
        assert other.requests == []


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def arm(case: Case, bintu: FakeBintu, settings, request) -> float:
    """Apply the case's settings and inject its fault; returns the TIMEOUT in force."""
    overrides = dict(case.settings)
    if case.refused:
        overrides["API_URL"] = f"http://127.0.0.1:{_closed_port()}"
    settings.WAGTAIL_NANOVOD = {**settings.WAGTAIL_NANOVOD, **overrides}
    if case.fault is not None:
        bintu.inject(case.fault(request), times=case.times)
    return float(settings.WAGTAIL_NANOVOD["TIMEOUT"])


def assert_took(case: Case, seconds: float, timeout: float) -> None:
    """A fetch under the fault waited one TIMEOUT at most, and as long as the fault made it."""
    assert seconds <= timeout + SLACK
    if case.waits_out_timeout:
        assert seconds >= timeout * 0.9
    assert seconds >= case.min_seconds * 0.9


def assert_one_warning(caplog, case: Case, stream_id: str) -> None:
    """One WARNING for the failed fetch, naming the stream and the reason."""
    warnings = [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and r.name.startswith("wagtail_nanovod")
    ]
    if case.reason:
        assert len(warnings) == 1, warnings
        assert stream_id in warnings[0] and case.reason in warnings[0]
    else:
        assert warnings == []


def never_synced(bintu: FakeBintu, title="Never synced") -> VodStream:
    """A snippet of a healthy ended stream with one recording, saved but never fetched
    (as the import saves streams once bintu failed for an earlier one).
    """
    stream_id = bintu.add_stream(state="ended")
    bintu.add_recording(stream_id, region=REGION)
    return VodStream.objects.create(stream_id=stream_id, title=title)


def nothing_queued() -> bool:
    return task_backends["refresh"].results == []


# -- warm: a stale snapshot ------------------------------------------------------------------


@by_fault
def test_a_stale_snapshot_is_shown_at_once_and_survives_the_refresh(
    case, site, bintu, settings, request, make_snippet, make_event_page
):
    snippet = make_snippet(regions=(REGION,))
    stream_id = snippet.stream_id_str
    good = VodStream.objects.get()
    page = make_event_page([snippet])
    # Stale: time has passed and the cache is gone; only the row remembers.
    VodStream.objects.update(fresh_until=None)
    caches["default"].clear()
    timeout = arm(case, bintu, settings, request)

    shown = site.view(page)
    assert (shown.state, shown.region) == ("ready", REGION)
    assert shown.sources[0].startswith(bintu.region_urls[REGION] + "/")
    # The visitor waited on nothing: no request reached bintu or a file host. The
    # refresh is queued with the stream id alone: nothing secret sits in a queue.
    assert (shown.calls, shown.retries, shown.files) == (0, 0, 0)
    queued = task_backends["refresh"].results
    # (and the token of the marker that keeps others from queueing it again).
    assert [task.args[0] for task in queued] == [stream_id]
    assert [(len(task.args), task.kwargs) for task in queued] == [(2, {})]

    refresh = site.run_refreshes()
    assert refresh.refreshed == [stream_id]
    assert refresh.waits == case.waits
    assert set(refresh.keys_sent) <= {TEST_KEY}  # the key was in play, so its absence counts
    assert_took(case, refresh.seconds, timeout)
    assert_one_warning(site.caplog, case, stream_id)

    stored = VodStream.objects.get()
    assert (stored.status, stored.recording_count) == ("ready", good.recording_count)
    assert stored.last_error == case.reason
    assert stored.fresh_until > datetime.now(UTC)  # backed off, or fresh again
    if case.reason:
        # The good snapshot survived the fault untouched.
        assert (stored.snapshot.stream, stored.synced_at) == (good.snapshot.stream, good.synced_at)
        assert stored.failures >= 1
    else:
        assert stored.synced_at > good.synced_at and stored.failures == 0

    again = site.view(page)
    assert (again.state, again.region, again.sources) == ("ready", REGION, shown.sources)
    assert again.waits == (0, 0)
    assert nothing_queued()
    # The editor's view of it, searched for the key with the rest.
    site.admin(reverse(VodStream.snippet_viewset.get_url_name("list")))
    site.admin(reverse(VodStream.snippet_viewset.get_url_name("edit"), args=[snippet.pk]))


# -- cold: a stream never synced --------------------------------------------------------------


@by_fault
def test_a_first_view_of_a_never_synced_stream_waits_for_one_fetch_at_most(
    case, site, bintu, settings, request, make_event_page
):
    snippet = never_synced(bintu)
    stream_id = snippet.stream_id_str
    page = make_event_page([snippet])
    timeout = arm(case, bintu, settings, request)

    shown = site.view(page)
    assert shown.waits == case.waits
    assert_took(case, shown.seconds, timeout)
    assert shown.state == case.state
    if not case.reason:
        assert shown.region == REGION
        assert shown.sources[0].startswith(bintu.region_urls[REGION] + "/")
    assert shown.files == 0
    assert_one_warning(site.caplog, case, stream_id)
    # The outcome is remembered, a failure with its back-off: no worker is sent after it.
    assert nothing_queued()
    stored = VodStream.objects.get()
    assert (stored.status, stored.last_error) == (case.state, case.reason)

    again = site.view(page)
    assert (again.state, again.sources) == (case.state, shown.sources)
    assert again.waits == (0, 0)
    assert nothing_queued()


# -- the client's errors ----------------------------------------------------------------------


@pytest.mark.parametrize("case", FAILING, ids=str)
def test_no_error_of_a_failed_call_carries_the_key(case, bintu, settings, request):
    arm(case, bintu, settings, request)
    stream_id = bintu.add_stream()
    bintu.add_recording(stream_id)
    with pytest.raises(BintuError) as raised:
        # A garbled answer passes the transport and fails where it is read.
        parse_stream(BintuClient().stream_info(stream_id), expected_id=stream_id)
    assert raised.value.reason == case.reason
    chain, error = [], raised.value
    while error is not None:
        chain.append(error)
        error = error.__cause__ or error.__context__
    for error in chain:
        for text in (str(error), repr(error), repr(error.args)):
            assert TEST_KEY not in text
    assert TEST_KEY not in "".join(traceback.format_exception(raised.value))


# -- the circuit ------------------------------------------------------------------------------


def test_after_repeated_failures_no_view_waits_on_bintu(
    site, bintu, settings, make_snippet, make_event_page
):
    settings.WAGTAIL_NANOVOD = {
        **settings.WAGTAIL_NANOVOD,
        "TIMEOUT": 1.0,
        "CIRCUIT_FAILURES": 3,
        "CIRCUIT_COOLDOWN_SECONDS": 60,
    }
    warm = make_snippet(regions=(REGION,), title="Warm")
    warm_page = make_event_page([warm], slug="warm")
    bintu.inject(Fault.status(503))
    for n in range(3):
        cold_page = make_event_page([never_synced(bintu, f"Cold {n}")], slug=f"cold-{n}")
        assert site.view(cold_page).state == "unavailable"
        site.run_refreshes()  # whatever a view queued meets the fault too
    assert locks.circuit_is_open()
    assert any("in a row" in r.getMessage() for r in site.caplog.records)

    # A hang now: any wait on bintu would cost a whole TIMEOUT.
    bintu.inject(Fault.hang())
    cold = site.view(make_event_page([never_synced(bintu, "Cold 3")], slug="cold-3"))
    assert cold.state == "unavailable"
    assert (cold.calls, cold.files) == (0, 0)
    assert cold.seconds < 1.0
    assert nothing_queued()
    assert any("circuit open" in r.getMessage() for r in site.caplog.records)

    VodStream.objects.filter(pk=warm.pk).update(fresh_until=None)
    caches["default"].delete(resolver.cache_key(warm.stream_id_str))
    stale = site.view(warm_page)
    assert (stale.state, stale.region) == ("ready", REGION)
    assert (stale.calls, stale.files) == (0, 0)
    assert nothing_queued()


# -- a recording listed before its file is out ---------------------------------------------------


def test_a_listed_recording_still_answering_404_is_shown_as_ready(site, bintu, make_event_page):
    """bintu lists a recording while its file still answers 404 (being processed).

    The site does not probe files: the player shows it as ready with its URL, and the
    browser meets the 404 until the file is out.
    """
    stream_id = bintu.add_stream(state="ended")
    url = bintu.add_recording(stream_id, region=REGION, available_after=1.0)
    snippet = VodStream.objects.create(stream_id=stream_id, title="Just ended")
    refresh_snippet(snippet)
    page = make_event_page([snippet])

    shown = site.view(page)
    assert (shown.state, shown.region, shown.sources[0]) == ("ready", REGION, url)
    assert (shown.calls, shown.files) == (0, 0)
    assert requests.get(url, timeout=2).status_code == 404
    deadline = time.monotonic() + 3
    while requests.get(url, timeout=2).status_code == 404:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert requests.get(url, timeout=2).status_code == 200
    again = site.view(page)
    assert (again.state, again.sources) == ("ready", shown.sources)
    assert again.waits == (0, 0)
