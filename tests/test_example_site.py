"""The README's first command: the example site starts offline and plays the demo clips.

``example_site/run.py`` runs in a subprocess, as ``python3 dev.py example`` runs it, on a
free port with a temporary database; the tests look at it as a visitor and an editor would.
"""

import html as html_lib
import json
import re
import sqlite3
import time
from pathlib import Path

import pytest
import requests

from .services import region_hosts, running_example_site

ROOT = Path(__file__).resolve().parent.parent
CLIPS = ROOT / "example_site" / "demo" / "clips"
FAKE_KEY = "made-up-demo-key"  # run.py's key for the fake bintu: must never be shown
LIVE_EVENT = "6f1d2a6e-1c9a-4c55-9d3e-0a1b2c3d4e08"  # demo/streams.py's LIFECYCLE
BROADCAST = ["upcoming", "live", "processing", "ready"]
# NANOVOD_DEMO_LIFECYCLE for the test: upcoming, live, processing, in seconds; each phase
# outlasts a few polls, so the page can be seen in every state.
LIVE_EVENT_TIMELINE = "4,5,5"
# What demo/settings.py makes of it: a quarter of the shortest phase, 5 s at most.
LIVE_EVENT_POLL = 1


@pytest.fixture(scope="module")
def example_site(tmp_path_factory):
    """One running example site for the tests of this module."""
    with running_example_site(tmp_path_factory.mktemp("example_site")) as site:
        yield site


def _players(html: str) -> list[dict[str, str]]:
    """Each player's data-nanovod-* attributes, and the src of its first <source>."""
    players = []
    for figure in re.findall(r"<figure .*?</figure>", html, re.S):
        tag = figure[: figure.index(">")]
        player = dict(re.findall(r'data-nanovod-([a-z]+)="([^"]*)"', tag))
        source = re.search(r'<source src="([^"]+)"', figure)
        player["src"] = source[1] if source else ""
        players.append(player)
    return players


def _get(url: str) -> str:
    response = requests.get(url, timeout=10)
    assert response.status_code == 200, url
    return response.text


