"""Secure live playback: tokens from nanoStream's token service (the fake's), for the
stream's group and the page's host, shared and renewed, and pages that survive the
service being slow, down or wrong.

Every token a page carries is checked by the fake that issued it, as nanoStream's
servers check them for the player: signed by the service, unexpired, for this group,
bound to this host.
"""

from __future__ import annotations

import html as html_module
import json
import logging
import re
import threading
import time

import pytest
from django.core.cache import caches
from django.test import Client

from wagtail_nanovod.testing import Fault

from .conftest import TEST_KEY

pytestmark = pytest.mark.django_db

# Added to upper time bounds, for a loaded CI machine.
SLACK = 1.0
UNPLAYABLE = "cannot be played here right now"


@pytest.fixture
def secure(settings, bintu):
    """SECURE_PLAYBACK on, failures paused for one second (the default is 30)."""
    settings.WAGTAIL_NANOVOD = {
        **settings.WAGTAIL_NANOVOD,
        "SECURE_PLAYBACK": True,
        "ERROR_SECONDS": 1,
    }
    return bintu


@pytest.fixture
def live_page(secure, make_snippet, make_event_page):
    snippet = make_snippet(state="live", regions=())
    return make_event_page([snippet])


def live_players(html: str) -> list[dict | None]:
    """The H5Live config of each live figure of a page; None for one that cannot play."""
    found = []
    for attrs, inner in re.findall(
        r'<figure ([^>]*data-nanovod-state="live"[^>]*)>(.*?)</figure>', html, re.S
    ):
        config = re.search(r'data-nanovod-h5live="([^"]*)"', inner)
        found.append(json.loads(html_module.unescape(config.group(1))) if config else None)
        if config is None:
            assert UNPLAYABLE in inner
            assert "data-nanovod-retry" in attrs  # the script asks again at every poll
    return found


def token_of(config: dict) -> str:
    return config["source"]["group"]["security"]["jwtoken"]


def get(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert TEST_KEY not in html
    return html


def test_a_live_player_gets_a_token_for_its_group_bound_to_the_pages_host(
    client, live_page, secure
):
    (config,) = live_players(get(client, live_page.url))
    group = config["source"]["group"]["id"]
    claims = secure.verify_token(token_of(config), groupid=group, domain="testserver")
    assert claims is not None
    # Asked with TOKEN_SECONDS (six hours) to live.
    assert 6 * 3600 - 60 < claims["exp"] - time.time() <= 6 * 3600
    assert secure.verify_token(token_of(config), domain="another.example") is None
    (asked,) = [r for r in secure.requests if r.server == "token"]
    assert asked.method == "POST"
    assert asked.headers["X-BINTU-APIKEY"] == TEST_KEY  # the key goes to the service only


def test_the_token_is_asked_for_once_and_shared_until_it_is_renewed(client, live_page, secure):
    first = token_of(live_players(get(client, live_page.url))[0])
    for _ in range(3):
        assert token_of(live_players(get(client, live_page.url))[0]) == first
    # Another host is another binding: a token of its own.
    other = token_of(live_players(get(Client(HTTP_HOST="other.example"), live_page.url))[0])
    assert other != first
    assert secure.verify_token(other, domain="other.example") is not None
    assert secure.token_calls() == 2


def test_without_secure_playback_nothing_asks_the_token_service(
    client, bintu, make_snippet, make_event_page
):
    page = make_event_page([make_snippet(state="live", regions=())])
    (config,) = live_players(get(client, page.url))
    assert "security" not in config["source"]["group"]
    assert bintu.token_calls() == 0


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # threads see the page
def test_a_crowd_of_first_renders_asks_the_service_once(live_page, secure):
    # Slow enough that every render arrives while the first is still asking.
    secure.inject(Fault.latency(0.5), service="token")
    tokens, errors = [], []

    def view():
        try:
            tokens.append(token_of(live_players(get(Client(), live_page.url))[0]))
        except Exception as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=view) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(tokens) == 8 and len(set(tokens)) == 1
    assert secure.token_calls() == 1


def test_a_token_is_renewed_before_it_expires_and_nobody_waits_for_the_renewal(
    client, live_page, secure, settings
):
    settings.WAGTAIL_NANOVOD = {
        **settings.WAGTAIL_NANOVOD,
        "TOKEN_SECONDS": 8,
        "TOKEN_RENEW_SECONDS": 4,
    }
    first = token_of(live_players(get(client, live_page.url))[0])
    # Past the renewal point (4 s before it expires, its expiry in whole seconds), well
    # before it stops being served (2 s before).
    time.sleep(4.1)
    secure.inject(Fault.latency(0.5), service="token")
    # The render that starts the renewal, and those during it, serve the token in hand.
    started = time.monotonic()
    for _ in range(3):
        assert token_of(live_players(get(client, live_page.url))[0]) == first
    assert time.monotonic() - started < 0.5
    deadline = time.monotonic() + 5
    renewed = first
    while renewed == first and time.monotonic() < deadline:
        time.sleep(0.05)
        renewed = token_of(live_players(get(client, live_page.url))[0])
    assert renewed != first
    assert secure.verify_token(renewed, domain="testserver") is not None
    assert secure.token_calls() == 2


