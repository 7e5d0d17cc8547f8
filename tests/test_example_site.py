"""The README's first command: the example site starts offline and shows the demo streams."""

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EU_STREAM = "6f1d2a6e-1c9a-4c55-9d3e-0a1b2c3d4e01"
UNKNOWN_STREAM = "6f1d2a6e-1c9a-4c55-9d3e-0a1b2c3d4e06"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (our own server)
        return response.read().decode()


@pytest.fixture
def example_site(tmp_path):
    """The example site as run.py starts it, on a free port and a fresh database."""
    port = _free_port()
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ("NANOVOD_API_KEY", "DJANGO_SETTINGS_MODULE")
    }
    env["EXAMPLE_SITE_DATABASE"] = str(tmp_path / "db.sqlite3")
    log = tmp_path / "server.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "example_site/run.py", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    try:
        while True:
            try:
                _get(base_url + "/admin/login/")
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the example site did not start:\n{log.read_text()}")
                time.sleep(0.3)
        yield base_url, log
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_example_site_runs_offline_against_the_fake_bintu(example_site):
    base_url, log = example_site
    html = _get(base_url + "/")
    rows = dict(re.findall(r'<tr data-stream="([^"]+)">(.*?)</tr>', html, re.S))
    assert len(rows) == 6
    # A recording on the fake's EU file server, resolved through the fake bintu.
    assert re.search(r'href="http://127\.0\.0\.1:\d+/\w+/[\w-]+-1\.mp4"', rows[EU_STREAM])
    assert "not_found" in rows[UNKNOWN_STREAM]
    printed = log.read_text()
    assert "Admin login: admin / nanovod-demo" in printed
    assert "using a fake bintu" in printed
    assert "made-up-demo-key" not in printed + html