def _log_in(base_url: str, log) -> tuple[requests.Session, requests.Response]:
    """A session logged in to the admin with the login run.py printed, and the answer."""
    printed = re.search(r"Admin login: (\S+) / (\S+)$", log.read_text(), re.M)
    assert printed, log.read_text()
    session = requests.Session()
    session.get(base_url + "/admin/login/", timeout=10)
    response = session.post(
        base_url + "/admin/login/",
        data={
            "username": printed[1],
            "password": printed[2],
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        headers={"Referer": base_url + "/admin/login/"},
        timeout=10,
    )
    return session, response


def test_each_recording_plays_from_its_regions_fake_host(example_site):
    base_url, log = example_site
    hosts = region_hosts(log)
    players = _players(_get(base_url + "/recordings/"))

    assert [(p["state"], p.get("region")) for p in players] == [
        ("ready", "eu"),
        ("ready", "us"),
        ("ready", "au"),
    ]
    for player in players:
        region = player["region"]
        # The AU one too: bintu names the EU host for it, the snippet's region moves it.
        assert player["src"].startswith(hosts[region] + "/"), player
        url = player["src"].split("#")[0]
        response = requests.get(url, headers={"Range": "bytes=0-99"}, timeout=10)
        assert response.status_code == 206
        clip_size = (CLIPS / f"{region}.mp4").stat().st_size
        assert response.headers["Content-Range"] == f"bytes 0-99/{clip_size}"
        assert response.content[4:8] == b"ftyp"


def test_the_player_options_of_the_recordings_page(example_site):
    base_url, _log = example_site
    html = _get(base_url + "/recordings/")

    assert "<figcaption" in html and "Recorded on the main stage in Frankfurt." in html
    assert re.search(r'<source src="[^"]+\.mp4#t=2,4"', html)  # the panel: 0:02 to 0:04
    # Posters are the Wagtail images load_demo uploaded, served from MEDIA_URL.
    posters = re.findall(r'poster="([^"]+)"', html)
    assert len(posters) == 3
    for poster in posters:
        assert poster.startswith("/media/images/")
        assert requests.get(base_url + poster, timeout=10).headers["Content-Type"] == "image/jpeg"


def test_the_states_page_shows_processing_live_and_unavailable(example_site):
    base_url, _log = example_site
    html = _get(base_url + "/states/")

    states = [p["state"] for p in _players(html)]
    assert states == ["processing", "live", "live", "unavailable"]
    assert "is being processed" in html
    assert "is live now" in html
    assert "not available" in html


def test_the_front_page_links_to_the_event_pages(example_site):
    base_url, _log = example_site
    html = _get(base_url + "/")

    assert 'href="/live-event/"' in html
    assert 'href="/recordings/"' in html
    assert 'href="/states/"' in html


def test_the_printed_admin_login_works(example_site):
    base_url, log = example_site
    session, response = _log_in(base_url, log)
    assert response.status_code == 200
    assert response.url == base_url + "/admin/"  # redirected to the dashboard, not the form
    assert session.get(base_url + "/admin/", timeout=10).status_code == 200

    # The userbar leads an editor from the page to its editor, VOD blocks and all.
    page = session.get(base_url + "/recordings/", timeout=10).text
    edit_url = re.search(r'href="[^"]*(/admin/pages/\d+/edit/)"', page)
    assert edit_url, "no userbar on the page"
    editor = session.get(base_url + edit_url[1], timeout=10)
    assert editor.status_code == 200
    assert "Recorded stream" in editor.text


def test_the_fake_key_never_shows(example_site):
    base_url, log = example_site
    pages = [_get(base_url + path) for path in ("/", "/recordings/", "/states/")]

    printed = log.read_text()
    assert "using a fake bintu" in printed
    assert FAKE_KEY not in printed
    for html in pages:
        assert FAKE_KEY not in html


def test_a_restart_on_the_same_database_follows_the_fake_to_its_new_ports(tmp_path):
    with running_example_site(tmp_path) as (base_url, log):
        first = _players(_get(base_url + "/recordings/"))
    with running_example_site(tmp_path) as (base_url, log):
        hosts = region_hosts(log)
        second = _players(_get(base_url + "/recordings/"))
        assert "Admin login: admin / nanovod-demo" in log.read_text()
        for player in second:
            assert player["src"].startswith(hosts[player["region"]] + "/")
            assert requests.get(player["src"].split("#")[0], timeout=10).status_code == 200

    assert [p["src"] for p in first] != [p["src"] for p in second]


def test_the_worker_refreshes_a_stale_stream_while_pages_keep_rendering(example_site):
    base_url, log = example_site
    database = log.parent / "db.sqlite3"
    with sqlite3.connect(database, timeout=20) as db:
        (before,) = db.execute(
            "SELECT synced_at FROM wagtail_nanovod_vodstream WHERE title LIKE 'Keynote%'"
        ).fetchone()
        # Time passes: the snapshot is stale, and the shared cache forgot the stream.
        db.execute("UPDATE wagtail_nanovod_vodstream SET fresh_until = NULL")
        db.execute("DELETE FROM nanovod_example_cache")
    deadline = time.monotonic() + 60
    while True:
        html = _get(base_url + "/recordings/")
        # Every view in the meantime is whole: the snapshot, not a wait on bintu.
        assert html.count('data-nanovod-state="ready"') == 3
        with sqlite3.connect(database, timeout=20) as db:
            (after,) = db.execute(
                "SELECT synced_at FROM wagtail_nanovod_vodstream WHERE title LIKE 'Keynote%'"
            ).fetchone()
            done = db.execute(
                "SELECT count(*) FROM django_tasks_database_dbtaskresult "
                "WHERE task_path LIKE '%refresh_stream' AND status = 'SUCCESSFUL'"
            ).fetchone()[0]
        if after != before and done:
            break
        assert time.monotonic() < deadline, "the worker did not refresh the stale stream"
        time.sleep(0.5)


def test_the_live_event_page_follows_the_broadcast_by_itself(tmp_path, monkeypatch):
    monkeypatch.setenv("NANOVOD_DEMO_LIFECYCLE", LIVE_EVENT_TIMELINE)
    with running_example_site(tmp_path) as (base_url, log):
        hosts = region_hosts(log)
        assert "The live event at" in log.read_text()
        endpoint_states, page_states, pages = [], [], {}
        deadline = time.monotonic() + 120
        # Nobody touches anything: a visitor's tab asking the state endpoint, and the page
        # as it renders now, until both have reached the recording.
        while endpoint_states[-1:] != ["ready"] or page_states[-1:] != ["ready"]:
            assert time.monotonic() < deadline, (endpoint_states, page_states)
            answer = requests.get(
                base_url + "/nanovod/state/", params={"id": LIVE_EVENT}, timeout=10
            )
            assert answer.status_code == 200
            assert answer.json()["interval"] == LIVE_EVENT_POLL
            state = answer.json()["streams"][LIVE_EVENT]["state"]
            if endpoint_states[-1:] != [state]:
                endpoint_states.append(state)
            page = _get(base_url + "/live-event/")
            (player,) = _players(page)
            if page_states[-1:] != [player["state"]]:
                page_states.append(player["state"])
                pages[player["state"]] = page
            time.sleep(0.2)

        assert endpoint_states == BROADCAST
        assert page_states == BROADCAST
        for state in BROADCAST:
            (player,) = _players(pages[state])
            # The page keeps asking while something is about to change, and stops after.
            expected = None if state == "ready" else str(LIVE_EVENT_POLL)
            assert player.get("poll") == expected, state
            assert (state == "live") == ("nanovod__live" in pages[state]), state
            assert (state == "ready") == ("<video" in pages[state]), state

        # Upcoming: the poster (load_demo's Wagtail image) behind the message.
        assert re.search(r'<img [^>]*src="/media/images/[^"]+"', pages["upcoming"])
        # Live: the H5Live container, configured with the stream group and, offline, the
        # site's stand-in for nanoStream's script, which loops a local clip.
        live = re.search(r'<div class="nanovod__live"[^>]*>', pages["live"])
        assert live, pages["live"]
        attributes = dict(re.findall(r' ([a-z0-9-]+)="([^"]*)"', live[0]))
        config = json.loads(html_lib.unescape(attributes["data-nanovod-h5live"]))
        assert config["source"]["group"]["id"] == LIVE_EVENT
        assert attributes["data-nanovod-h5live-script"] == "/static/demo/nanoplayer-stub.js"
        stub = _get(base_url + attributes["data-nanovod-h5live-script"])
        assert "class NanoPlayer" in stub and "LIVE (simulated)" in stub
        clip = requests.get(base_url + "/static/demo/clips/eu.mp4", timeout=10)
        assert clip.content == (CLIPS / "eu.mp4").read_bytes()
        assert "window.nanovod" in _get(base_url + "/static/wagtail_nanovod/nanovod.js")
        assert "being processed" in pages["processing"]
        # Ready: the recording, from the EU host of the fake, which serves the EU clip.
        (ready,) = _players(pages["ready"])
        assert ready["region"] == "eu"
        assert ready["src"].startswith(hosts["eu"] + "/") and ready["src"].endswith(".mp4")
        recording = requests.get(ready["src"], timeout=10)
        assert recording.content == (CLIPS / "eu.mp4").read_bytes()

        # "Start again" under the player replays the broadcast from the start, at once.
        session = requests.Session()
        form = session.get(base_url + "/live-event/", timeout=10).text
        assert "Start again" in form
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)[1]
        replayed = session.post(
            base_url + "/demo/live-event/restart/",
            data={"csrfmiddlewaretoken": token, "next": "/live-event/"},
            timeout=10,
        )
        assert replayed.url == base_url + "/live-event/"
        assert [p["state"] for p in _players(replayed.text)] == ["upcoming"]
        answer = requests.get(base_url + "/nanovod/state/", params={"id": LIVE_EVENT}, timeout=10)
        assert answer.json()["streams"][LIVE_EVENT]["state"] == "upcoming"


