"""Throwaway PostgreSQL and Redis servers for the integration tests.

Each one runs from Debian's packages (``postgresql``, ``redis-server``) in a temporary
directory, on a free port of 127.0.0.1, and is stopped and removed afterwards: nothing
depends on a service already running on the machine, and nothing is left behind.

A missing program skips the tests that need it on a developer's machine, with the
``apt-get`` line that installs it; under ``CI=true`` it fails them instead, so CI can
never pass by skipping.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest
import requests

# The Debian package of each program the tests start.
DEBIAN_PACKAGES = {
    "initdb": "postgresql",
    "postgres": "postgresql",
    "redis-server": "redis-server",
    "java": "default-jre-headless",
    "xgettext": "gettext",
    "msgfmt": "gettext",
}

# Debian keeps PostgreSQL's server programs off PATH, one directory per major version.
POSTGRESQL_BINDIRS = "/usr/lib/postgresql/*/bin"

# PostgreSQL refuses to run as root; under root (containers, CI) its programs run as
# the system user the Debian package creates.
POSTGRES_USER = "postgres"

# The superuser initdb creates; with trust authentication it needs no password.
DATABASE_USER = "nanovod"

# A loaded CI machine can take its time to start a server, never this long.
START_SECONDS = 30


def missing(what: str, install: str) -> NoReturn:
    """Skip the calling test, or fail it under ``CI=true`` where a skip would hide a gap."""
    message = f"{what} not installed: {install}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (CI=true: a missing part is a failure, not a skip)")
    pytest.skip(message)


def require(binary: str) -> Path:
    """The path of *binary*, looked up on PATH and in Debian's PostgreSQL directories.

    Skips the test when it is missing (fails it under ``CI=true``).
    """
    found = shutil.which(binary)
    if found:
        return Path(found)
    # The newest PostgreSQL installed, should there be several.
    candidates = sorted(
        Path("/").glob(POSTGRESQL_BINDIRS.lstrip("/") + "/" + binary),
        key=lambda path: int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0,
    )
    if candidates:
        return candidates[-1]
    missing(binary, f"apt-get install {DEBIAN_PACKAGES.get(binary, binary)}")


def require_module(module: str, distribution: str) -> None:
    """Skip the test when a Python driver is missing (fail it under ``CI=true``)."""
    if importlib.util.find_spec(module) is None:
        missing(f"the Python package {distribution}", "pip install -e '.[test]'")


def free_port() -> int:
    """A TCP port of 127.0.0.1 free a moment ago.

    The servers below take the port number on their command line, so it is chosen
    here; another program grabbing it in between would make the start fail loudly.
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_ready(process: subprocess.Popen, log: Path, ready, what: str) -> None:
    """Call ``ready()`` until it returns without an exception; fail with the log if not."""
    deadline = time.monotonic() + START_SECONDS
    while True:
        try:
            ready()
            return
        except Exception as exc:
            if process.poll() is not None or time.monotonic() > deadline:
                output = log.read_text() if log.exists() else ""
                raise RuntimeError(f"{what} did not start ({exc}):\n{output}") from exc
            time.sleep(0.1)


def _stop(process: subprocess.Popen, sig: int) -> None:
    """Ask *process* to stop with *sig*, and kill it if it has not after a while."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass(frozen=True)
class PostgreSQL:
    """A running throwaway PostgreSQL server."""

    host: str
    port: int
    user: str

    def connect(self, dbname: str = "postgres"):
        """A psycopg connection in autocommit mode (CREATE DATABASE needs it)."""
        import psycopg

        return psycopg.connect(
            host=self.host, port=self.port, user=self.user, dbname=dbname, autocommit=True
        )

    def ping(self) -> None:
        """Raise unless the server accepts a session."""
        self.connect().close()

    def create_database(self, name: str, template: str | None = None) -> str:
        """Create database *name*, a copy of *template* if given; returns its URL."""
        with self.connect() as connection:
            template_clause = f' TEMPLATE "{template}"' if template else ""
            connection.execute(f'CREATE DATABASE "{name}"{template_clause}')
        return self.url(name)

    def url(self, dbname: str) -> str:
        """The database URL of *dbname*, as tests/realsite_settings.py reads it."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{dbname}"


