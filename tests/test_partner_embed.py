"""Embedded by a client nobody here wrote: Wagtail's own oEmbed finder, on another site.

The example site runs as ``tests/test_browser.py`` runs it (``example_site/run.py``, the
fake bintu and its region hosts). Beside it, ``tests/partner_site``: a second Wagtail
site, knowing nothing of wagtail_nanovod, with ``wagtail.embeds``' oEmbed finder
configured with the example's endpoint (``/nanovod/oembed/``), as a partner would
configure it. Its page embeds a URL of the example site with ``{% embed %}``:

- for a page with a recording, the iframe is the one of the example's oEmbed answer, on
  the example's embed page;
- in Chromium (Debian's, as test_browser launches it), the recording plays inside that
  iframe from its region's host, with no Content-Security-Policy violation and no frame
  refused;
- for a URL that is no page of the example site, the endpoint answers 404, and Wagtail's
  tag renders nothing.

Without Playwright or Chromium the browser test skips; under ``CI=true`` it fails.
"""

import contextlib
import os
import sys
from html.parser import HTMLParser
from urllib.parse import urlencode, urlsplit

import pytest
import requests

from tests import test_browser
from tests.services import free_port, region_hosts, running_example_site, serving
from tests.test_browser import PLAY, PLAYED_OR_FAILED, STATE, VIEWPORT, expect

# The example's page whose first VOD block is the Keynote (demo/streams.py's EU): a ready
# recording stored in Europe. Its oEmbed answer offers that block.
RECORDINGS = "/recordings/"
RECORDING_REGION = "eu"
# A path of the example site that is no page.
NO_PAGE = "/no-such-page/"
# How long the partner site may take to migrate its database and start serving.
START_SECONDS = 60

# test_browser's fixture: Debian's Chromium with its launch arguments, once for the module;
# without Playwright or Chromium it skips, and fails under CI=true.
browser = test_browser.browser

# PLAYED_OR_FAILED, awaited inside the video's own frame: page.wait_for_function runs in
# the top frame, which cannot take an element of the iframe as argument. True once it
# holds, false after 15 s.
PLAYED_OR_FAILED_SOON = f"""video => new Promise(resolve => {{
    const done = {PLAYED_OR_FAILED};
    const deadline = Date.now() + 15000;
    const check = () => done(video) ? resolve(true)
        : Date.now() > deadline ? resolve(false) : setTimeout(check, 100);
    check();
}})"""
# Every Content-Security-Policy violation of a frame, as the browser reports it to the
# page's own scripts; set before any script of any frame runs.
RECORD_VIOLATIONS = """window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => window.__violations.push(
    `${event.violatedDirective} blocked ${event.blockedURI}`));"""


@contextlib.contextmanager
def running_partner_site(folder, provider: str):
    """``python -m tests.partner_site`` on a free port, embedding from *provider*.

    Yields its base URL and its log; fails with the log if it does not start.
    """
    port = free_port()
    env = {name: value for name, value in os.environ.items() if name != "DJANGO_SETTINGS_MODULE"}
    env["PARTNER_SITE_DATABASE"] = str(folder / "partner.sqlite3")
    env["PARTNER_SITE_PROVIDER"] = provider
    command = [sys.executable, "-m", "tests.partner_site", f"127.0.0.1:{port}"]
    log = folder / "partner.log"
    base_url = f"http://127.0.0.1:{port}"
    with serving(command, env, log, base_url + "/", "the partner site", START_SECONDS):
        yield base_url, log


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    """The example site, and the partner site embedding from it."""
    with contextlib.ExitStack() as stack:
        example, log = stack.enter_context(
            running_example_site(tmp_path_factory.mktemp("partner_example"))
        )
        partner, partner_log = stack.enter_context(
            running_partner_site(tmp_path_factory.mktemp("partner"), example)
        )
        yield {
            "example": example,
            "hosts": region_hosts(log),
            "partner": partner,
            "partner_log": partner_log,
        }


def _partner_page(sites, url: str) -> str:
    """The address of the partner's page embedding *url*."""
    return sites["partner"] + "/?" + urlencode({"url": url})