def test_the_example_asks_nothing_of_the_internet_and_misses_no_file(example_site):
    base_url, log = example_site
    icon = requests.get(base_url + "/favicon.ico", timeout=10)
    assert icon.status_code == 200 and icon.content.startswith(b"\x00\x00\x01\x00")  # an ICO
    for path in ("/", "/recordings/"):
        page = _get(base_url + path)
        description = re.search(r'<meta name="description" content="([^"]+)"', page)
        assert description and len(description[1]) > 20, path

    session, _response = _log_in(base_url, log)
    dashboard = session.get(base_url + "/admin/", timeout=10).text
    assert "Sign in" not in dashboard
    assert "w-upgrade" not in dashboard  # no question to Wagtail's release server


def _descendants(pid: int) -> set[int]:
    """The processes started by ``pid``, and by those, from /proc (Linux)."""
    found, todo = set(), [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            children = (task / "children").read_text().split() if task.exists() else []
            for child in map(int, children):
                if child not in found:
                    found.add(child)
                    todo.append(child)
    return found


def _server_pid(log: Path) -> int:
    found = re.search(r"SIGTERM to process (\d+)", log.read_text())
    assert found, log.read_text()
    return int(found.group(1))


def test_a_sigterm_to_the_sites_process_stops_everything_it_started(tmp_path):
    """``dev.py example`` becomes this process (exec): a process manager's SIGTERM, or a
    Ctrl-C, stops the web server's process, the task worker and the fake bintu."""
    import os
    import signal

    with running_example_site(tmp_path) as (base_url, log):
        pid = _server_pid(log)
        children = _descendants(pid)
        assert children, "the worker runs in a process of its own"
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in children):
            time.sleep(0.2)
        left = [p for p in children if Path(f"/proc/{p}/cmdline").exists()]
        assert left == [], left
        with pytest.raises(requests.ConnectionError):
            requests.get(base_url + "/", timeout=5)