def test_a_page_of_live_streams_waits_on_a_failing_service_once(
    client, secure, make_snippet, make_event_page
):
    secure.inject(Fault.hang(), service="token")
    page = make_event_page([make_snippet(state="live", regions=()) for _ in range(3)])
    started = time.monotonic()
    assert live_players(get(client, page.url)) == [None, None, None]
    # One TIMEOUT (1.5 s) for the first stream's group; the others know the service is down.
    assert time.monotonic() - started < 1.5 + SLACK
    assert secure.token_calls() == 1
    secure.release()


def test_a_click_to_load_live_player_asks_for_no_token(
    client, secure, make_snippet, make_event_page
):
    page = make_event_page([make_snippet(state="live", regions=())], click_to_load="on")
    html = get(client, page.url)
    assert "data-nanovod-facade" in html
    assert secure.token_calls() == 0


FAILURES = {
    "refused (403)": Fault.status(
        403, {"success": False, "errorCode": 2011, "message": "token creation not allowed"}
    ),
    "bad request (400)": Fault.status(
        400, {"success": False, "errorCode": 1002, "message": "invalid request"}
    ),
    "server error": Fault.status(500),
    "hangs": Fault.hang(),
    "drops the connection": Fault.drop_connection(),
    "not JSON": Fault.malformed_json(),
    "a JSON list": Fault.wrong_type_json(),
    "no success": Fault.garbled("success", False),
    "a number for the token": Fault.garbled("data.token", 42),
    "an empty token": Fault.garbled("data.token", ""),
    "a token with markup": Fault.garbled("data.token", '"><script>alert(1)</script>xxxxxxxx'),
    "no data": Fault.garbled("data", None),
    "an expired token": Fault.garbled(
        "data.token",
        "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjE2MDAwMDAwMDB9.c2lnbmF0dXJlLW5vdC1jaGVja2Vk",
    ),
    "a huge answer": Fault.oversized(3 * 1024 * 1024),
    "a redirect": Fault.redirect("http://127.0.0.1:9/elsewhere"),
}


@pytest.mark.parametrize("fault", FAILURES.values(), ids=FAILURES.keys())
def test_a_failing_token_service_leaves_a_live_page_that_says_so(
    client, live_page, secure, caplog, fault
):
    secure.inject(fault, service="token")
    caplog.set_level(logging.INFO, logger="wagtail_nanovod")
    started = time.monotonic()
    html = get(client, live_page.url)
    assert time.monotonic() - started < 1.5 + SLACK  # TIMEOUT, one attempt
    assert live_players(html) == [None]
    assert "<script>alert" not in html
    # The failure is remembered: the next renders neither wait nor ask, nor warn again.
    started = time.monotonic()
    assert live_players(get(client, live_page.url)) == [None]
    assert time.monotonic() - started < 0.5
    assert secure.token_calls() == 1
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "secure playback token" in warnings[0].getMessage()
    assert TEST_KEY not in caplog.text
    secure.release()


def test_one_warning_for_a_streak_of_failures_and_playback_when_it_ends(
    client, live_page, secure, caplog
):
    caplog.set_level(logging.INFO, logger="wagtail_nanovod")
    secure.inject(Fault.status(503), service="token")
    assert live_players(get(client, live_page.url)) == [None]
    time.sleep(1.1)  # ERROR_SECONDS: asked again, fails again
    assert live_players(get(client, live_page.url)) == [None]
    assert secure.token_calls() == 2
    secure.clear_faults()
    time.sleep(2.1)  # doubled after the second failure
    (config,) = live_players(get(client, live_page.url))
    assert secure.verify_token(token_of(config)) is not None
    levels = [r.levelname for r in caplog.records if "playback token" in r.getMessage()]
    assert levels == ["WARNING", "INFO", "INFO"]  # failed, failed again, can be had again
    assert token_of(config) not in caplog.text


def test_the_player_endpoint_brings_a_player_with_a_token_once_the_service_is_back(
    client, live_page, secure
):
    secure.inject(Fault.status(503), service="token")
    html = get(client, live_page.url)
    assert live_players(html) == [None]
    player_url = html_module.unescape(re.search(r'data-nanovod-player-url="([^"]+)"', html)[1])
    secure.clear_faults()
    time.sleep(1.1)
    # The script's swap (asked at every poll while the figure says data-nanovod-retry).
    (config,) = live_players(get(client, player_url))
    assert secure.verify_token(token_of(config), domain="testserver") is not None


def test_a_swap_to_a_live_player_carries_a_token(client, secure, make_snippet, make_event_page):
    snippet = make_snippet(state="created", regions=())
    html = get(client, make_event_page([snippet]).url)
    assert live_players(html) == []
    player_url = html_module.unescape(re.search(r'data-nanovod-player-url="([^"]+)"', html)[1])
    secure.set_state(snippet.stream_id_str, "live")
    from wagtail_nanovod.resolver import refresh_snippet

    refresh_snippet(snippet)
    (config,) = live_players(get(client, player_url))
    assert secure.verify_token(token_of(config), domain="testserver") is not None


def test_tokens_are_shared_through_the_cache_not_kept_in_one_process(client, live_page, secure):
    from wagtail_nanovod import playback_tokens

    first = token_of(live_players(get(client, live_page.url))[0])
    playback_tokens.forget()  # as another process starts, with the same cache
    assert token_of(live_players(get(client, live_page.url))[0]) == first
    caches["default"].clear()  # a cache that lost it: asked for again
    playback_tokens.forget()
    assert token_of(live_players(get(client, live_page.url))[0]) != first
    assert secure.token_calls() == 2
