"""The site on real infrastructure: SQLite and PostgreSQL, a cache of its own and Redis.

Each test runs the test site in web server processes of its own (tests/realsite.py), as
a deployment does, on a fresh copy of a database migrated once per session and on an
empty cache; the fake bintu runs here and counts the calls. PostgreSQL and Redis are
started by the fixtures (tests/services.py) and stopped at the end. Where one is not
installed its tests are skipped, except under ``CI=true``, where they fail.
"""

import concurrent.futures
import contextlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from wagtail_nanovod.testing import Fault

from . import services
from .conftest import TEST_KEY

ROOT = Path(__file__).resolve().parent.parent

# The PostgreSQL database that each test's database is a copy of.
TEMPLATE_DATABASE = "nanovod_template"

# A recording listed an hour ago is settled: its snapshot stays fresh for
# FRESH_SECONDS, longer than any test here, rather than ACTIVE_FRESH_SECONDS.
AN_HOUR_AGO = datetime.now(UTC) - timedelta(hours=1)


# -- the services and the migrated databases, once per session -----------------------------


@pytest.fixture(scope="session")
def postgresql_server():
    with services.postgresql() as server:
        yield server


@pytest.fixture(scope="session")
def redis_server():
    with services.redis() as server:
        yield server


@pytest.fixture(scope="session")
def templates(request, tmp_path_factory) -> dict[str, str]:
    """A migrated database of each kind, by kind ("sqlite", "postgresql"), to copy from.

    Migrating takes some ten seconds per database, so both migrate side by side.
    Without PostgreSQL (and not under CI) there is only SQLite's: PostgreSQL's tests
    are skipped, SQLite's still run.
    """
    urls = {"sqlite": f"sqlite://{tmp_path_factory.mktemp('template') / 'db.sqlite3'}"}
    try:
        server = request.getfixturevalue("postgresql_server")
    except pytest.skip.Exception:
        pass
    else:
        urls["postgresql"] = server.create_database(TEMPLATE_DATABASE)
    with concurrent.futures.ThreadPoolExecutor() as pool:
        list(pool.map(_migrate, urls.values()))  # list(): a failure is raised here
    return urls