class _Iframes(HTMLParser):
    """The attributes of each iframe of a page."""

    def __init__(self, html: str):
        super().__init__()
        self.found: list[dict] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag == "iframe":
            self.found.append(dict(attrs))


def _embedded(sites, url: str) -> tuple[str, list[dict]]:
    """The partner page embedding *url*: its HTML, and its iframes' attributes."""
    response = requests.get(_partner_page(sites, url), timeout=30)
    assert response.status_code == 200, (response.status_code, sites["partner_log"].read_text())
    return response.text, _Iframes(response.text).found


def test_wagtail_embeds_makes_the_iframe_of_the_examples_oembed_answer(sites):
    page_url = sites["example"] + RECORDINGS
    html, iframes = _embedded(sites, page_url)
    assert len(iframes) == 1, (html, sites["partner_log"].read_text())
    src = iframes[0]["src"]
    assert src.startswith(sites["example"] + "/nanovod/embed/"), src
    assert "autoplay" in iframes[0]["allow"] and "fullscreen" in iframes[0]["allow"], iframes

    # The iframe is the endpoint's own html, as Wagtail took it from the answer.
    answer = requests.get(
        sites["example"] + "/nanovod/oembed/",
        params={"url": page_url, "format": "json"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["type"] == "video"
    assert answer.json()["html"] in html

    # An embed page any site may frame.
    embed = requests.get(src, timeout=10)
    assert embed.status_code == 200
    assert "frame-ancestors *" in embed.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in embed.headers

    # The embed URL itself, given to the partner, embeds the same iframe.
    _html, again = _embedded(sites, src)
    assert [iframe["src"] for iframe in again] == [src]


def test_the_recording_plays_inside_the_partner_sites_iframe(browser, sites):
    context = browser.new_context(viewport=VIEWPORT)
    try:
        context.set_default_timeout(15_000)
        context.add_init_script(RECORD_VIOLATIONS)  # in every frame, the iframe's too
        page = context.new_page()
        # What Chromium says of a policy or a frame it refused, in any frame: a refused
        # frame-ancestors reads "Framing '…' violates the following Content Security Policy
        # directive", X-Frame-Options "Refused to display '…' in a frame".
        refused = []
        page.on(
            "console",
            lambda m: (
                refused.append(m.text)
                if "Content Security Policy" in m.text or "Refused to" in m.text
                else None
            ),
        )
        responses = []
        page.on("response", lambda response: responses.append(response))
        page.goto(_partner_page(sites, sites["example"] + RECORDINGS))

        player = page.frame_locator("iframe").locator("figure.nanovod")
        expect(player).to_have_attribute("data-nanovod-state", "ready")
        expect(player).to_have_attribute("data-nanovod-region", RECORDING_REGION)
        video = player.locator("video")
        video.evaluate(PLAY)
        assert video.evaluate(PLAYED_OR_FAILED_SOON), video.evaluate(STATE)
        played = video.evaluate(STATE)

        embeds = [r for r in responses if "/nanovod/embed/" in r.url]
        assert [r.status for r in embeds] == [200], [(r.url, r.status) for r in embeds]
        violations = [
            f"{f.url}: {v}" for f in page.frames for v in f.evaluate("window.__violations")
        ]
    finally:
        context.close()

    assert played["error"] is None, played
    assert played["readyState"] >= 4 and played["time"] > 0.5, played
    # From the host of the region storing it, the example's fake one.
    assert urlsplit(played["src"]).netloc == urlsplit(sites["hosts"][RECORDING_REGION]).netloc
    assert violations == []
    assert refused == []


def test_a_url_that_is_no_page_of_the_example_site_embeds_nothing(sites):
    url = sites["example"] + NO_PAGE
    answer = requests.get(
        sites["example"] + "/nanovod/oembed/", params={"url": url, "format": "json"}, timeout=10
    )
    assert answer.status_code == 404
    # Wagtail's tag renders nothing when the provider finds nothing.
    html, iframes = _embedded(sites, url)
    assert iframes == [] and "<iframe" not in html
    assert '<div class="embed"></div>' in html