@contextlib.contextmanager
def postgresql() -> Iterator[PostgreSQL]:
    """A PostgreSQL server in a temporary directory, on a free port of 127.0.0.1.

    Skips (or fails under ``CI=true``) when PostgreSQL or psycopg is not installed.
    """
    initdb = require("initdb")
    # The server of the same installation: initdb and postgres of two versions won't mix.
    postgres = initdb.resolve().parent / "postgres"
    if not postgres.exists():
        postgres = require("postgres")
    require_module("psycopg", "psycopg[binary]")
    # Made with tempfile rather than pytest's tmp_path: pytest's folders are private
    # to the current user, and the postgres user must reach this one.
    folder = Path(tempfile.mkdtemp(prefix="nanovod-postgresql-"))
    run_as: dict = {}
    if os.geteuid() == 0:
        shutil.chown(folder, POSTGRES_USER, POSTGRES_USER)
        # Popen switches user itself (rather than through runuser or su), so the process
        # we signal at the end is postgres itself, not a wrapper around it.
        run_as = {"user": POSTGRES_USER, "group": POSTGRES_USER, "extra_groups": []}
    data, log = folder / "data", folder / "postgresql.log"
    process = None
    try:
        subprocess.run(
            [
                str(initdb),
                f"--pgdata={data}",
                f"--username={DATABASE_USER}",
                "--auth=trust",  # only 127.0.0.1 and a socket in our own folder
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",  # a throwaway cluster need not survive a power cut
                "--no-instructions",
            ],
            cwd=folder,
            check=True,
            capture_output=True,
            **run_as,
        )
        port = free_port()
        with log.open("w") as output:
            process = subprocess.Popen(
                [
                    str(postgres),
                    "-D",
                    str(data),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(port),
                    # The socket in our folder: /var/run/postgresql may not exist or be ours.
                    "-k",
                    str(folder),
                    # Durability is worth nothing here, speed is.
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                    # Two threaded web servers and their background refreshes at once.
                    "-c",
                    "max_connections=200",
                ],
                cwd=folder,
                stdout=output,
                stderr=subprocess.STDOUT,
                **run_as,
            )
        server = PostgreSQL(host="127.0.0.1", port=port, user=DATABASE_USER)
        # Accepting TCP connections is not enough: PostgreSQL answers "starting up" first.
        _wait_until_ready(process, log, server.ping, "PostgreSQL")
        yield server
    finally:
        if process is not None:
            # SIGINT is PostgreSQL's fast shutdown: it does not wait for clients to leave.
            _stop(process, signal.SIGINT)
        shutil.rmtree(folder, ignore_errors=True)


@dataclass(frozen=True)
class Redis:
    """A running throwaway Redis server."""

    host: str
    port: int

    def url(self, db: int = 0) -> str:
        """The URL of database *db*, as Django's RedisCache takes it."""
        return f"redis://{self.host}:{self.port}/{db}"

    def client(self):
        """A redis-py client of database 0."""
        import redis

        return redis.Redis(host=self.host, port=self.port, socket_timeout=5)

    def ping(self) -> None:
        """Raise unless the server answers."""
        with self.client() as client:
            client.ping()

    def flush(self) -> None:
        """Empty every database of the server."""
        with self.client() as client:
            client.flushall()


@contextlib.contextmanager
def redis() -> Iterator[Redis]:
    """A Redis server in a temporary directory, on a free port of 127.0.0.1, kept in memory.

    Skips (or fails under ``CI=true``) when redis-server or redis-py is not installed.
    """
    binary = require("redis-server")
    require_module("redis", "redis")
    folder = Path(tempfile.mkdtemp(prefix="nanovod-redis-"))
    log = folder / "redis.log"
    process = None
    try:
        port = free_port()
        with log.open("w") as output:
            process = subprocess.Popen(
                [
                    str(binary),
                    "--port",
                    str(port),
                    "--bind",
                    "127.0.0.1",
                    # Nothing written to disk: no snapshots, no append-only file.
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(folder),
                ],
                cwd=folder,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        server = Redis(host="127.0.0.1", port=port)
        _wait_until_ready(process, log, server.ping, "Redis")
        yield server
    finally:
        if process is not None:
            _stop(process, signal.SIGTERM)
        shutil.rmtree(folder, ignore_errors=True)


# -- the example site, as `python3 dev.py example` runs it ----------------------------

EXAMPLE_ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def running_example_site(folder: Path):
    """run.py on a free port, with its database and uploads in *folder*: (URL, log file)."""
    port = free_port()
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ("NANOVOD_API_KEY", "NANOVOD_FAKE_BINTU", "DJANGO_SETTINGS_MODULE")
    }
    env["EXAMPLE_SITE_DATABASE"] = str(folder / "db.sqlite3")
    env["EXAMPLE_SITE_MEDIA"] = str(folder / "media")
    command = [sys.executable, "example_site/run.py", f"127.0.0.1:{port}"]
    log = folder / "server.log"
    base_url = f"http://127.0.0.1:{port}"
    with serving(command, env, log, base_url + "/admin/login/", "the example site", 120):
        yield base_url, log


@contextlib.contextmanager
def serving(command: list[str], env: dict, log: Path, ready_url: str, what: str, seconds: float):
    """A web server started from the checkout, once *ready_url* answers; stopped after.

    Fails the test with the server's log (written to *log*) when it exits or does not
    answer within *seconds*.
    """
    with log.open("w") as output:
        process = subprocess.Popen(
            command, cwd=EXAMPLE_ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + seconds
    try:
        while True:
            try:
                requests.get(ready_url, timeout=10)
                break
            except requests.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"{what} did not start:\n{log.read_text()}")
                time.sleep(0.2)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def region_hosts(log: Path) -> dict[str, str]:
    """The fake's file server of each region, as run.py prints them."""
    line = re.search(r"one fake host per region: (.*)\.$", log.read_text(), re.M)
    assert line, log.read_text()
    return dict(re.findall(r"(\w+) (http://127\.0\.0\.1:\d+)", line[1]))