def _migrate(database_url: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tests.realsite", "migrate"],
        cwd=ROOT,
        env={**os.environ, "NANOVOD_TEST_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode:
        pytest.fail(f"migrate failed on {database_url}:\n{done.stdout}{done.stderr}")


def _new_postgresql_database(server: services.PostgreSQL) -> str:
    """The URL of a new PostgreSQL database, a copy of the migrated template."""
    return server.create_database(f"test_{uuid.uuid4().hex}", template=TEMPLATE_DATABASE)


# -- a test's site: a fresh database, an empty cache, the fake bintu ------------------------


@pytest.fixture
def database(request, templates, tmp_path) -> str:
    """The URL of a fresh, migrated database of the kind named by the test's parameter."""
    if request.param == "sqlite":
        path = tmp_path / "db.sqlite3"
        shutil.copy(urlsplit(templates["sqlite"]).path, path)
        return f"sqlite://{path}"
    return _new_postgresql_database(request.getfixturevalue("postgresql_server"))


@pytest.fixture
def cache(request) -> str:
    """The URL of an empty cache of the kind named by the test's parameter."""
    if request.param == "locmem":
        return "locmem://"
    server = request.getfixturevalue("redis_server")
    server.flush()
    return server.url()


@pytest.fixture
def site(database, cache, bintu, tmp_path):
    return Site(database, cache, {**bintu.settings(), "TIMEOUT": 5}, tmp_path)


@pytest.fixture
def shared_site(templates, postgresql_server, redis_server, bintu, tmp_path):
    """A site whose web servers share one PostgreSQL database and one Redis."""
    redis_server.flush()
    database = _new_postgresql_database(postgresql_server)
    return Site(database, redis_server.url(), {**bintu.settings(), "TIMEOUT": 5}, tmp_path)


class Site:
    """The test site on one database and one cache, run in processes of its own."""

    def __init__(self, database: str, cache: str, nanovod: dict, folder: Path) -> None:
        self.database = database
        self.cache = cache
        #: WAGTAIL_NANOVOD of every process of the site; a test may change it first.
        self.nanovod = nanovod
        self.folder = folder

    @contextlib.contextmanager
    def servers(self, count: int = 1, **seed):
        """*count* web server processes of the site, started together, stopped at the end.

        The first one gives the database its content first, with realsite.seed(**seed):
        ``pages`` (slug: stream ids), ``synced`` and ``stale`` (stream ids).
        """
        env = {
            **os.environ,
            "NANOVOD_TEST_DATABASE_URL": self.database,
            "NANOVOD_TEST_CACHE_URL": self.cache,
            "NANOVOD_FAKE_BINTU": json.dumps(self.nanovod),
        }
        processes, logs = [], []
        try:
            for n in range(count):
                args = ["serve", json.dumps(seed)] if n == 0 and seed else ["serve"]
                logs.append(self.folder / f"server-{uuid.uuid4().hex[:8]}.log")
                with logs[-1].open("w") as output:
                    process = subprocess.Popen(
                        [sys.executable, "-m", "tests.realsite", *args],
                        cwd=ROOT,
                        env=env,
                        stdout=output,
                        stderr=subprocess.STDOUT,
                    )
                processes.append(process)
            yield [_started(process, log) for process, log in zip(processes, logs, strict=True)]
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(timeout=30)

    def snapshots(self) -> dict[str, tuple[str, str]]:
        """Each snippet's (status, snapshot JSON) by stream id, as the database holds them."""
        query = "SELECT stream_id, status, snapshot_json FROM wagtail_nanovod_vodstream"
        if self.database.startswith("sqlite:"):
            with contextlib.closing(sqlite3.connect(urlsplit(self.database).path)) as db:
                rows = db.execute(query).fetchall()
        else:
            import psycopg

            with psycopg.connect(self.database) as db:
                rows = db.execute(query).fetchall()
        # SQLite keeps a UUID as 32 hex digits, PostgreSQL as a uuid.
        return {str(uuid.UUID(str(sid))): (status, data) for sid, status, data in rows}


class Server:
    """A running web server process: its address and its log."""

    def __init__(self, url: str, log: Path) -> None:
        self.url = url
        self.log = log

    def get(self, path: str) -> str:
        """The page at *path*, which must answer 200."""
        response = requests.get(self.url + path, timeout=30)
        assert response.status_code == 200, response.text
        assert TEST_KEY not in response.text
        return response.text


def _started(process: subprocess.Popen, log: Path) -> Server:
    """The server of *process*, once it printed its address in *log*."""
    deadline = time.monotonic() + 60
    while not (found := re.search(r"serving on (\S+)", log.read_text())):
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"the site did not start:\n{log.read_text()}")
        time.sleep(0.05)
    return Server(found[1], log)


def _add_stream(bintu, region: str = "eu") -> str:
    """A stream that ended an hour ago with one recording stored in *region*."""
    stream_id = bintu.add_stream(created_at=AN_HOUR_AGO)
    bintu.add_recording(stream_id, region=region, created_at=AN_HOUR_AGO)
    return stream_id


def _states(html: str) -> list[str]:
    return re.findall(r'data-nanovod-state="(\w+)"', html)


def _regions(html: str) -> list[str]:
    return re.findall(r'data-nanovod-region="(\w+)"', html)


def _visit_together(servers: list[Server], path: str, visits: int) -> list[str]:
    """*visits* requests for *path* at once, spread evenly over *servers*."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=visits) as pool:
        return list(pool.map(lambda n: servers[n % len(servers)].get(path), range(visits)))


def _wait_for(condition, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


# -- every database with every cache --------------------------------------------------------


@pytest.mark.parametrize("cache", ["locmem", "redis"], indirect=True)
@pytest.mark.parametrize("database", ["sqlite", "postgresql"], indirect=True)
def test_pages_render_from_their_snapshots_and_stale_ones_refresh_in_the_background(site, bintu):
    keynote, panel, archive = (
        _add_stream(bintu, "eu"),
        _add_stream(bintu, "us"),
        _add_stream(bintu),
    )
    pages = {"event": [keynote, panel], "archive": [archive]}
    synced = [keynote, panel, archive]
    with site.servers(pages=pages, synced=synced, stale=[archive]) as [server]:
        bintu.reset_requests()
        html = server.get("/event/")
        assert _states(html) == ["ready", "ready"]
        assert _regions(html) == ["eu", "us"]
        # The cache is empty and bintu was not asked: the page came from its own rows.
        assert bintu.calls() == 0

        # bintu has news of the archive's stream: a newer recording, in another region,
        # which it is slow to tell.
        new_url = bintu.add_recording(archive, region="au")
        bintu.inject(Fault.latency(1.0), stream_id=archive)
        started = time.monotonic()
        html = server.get("/archive/")
        # The stale snapshot, at once; a render that waited for bintu would show "au".
        assert time.monotonic() - started < 1.0
        assert _regions(html) == ["eu"]

        # Refreshed in the background, into the database.
        _wait_for(lambda: new_url in site.snapshots()[archive][1])
        assert site.snapshots()[archive][0] == "ready"
        assert _regions(server.get("/archive/")) == ["au"]
        assert bintu.calls() == 1


# -- two web servers sharing PostgreSQL and Redis -------------------------------------------


def _make_stale(site: Site, redis_server: services.Redis) -> None:
    """Every snapshot past its freshness and the cache empty, as time and a flush do."""
    import psycopg

    with psycopg.connect(site.database) as db:
        past = datetime.now(UTC) - timedelta(minutes=1)
        db.execute("UPDATE wagtail_nanovod_vodstream SET fresh_until = %s", [past])
    redis_server.flush()


def _stale_rows(site: Site) -> int:
    """How many snapshots are past their freshness."""
    import psycopg

    with psycopg.connect(site.database) as db:
        query = "SELECT count(*) FROM wagtail_nanovod_vodstream WHERE fresh_until < now()"
        return db.execute(query).fetchone()[0]


def test_two_servers_fetch_and_refresh_each_stream_once_between_them(
    shared_site, redis_server, bintu
):
    streams = [_add_stream(bintu, region) for region in ("eu", "us", "au")]
    # Registered, never fetched: the first visitors wait for bintu.
    with shared_site.servers(2, pages={"event": streams}) as [one, two]:
        # Slow enough that all forty visits arrive while the first fetches are in flight.
        bintu.inject(Fault.latency(0.5))
        pages = _visit_together([one, two], "/event/", 40)
        assert {tuple(_states(html)) for html in pages} == {("ready", "ready", "ready")}
        assert [bintu.calls(sid) for sid in streams] == [1, 1, 1]

        # Stale now: forty visits at once are served the snapshots, and the two servers
        # refresh each stream once in the background between them.
        _make_stale(shared_site, redis_server)
        pages = _visit_together([one, two], "/event/", 40)
        assert {tuple(_states(html)) for html in pages} == {("ready", "ready", "ready")}
        _wait_for(lambda: _stale_rows(shared_site) == 0)
        # A second refresh of a stream would have been started by one of the visits,
        # all answered by now: give its call a moment to arrive before counting.
        time.sleep(0.5)
        assert [bintu.calls(sid) for sid in streams] == [2, 2, 2]


def test_once_the_circuit_opens_in_one_server_the_other_does_not_call_bintu(shared_site, bintu):
    first = [_add_stream(bintu) for _ in range(3)]
    second = [_add_stream(bintu) for _ in range(2)]
    # No retries, so that one failed fetch is one call; three failures open the circuit.
    shared_site.nanovod.update(RETRIES=0, CIRCUIT_FAILURES=3)
    with shared_site.servers(2, pages={"first": first, "second": second}) as [one, two]:
        bintu.inject(Fault.status(503))
        # Three never-fetched streams fail together in server one: the circuit opens.
        assert _states(one.get("/first/")) == ["unavailable"] * 3
        assert bintu.calls() == 3
        assert "bintu failed 3 times in a row" in one.log.read_text()

        pages = _visit_together([two], "/second/", 10)
        assert {tuple(_states(html)) for html in pages} == {("unavailable", "unavailable")}
        # Server two read the open circuit from Redis: no call, now or in the background.
        time.sleep(0.5)
        assert bintu.calls() == 3
        assert "bintu circuit open" in two.log.read_text()


def test_one_request_per_stream_is_in_flight_whoever_asks_across_processes(shared_site, bintu):
    """Three ``nanovod_sync --stream`` processes and two web servers refreshing one
    stream at the same moment: bintu never answers two Stream Info requests of it at once.
    """
    sid = _add_stream(bintu, "us")
    shared_site.nanovod.update(FRESH_SECONDS=1, ACTIVE_FRESH_SECONDS=1)
    with shared_site.servers(2, pages={"event": [sid]}, synced=[sid]) as [one, two]:
        bintu.reset_requests()
        # Each request slow enough that all of them overlap.
        bintu.inject(Fault.latency(1.5))
        env = {
            **os.environ,
            "NANOVOD_TEST_DATABASE_URL": shared_site.database,
            "NANOVOD_TEST_CACHE_URL": shared_site.cache,
            "NANOVOD_FAKE_BINTU": json.dumps(shared_site.nanovod),
        }
        syncs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.realsite",
                    "manage",
                    "nanovod_sync",
                    "--stream",
                    sid,
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for _ in range(3)
        ]
        deadline = time.monotonic() + 12
        while time.monotonic() < deadline and any(p.poll() is None for p in syncs):
            # Page views meanwhile: a stale snapshot queues a background refresh too.
            _visit_together([one, two], "/event/", 4)
            time.sleep(0.2)
        outputs = [process.communicate(timeout=30)[0] for process in syncs]
        assert [process.returncode for process in syncs] == [0, 0, 0], outputs
        assert all("No failures." in output for output in outputs), outputs
        assert bintu.calls(sid) >= 1
        assert bintu.most_concurrent_calls(sid) == 1
        assert _states(one.get("/event/")) == ["ready"]


SOAK_SECONDS = 20
FAULT_CYCLE = [
    None,
    Fault.status(503),
    Fault.garbled("playout.web", "none"),
    Fault.malformed_json(),
    Fault.wrong_type_json(),
    Fault.latency(0.3),
    Fault.garbled("state", ["ended"]),
    Fault.drop_connection(),
    Fault.oversized(3_000_000),
    Fault.status(429, headers={"Retry-After": "1"}),
    Fault.garbled("playout.web.1.url", 7),
]


def test_soak_page_views_while_bintu_misbehaves_and_the_cache_is_flushed(
    shared_site, redis_server, bintu
):
    """Two servers, visitors in threads, every snapshot stale at once (every view queues
    a refresh) while bintu cycles through its faults and Redis is flushed now and then:
    every view a 200, every block a player of its recording, the key nowhere."""
    regions = ["eu", "us", "au", "eu", "us", "au"]
    streams = [_add_stream(bintu, region) for region in regions]
    shared_site.nanovod.update(
        TIMEOUT=1.0,
        FRESH_SECONDS=0,
        ACTIVE_FRESH_SECONDS=0,
        ERROR_SECONDS=0,
        MAX_ERROR_SECONDS=0,
        CIRCUIT_FAILURES=10_000,
        MAX_RESPONSE_BYTES=1_000_000,
    )
    with shared_site.servers(2, pages={"event": streams}, synced=streams) as [one, two]:
        bintu.reset_requests()
        views, problems = [], []
        stop = time.monotonic() + SOAK_SECONDS

        def visitor(server):
            while time.monotonic() < stop:
                response = requests.get(server.url + "/event/", timeout=30)
                views.append(response.status_code)
                if response.status_code != 200:
                    problems.append(f"HTTP {response.status_code}")
                elif TEST_KEY in response.text:
                    problems.append("the key in a page")
                elif _regions(response.text) != regions:
                    problems.append("a recording lost: " + " ".join(_states(response.text)))

        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            visits = [pool.submit(visitor, server) for server in (one, two, one, two)]
            step = 0
            while time.monotonic() < stop:
                bintu.clear_faults()
                if FAULT_CYCLE[step % len(FAULT_CYCLE)] is not None:
                    bintu.inject(FAULT_CYCLE[step % len(FAULT_CYCLE)])
                if step % 4 == 3:
                    redis_server.flush()
                step += 1
                time.sleep(0.3)
            bintu.clear_faults()
            for visit in visits:
                visit.result()
        assert problems == []
        assert len(views) > 100
        assert bintu.calls() > 2 * len(streams)  # the refreshes did meet the faults
        for server in (one, two):
            assert TEST_KEY not in server.log.read_text()
        snapshots = shared_site.snapshots()
        assert {snapshots[sid][0] for sid in streams} == {"ready"}
