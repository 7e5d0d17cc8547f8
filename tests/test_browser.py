"""In a real browser: an editor puts a recording on a page, and a visitor plays it.

Headless Chromium from Debian's package (``/usr/bin/chromium``), driven by Playwright, against
the example site started as test_example_site.py starts it: ``example_site/run.py`` on a free
port of 127.0.0.1 with a temporary database, and the fake bintu serving the demo clips (H.264
in MP4, which Debian's Chromium decodes) with byte ranges, from one host per region.

Without Playwright or Chromium the tests say what is missing and skip; with ``CI=true`` a
missing part fails them instead, so CI never passes by not looking.

They save the two screenshots the README shows, ``docs/browser-event-page.png`` and
``docs/browser-snippet-listing.png``.
"""

import json
import os
import re
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import requests

from tests.markup_tools import axe_violations, nu_errors
from tests.services import EXAMPLE_ROOT as ROOT
from tests.services import region_hosts, running_example_site

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # the browser fixture says so, and skips (or fails, under CI)
    expect = sync_playwright = None

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # containers and CI runners seldom let Chromium make its sandbox
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    # Offline whatever a page links to: every host name fails to resolve, and the
    # site and the fake bintu are on 127.0.0.1, which needs no resolving.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
# Wide enough for the admin listing to keep each stream id on one line.
VIEWPORT = {"width": 1440, "height": 760}
DOCS = ROOT / "docs"
# demo/streams.py's UNREGISTERED: bintu has it, its recording is stored in North America,
# and load_demo leaves it for an editor to register.
QA_STREAM_ID = "6f1d2a6e-1c9a-4c55-9d3e-0a1b2c3d4e07"
QA_REGION = "us"
QA_POSTER = "Panel poster"  # an image load_demo uploaded: a frame of the US clip
QA_CAPTION = "Questions from the audience, recorded in New York."

# Muted: browsers play sound only after a click.
PLAY = "video => { video.muted = true; video.play().catch(() => {}); }"
# True once the video has played past 0.5 s with enough data buffered to go on
# (HAVE_ENOUGH_DATA), or has failed: an error, or no source it could play.
PLAYED_OR_FAILED = """video => video.error || video.networkState === video.NETWORK_NO_SOURCE
    || (video.readyState >= video.HAVE_ENOUGH_DATA && video.currentTime > 0.5)"""
STATE = """video => ({
    src: video.currentSrc, readyState: video.readyState, time: video.currentTime,
    error: video.error && video.error.code, networkState: video.networkState,
})"""
# Pause at a fixed point: the same frame on every run, for the README's screenshot.
PAUSE_AT = "(video, time) => { video.pause(); video.currentTime = time; }"
PAUSED_AT = "([video, time]) => !video.seeking && video.currentTime === time"
# The natural width of an image loaded from *src*; 0 when it does not load.
IMAGE_WIDTH = """src => new Promise(resolve => {
    const image = new Image();
    image.onload = () => resolve(image.naturalWidth);
    image.onerror = () => resolve(0);
    image.src = src;
})"""


def _missing() -> str | None:
    """What this machine lacks to run the browser tests, or None."""
    if sync_playwright is None:
        return "Playwright is not installed (pip install -e '.[test]')"
    if not CHROMIUM.exists():
        return f"Chromium is not installed at {CHROMIUM} (apt install chromium)"
    return None


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium, launched once for the module."""
    missing = _missing()
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{missing}; with CI=true the browser tests must run, not skip")
        pytest.skip(missing)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


# The live event's timeline for this module: upcoming, live, processing, in seconds.
LIVE_EVENT_TIMELINE = "3,8,8"


@pytest.fixture(scope="module")
def site(browser, tmp_path_factory):
    """The example site for this module (once there is a browser to look at it)."""
    saved = os.environ.get("NANOVOD_DEMO_LIFECYCLE")
    os.environ["NANOVOD_DEMO_LIFECYCLE"] = LIVE_EVENT_TIMELINE
    try:
        with running_example_site(tmp_path_factory.mktemp("browser_site")) as (base_url, log):
            login = re.search(r"Admin login: (\S+) / (\S+)$", log.read_text(), re.M)
            assert login, log.read_text()
            token_url = re.search(r"fake token service at (\S+)\.$", log.read_text(), re.M)
            assert token_url, log.read_text()
            yield {
                "url": base_url,
                "hosts": region_hosts(log),
                "login": login.groups(),
                "token_url": token_url[1],
            }
    finally:
        if saved is None:
            os.environ.pop("NANOVOD_DEMO_LIFECYCLE", None)
        else:
            os.environ["NANOVOD_DEMO_LIFECYCLE"] = saved


def _play(video) -> dict:
    """Play *video* until it is well under way or fails; how it stands then."""
    video.evaluate(PLAY)
    video.page.wait_for_function(PLAYED_OR_FAILED, arg=video.element_handle())
    return video.evaluate(STATE)


def _screenshot(page, name: str, height: int | None = None) -> None:
    """Save the top of *page* in docs/ for the README, alike from run to run."""
    page.mouse.move(VIEWPORT["width"] - 1, VIEWPORT["height"] - 1)  # no hover effects
    # Transitions out of reach of animations="disabled" (the video controls fading in on
    # pause, the admin sidebar) settle first.
    page.wait_for_timeout(1000)
    clip = {"x": 0, "y": 0, **VIEWPORT, "height": height or VIEWPORT["height"]}
    page.screenshot(path=DOCS / name, clip=clip, animations="disabled")


def _new_page(browser, site):
    context = browser.new_context(base_url=site["url"], viewport=VIEWPORT)
    context.set_default_timeout(15_000)
    return context.new_page()


@pytest.fixture(scope="module")
def editor(browser, site):
    """A page logged in to the Wagtail admin with the login run.py prints."""
    page = _new_page(browser, site)
    username, password = site["login"]
    page.goto("/admin/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(site["url"] + "/admin/")
    yield page
    page.context.close()


@pytest.fixture
def visitor(browser, site):
    """A page of a visitor: a context of its own, not logged in.

    The example site sends a strict Content-Security-Policy (demo/csp.py: no
    'unsafe-inline'); whatever a test does, Chromium must report no violation of it.
    """
    page = _new_page(browser, site)
    violations = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    yield page
    page.context.close()
    assert violations == []


# The example's pages, each showing some of the player's states.
EXAMPLE_PAGES = ["/", "/live-event/", "/recordings/", "/states/", "/privacy/"]
NARROW = {"width": 390, "height": 844}
WIDE = {"width": 1280, "height": 800}


def _example_pages(page) -> dict[str, str]:
    """The HTML the site sends for each example page, the live event upcoming, and for the
    embed page of the recordings page's first player (found as a partner's CMS finds it)."""
    page.goto("/live-event/")
    page.get_by_role("button", name="Start again").click()
    expect(page.locator("figure.nanovod")).to_have_attribute("data-nanovod-state", "upcoming")
    pages = {path: page.request.get(path).text() for path in EXAMPLE_PAGES}
    pages[_embed_path(page, pages["/recordings/"])] = ""
    return {path: html or page.request.get(path).text() for path, html in pages.items()}


def _embed_path(page, html: str) -> str:
    """The embed page's path, from a page's oEmbed discovery link and its answer."""
    link = re.search(r'<link rel="alternate" type="application/json\+oembed" href="([^"]+)"', html)
    answer = page.request.get(link[1].replace("&amp;", "&")).json()
    return urlsplit(re.search(r'src="([^"]+)"', answer["html"])[1]).path


def test_every_state_is_valid_html_for_the_w3c_checker(visitor, tmp_path):
    pages = _example_pages(visitor)
    html = "".join(pages.values())
    # Every state is on them: upcoming, live, processing, unavailable, ready with a
    # caption and a track, click to load.
    for state in ("upcoming", "live", "processing", "unavailable", "ready"):
        assert f'data-nanovod-state="{state}"' in html, state
    assert "<track " in html and "<figcaption" in html and "data-nanovod-facade" in html
    assert nu_errors(pages, tmp_path) == []


@pytest.mark.parametrize("viewport", [WIDE, NARROW], ids=["1280", "390"])
def test_axe_finds_no_violation_on_the_example_pages(visitor, viewport):
    page = visitor
    page.set_viewport_size(viewport)
    paths = list(_example_pages(page))
    found = {}
    for path in paths:
        page.goto(path)
        expect(page.locator("body")).to_be_visible()
        found[path] = axe_violations(page)
        if path in ("/", "/recordings/"):
            name = "home" if path == "/" else "recordings"
            _screenshot(page, f"example-{name}-{viewport['width']}.png", height=viewport["height"])
    assert found == {path: [] for path in paths}
    # Nothing runs off the screen at 390 px: the page is no wider than the window.
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]


@pytest.fixture(scope="module")
def published(editor, site):
    """What the editor does in the admin, as an editor would: the URL of the page made.

    Registers the Q&A stream through the snippet form (with a poster from the image
    library), adds an event page under the home page, puts a VOD block in its body, picks
    the stream in the snippet chooser, and publishes.
    """
    page = editor
    messages = page.locator(".messages")

    page.get_by_role("link", name="Streams", exact=True).click()
    page.get_by_role("link", name="Add stream").click()
    page.locator("#id_stream_id").fill(QA_STREAM_ID)
    page.locator("#id_title").fill("Q&A")
    page.get_by_role("button", name="Choose an image").click()
    page.locator(".modal-content").get_by_role("link", name=QA_POSTER).click()
    expect(page.locator(".modal-content")).to_have_count(0)
    page.get_by_role("button", name="Save", exact=True).click()
    # Saving asked the fake bintu about the stream.
    expect(messages).to_contain_text("'Q&A' verified with nanoStream: Ready, 1 recording")

    page.goto("/admin/pages/")
    page.get_by_role("link", name="Explore child pages of 'Recorded live streams'").click()
    page.get_by_role("link", name="Add child page").click()
    page.locator("#id_title").fill("Questions and answers")
    page.locator("#id_summary").fill("The audience asks, the speakers answer.")
    page.get_by_role("button", name="Insert a block").click()
    page.get_by_role("option", name="Recorded stream").click()
    page.get_by_role("button", name="Choose stream").click()
    chooser = page.locator(".modal-content")
    expect(chooser.get_by_role("textbox", name="Search")).to_be_visible()
    # The chooser is the package's (columns, states, "From nanoStream"): axe finds
    # nothing in it.
    # Once faded in: half transparent, every text fails its contrast.
    page.wait_for_function(
        "() => [...document.querySelectorAll('.modal, .modal-dialog, .modal-content')]"
        ".every(el => getComputedStyle(el).opacity === '1')"
    )
    page.wait_for_timeout(500)  # a transform may still be running
    found = [v for v in axe_violations(page, ".modal-content") if v["id"] not in WAGTAILS_OWN]
    assert found == []
    chooser.get_by_role("textbox", name="Search").fill("Q&A")
    chooser.get_by_role("link", name="Q&A", exact=True).click()
    expect(chooser).to_have_count(0)
    block = page.locator("[data-contentpath=body]")
    expect(block.get_by_text("Q&A", exact=True)).to_be_visible()  # the chosen stream
    block.get_by_label("Caption").fill(QA_CAPTION)
    page.get_by_role("button", name="More actions").click()
    page.get_by_role("button", name="Publish", exact=True).click()
    expect(messages).to_contain_text("'Questions and answers' created and published")

    href = messages.get_by_role("link", name="View live").get_attribute("href")
    return urljoin(site["url"] + "/", href)


def test_an_editor_registers_a_stream_and_publishes_it_on_a_page(editor, published):
    assert urlsplit(published).path == "/questions-and-answers/"
    page = editor
    page.goto("/admin/snippets/wagtail_nanovod/vodstream/")
    row = page.get_by_role("row").filter(has_text=QA_STREAM_ID)
    expect(row).to_contain_text("Q&A")
    expect(row).to_contain_text("Ready")
    _screenshot(page, "browser-snippet-listing.png")


def test_a_visitor_sees_the_poster_then_the_recording_plays_from_its_regions_host(
    visitor, published, site
):
    page = visitor
    region_host = urlsplit(site["hosts"][QA_REGION]).netloc
    responses = []
    page.on("response", lambda response: responses.append(response))
    with page.expect_response(lambda r: urlsplit(r.url).path.startswith("/media/images/")):
        page.goto(published)  # the poster is fetched with the page, before any play
    expect(page.get_by_role("heading", level=1)).to_have_text("Questions and answers")
    player = page.locator(f'figure[data-nanovod-stream="{QA_STREAM_ID}"]')
    expect(player).to_have_attribute("data-nanovod-region", QA_REGION)
    expect(player.locator("figcaption")).to_have_text(QA_CAPTION)
    video = player.locator("video")

    # Before playing: the poster the editor chose, an image the page loaded.
    poster = video.get_attribute("poster")
    assert poster and poster.startswith("/media/images/")
    fetched = [r for r in responses if urlsplit(r.url).path == poster]
    assert fetched and fetched[0].status == 200
    assert fetched[0].headers["content-type"] == "image/jpeg"
    assert page.evaluate(IMAGE_WIDTH, poster) > 0  # and one that decodes
    assert video.evaluate("video => video.paused && video.currentTime === 0")

    played = _play(video)
    assert played["error"] is None, played
    assert played["readyState"] >= 4 and played["time"] > 0.5, played
    # From the host of the region storing it; the others' hosts are only fallbacks.
    assert urlsplit(played["src"]).netloc == region_host, played
    # Fetched as from a CDN: byte ranges, answered with 206.
    media = [r for r in responses if r.url == played["src"]]
    assert media and all(r.status == 206 for r in media), [(r.url, r.status) for r in media]
    assert media[0].headers["accept-ranges"] == "bytes"

    video.evaluate(PAUSE_AT, 1.5)
    page.wait_for_function(PAUSED_AT, arg=[video.element_handle(), 1.5])
    # The header, the title and the player: not the empty page below.
    bottom = player.bounding_box()
    height = round(bottom["y"] + bottom["height"]) + 32
    _screenshot(page, "browser-event-page.png", height=height)


def test_the_demo_recordings_play_from_the_hosts_of_their_three_regions(visitor, site):
    page = visitor
    page.goto("/recordings/")
    players = page.locator("figure[data-nanovod-state=ready]")
    assert players.count() == 3
    regions = []
    for player in players.all():
        region = player.get_attribute("data-nanovod-region")
        played = _play(player.locator("video"))
        assert played["error"] is None and played["time"] > 0.5, (region, played)
        # Australia too, though bintu names the European host for that file.
        assert urlsplit(played["src"]).netloc == urlsplit(site["hosts"][region]).netloc
        regions.append(region)
    assert regions == ["eu", "us", "au"]


def test_a_clip_stops_at_its_end(visitor):
    page = visitor
    page.goto("/recordings/")
    video = page.locator('figure[data-nanovod-region="us"] video')
    expect(video).to_have_attribute("data-nanovod-end", "4")
    clip = page.locator('figure[data-nanovod-region="us"] .nanovod__clip')
    expect(clip).to_have_text("Clip: 0:02 to 0:04 (0:02)")
    video.evaluate(PLAY)
    stopped_near_the_end = "video => video.paused && video.currentTime >= 3.5"
    page.wait_for_function(stopped_near_the_end, arg=video.element_handle(), timeout=15_000)
    stopped = video.evaluate(STATE)
    assert stopped["error"] is None and 3.7 <= stopped["time"] <= 4.3, stopped


def test_the_states_without_a_recording_show_their_messages(visitor):
    page = visitor
    page.goto("/states/")
    expect(page.locator("figure.nanovod")).to_have_count(4)
    for state, message in [
        ("processing", "The recording of this stream is being processed."),
        ("unavailable", "This recording is not available at the moment."),
    ]:
        player = page.locator(f"figure[data-nanovod-state={state}]")
        # Plain text, read as it is (a status inside role="img" was not).
        expect(player.get_by_text(message)).to_be_visible()
        expect(player.locator("[role=img]")).to_have_count(0)
        expect(player.locator("video")).to_have_count(0)


# Every nanovod:statechange of the page, as (stream id, state); set before any script runs.
RECORD_CHANGES = """window.__changes = [];
document.addEventListener("nanovod:statechange",
    (event) => window.__changes.push([event.detail.streamId, event.detail.state]));"""


def test_the_live_stream_plays_in_the_h5live_player(visitor, site):
    page = visitor
    scripts = []
    page.on("request", lambda r: scripts.append(r.url) if "nanoplayer" in r.url else None)
    page.goto("/states/")
    live = page.locator("figure[data-nanovod-state=live]")
    expect(live).to_have_count(2)  # the same stream twice
    # The example's offline stand-in for nanoStream's H5Live player, set up by our script
    # with the stream's group id, in containers that each got an id of their own.
    expect(live.locator(".nanoplayer-stub__badge")).to_have_text(["LIVE (simulated)"] * 2)
    ids = [c.get_attribute("id") for c in live.locator(".nanovod__live").all()]
    assert all(ids) and len(set(ids)) == 2, ids
    assert len(scripts) == 1  # nanoStream's script, once for both
    # The demo organisation requires secure playback: the stand-in played because each
    # player was given a token, which the token service that made it vouches for.
    expect(live.locator(".nanoplayer-stub__secured")).to_have_count(2)
    config = json.loads(live.first.locator(".nanovod__live").get_attribute("data-nanovod-h5live"))
    group = config["source"]["group"]
    answer = requests.post(
        site["token_url"] + "/verify", json={"token": group["security"]["jwtoken"]}, timeout=5
    ).json()
    assert answer["success"] is True
    assert answer["data"]["groupid"] == group["id"]
    assert answer["data"]["domain"] == "127.0.0.1"  # the host the page was served from


def test_the_live_event_moves_to_its_recording_in_place(visitor, site):
    page = visitor
    page.add_init_script(RECORD_CHANGES)
    stub_requests = []
    page.on("request", lambda r: stub_requests.append(r.url) if "nanoplayer" in r.url else None)
    page.goto("/live-event/")
    # The timeline began when the site started; "Start again" starts it over.
    page.get_by_role("button", name="Start again").click()
    player = page.locator("figure.nanovod")
    expect(player).to_have_attribute("data-nanovod-state", "upcoming")
    page.evaluate("window.__samePage = true")
    # "Start again" reloads the page: what the page before it loaded does not count
    # (it may have been live already, depending on when this test runs).
    stub_requests.clear()

    # From here on nobody touches the page: the script follows the broadcast.
    expect(player).to_have_attribute("data-nanovod-state", "live", timeout=30_000)
    expect(player.locator(".nanoplayer-stub__badge")).to_be_visible()
    # Each change is announced in the page's live region (one, made before the first).
    announcer = page.get_by_role("status")
    expect(announcer).to_have_count(1)
    expect(announcer).to_contain_text("live now")
    expect(player).to_have_attribute("data-nanovod-state", "processing", timeout=30_000)
    expect(player.get_by_text("being processed")).to_be_visible()
    expect(announcer).to_contain_text("being processed")
    expect(player).to_have_attribute("data-nanovod-state", "ready", timeout=30_000)
    expect(announcer).to_contain_text("ready to play")
    assert axe_violations(page, "figure.nanovod") == []  # the markup swapped in
    played = _play(player.locator("video"))
    assert played["error"] is None and played["time"] > 0.5, played
    assert urlsplit(played["src"]).netloc == urlsplit(site["hosts"]["eu"]).netloc

    assert page.evaluate("window.__samePage") is True  # swapped in place, never reloaded
    states = [state for _stream, state in page.evaluate("window.__changes")]
    assert states == ["live", "processing", "ready"]
    assert len(stub_requests) == 1  # the H5Live script, loaded once


def test_click_to_load_asks_nothing_of_nanostream_until_the_click(visitor, site):
    page = visitor
    nanostream = {urlsplit(url).netloc for url in site["hosts"].values()}
    requested = []
    page.on(
        "request",
        lambda r: requested.append(r.url) if urlsplit(r.url).netloc in nanostream else None,
    )
    page.goto("/privacy/")
    facades = page.locator("figure[data-nanovod-facade]")
    expect(facades).to_have_count(2)
    page.wait_for_load_state("networkidle")
    assert requested == []

    page.get_by_role("button", name="Play: Keynote").click()
    keynote = page.locator("figure.nanovod").first
    expect(keynote.locator("video")).to_have_count(1)
    played = keynote.locator("video").evaluate(
        "video => new Promise(resolve => { const done = () => resolve(video.currentTime);"
        " if (video.currentTime > 0.3) done(); else video.addEventListener('timeupdate',"
        " () => video.currentTime > 0.3 && done()); })"
    )
    assert played > 0.3  # the click started it: no second click needed
    assert requested and all(
        urlsplit(u).netloc == urlsplit(site["hosts"]["eu"]).netloc for u in requested
    )

    # A consent manager loads the rest at once, and gets the players it loaded.
    loaded = page.evaluate(
        "window.nanovod.loadAll().then(figures => figures.map(figure =>"
        " figure && figure.hasAttribute('data-nanovod-facade')))"
    )
    assert loaded == [False]
    expect(page.locator("figure[data-nanovod-facade]")).to_have_count(0)
    expect(page.locator("figure.nanovod video")).to_have_count(2)


def test_consent_given_before_the_script_loads_is_kept(visitor):
    page = visitor
    page.add_init_script("window.nanovodConsent = true")
    page.goto("/privacy/")
    expect(page.locator("figure.nanovod video")).to_have_count(2)
    expect(page.locator("figure[data-nanovod-facade]")).to_have_count(0)


# -- the editor's path, in clicks -------------------------------------------------------------

HALLWAY_STREAM_ID = "6f1d2a6e-1c9a-4c55-9d3e-0a1b2c3d4e09"  # unregistered, stored in Australia
KEYNOTE_STREAM_ID = "6f1d2a6e-1c9a-4c55-9d3e-0a1b2c3d4e01"


class Clicks:
    """Clicks an editor makes, counted."""

    def __init__(self):
        self.count = 0

    def __call__(self, locator):
        self.count += 1
        locator.click()


def test_an_editor_picks_a_stream_straight_from_nanostream_in_six_clicks(editor, site, visitor):
    page = editor
    page.goto("/admin/pages/")
    page.get_by_role("link", name="Explore child pages of 'Recorded live streams'").click()
    page.get_by_role("link", name="Add child page").click()
    page.locator("#id_title").fill("Hallway track")
    page.locator("#id_summary").fill("What was said between the talks.")

    click = Clicks()
    click(page.get_by_role("button", name="Insert a block"))  # "add block"
    click(page.get_by_role("option", name="Recorded stream"))
    click(page.get_by_role("button", name="Choose stream"))
    chooser = page.locator(".modal-content")
    expect(chooser.get_by_role("link", name="Keynote", exact=True)).to_be_visible()
    _screenshot(page, "browser-chooser.png")
    row = chooser.locator(f'[data-nanovod-unregistered="{HALLWAY_STREAM_ID}"]')
    title = row.get_by_role("textbox", name="Title")
    expect(title).to_have_value("")  # nanoStream gives it none: never its stream name
    title.fill("Hallway chat")  # typed, not an id or a URL
    click(row.get_by_role("button", name="Register and choose"))
    expect(chooser).to_have_count(0)
    block = page.locator("[data-contentpath=body]")
    expect(block.get_by_text("Hallway chat", exact=True)).to_be_visible()
    click(page.get_by_role("button", name="More actions"))
    click(page.get_by_role("button", name="Publish", exact=True))
    messages = page.locator(".messages")
    expect(messages).to_contain_text("'Hallway track' created and published")
    assert click.count <= 6, click.count

    href = messages.get_by_role("link", name="View live").get_attribute("href")
    visitor.goto(urljoin(site["url"] + "/", href))
    player = visitor.locator(f'figure[data-nanovod-stream="{HALLWAY_STREAM_ID}"]')
    expect(player).to_have_attribute("data-nanovod-region", "au")
    played = _play(player.locator("video"))
    assert played["error"] is None, played
    assert urlsplit(played["src"]).netloc == urlsplit(site["hosts"]["au"]).netloc, played


def test_the_chooser_finds_a_stream_by_part_of_its_id(editor):
    page = editor
    page.goto("/admin/pages/")
    page.get_by_role("link", name="Explore child pages of 'Recorded live streams'").click()
    page.get_by_role("link", name="Add child page").click()
    page.get_by_role("button", name="Insert a block").click()
    page.get_by_role("option", name="Recorded stream").click()
    page.get_by_role("button", name="Choose stream").click()
    chooser = page.locator(".modal-content")
    chooser.get_by_role("textbox", name="Search").fill(KEYNOTE_STREAM_ID[-12:])
    results = chooser.locator("#search-results")
    expect(results.get_by_role("link", name="Keynote", exact=True)).to_be_visible()
    expect(results.get_by_role("link", name="Panel", exact=True)).to_have_count(0)


# Every button and button-like link the plugin puts on its screens (data-nanovod-action;
# Wagtail's own, such as its icon-only row menus, are Wagtail's to label): its text, and
# the size of its icons.
BUTTONS = """() => [...document.querySelectorAll("[data-nanovod-action]")]
  .filter(b => b.offsetParent !== null).map(b => ({
    visibleText: (b.innerText || "").trim(),
    icon: Math.max(0, ...[...b.querySelectorAll("svg")].map(
      svg => Math.max(svg.getBoundingClientRect().width, svg.getBoundingClientRect().height)
    )),
    html: b.outerHTML.slice(0, 160),
  }))"""
# The admin's own icons in its sidebar menu (their median: the logo is no menu icon): the
# size no icon of ours may exceed.
ADMIN_ICON = """() => {
    const sizes = [...document.querySelectorAll(".sidebar svg.icon")]
      .map(svg => svg.getBoundingClientRect().width).filter(w => w > 0).sort((a, b) => a - b);
    return sizes[Math.floor(sizes.length / 2)];
  }"""


@pytest.mark.parametrize(
    "path",
    [
        "/admin/snippets/wagtail_nanovod/vodstream/",
        "/admin/snippets/wagtail_nanovod/vodstream/import/",
    ],
)
def test_every_button_on_the_plugins_screens_says_what_it_does(editor, path):
    page = editor
    page.goto(path)
    _assert_buttons_readable(page)


def test_the_edit_views_buttons_say_what_they_do(editor):
    page = editor
    page.goto("/admin/snippets/wagtail_nanovod/vodstream/")
    page.get_by_role("link", name="Keynote", exact=True).click()
    refresh = page.get_by_role("button", name="Refresh from nanoStream now")
    expect(refresh).to_be_visible()
    _assert_buttons_readable(page)
    # The nanoStream panel: state, last sync, the refresh button, the preview.
    page.evaluate(
        "() => { document.querySelector('[data-nanovod-admin-panel]').scrollIntoView();"
        " window.scrollBy(0, -120); }"  # below the admin's sticky header
    )
    _screenshot(page, "browser-stream-edit.png")


def _assert_buttons_readable(page):
    admin_icon = page.evaluate(ADMIN_ICON)
    assert 12 <= admin_icon <= 32, admin_icon
    buttons = page.evaluate(BUTTONS)
    assert buttons  # every screen checked here has some
    for button in buttons:
        assert button["visibleText"], button
        assert button["icon"] <= admin_icon + 0.5, button


def test_the_admin_listing_follows_a_live_event_without_a_reload(editor, visitor):
    page = editor
    # The broadcast starts over (a visitor's button on the event page of the example).
    visitor.goto("/live-event/")
    visitor.get_by_role("button", name="Start again").click()
    expect(visitor.locator("figure.nanovod")).to_have_attribute("data-nanovod-state", "upcoming")
    # No visitor page is open from here on, and nobody clicks: the admin keeps up.
    visitor.goto("about:blank")
    page.goto("/admin/snippets/wagtail_nanovod/vodstream/")
    page.evaluate("window.__samePage = true")
    row = page.get_by_role("row").filter(has_text="Live event")
    badge = row.locator("[data-nanovod-badge]")
    expect(badge).to_have_attribute("data-nanovod-badge", "upcoming")
    for state in ("live", "processing", "ready"):
        expect(badge).to_have_attribute("data-nanovod-badge", state, timeout=30_000)
    expect(badge).to_have_text("Ready")
    assert page.evaluate("window.__samePage") is True  # updated in place


# The plugin's admin screens, whole pages: what axe finds there is Wagtail's own markup
# or ours; each rule it reports of Wagtail's is listed here with why it is not ours.
ADMIN_SCREENS = {
    "listing": "/admin/snippets/wagtail_nanovod/vodstream/",
    "import": "/admin/snippets/wagtail_nanovod/vodstream/import/",
    "report": "/admin/reports/nanostream-broken-videos/",
}
WAGTAILS_OWN = {
    # Wagtail's edit views (snippets' included) title the page in their slim header's
    # breadcrumbs, with no <h1>: wagtailadmin/shared/headers/slim_header.html.
    "page-has-heading-one": "Wagtail's slim header",
    # Reported on the <h1 id="header-title"> of the chooser's header, which is Wagtail's
    # wagtailadmin/shared/header.html, the same in all of its choosers.
    "empty-meta-description": "Wagtail's chooser header",
}


def test_axe_finds_no_violation_of_ours_on_the_admin_screens(editor):
    page = editor
    page.goto(ADMIN_SCREENS["listing"])
    edit_url = page.locator("a[href*='/vodstream/edit/']").first.get_attribute("href")
    found = {}
    for name, url in {**ADMIN_SCREENS, "edit": edit_url}.items():
        page.goto(url)
        expect(page.locator("main")).to_be_visible()
        found[name] = [v for v in axe_violations(page) if v["id"] not in WAGTAILS_OWN]
    assert found == {name: [] for name in found}


# The W3C checker's errors in Wagtail's own templates on those screens, by a part of the
# error (its message or its markup), with where they come from: none is in markup of ours.
WAGTAILS_OWN_HTML = {
    "Element “div” not allowed as child of element “button”": "Wagtail's header and "
    "side panel toggles (wagtailadmin/shared/headers, side_panel_toggles.html)",
    "Attribute “type” not allowed on element “div”": "Wagtail's dropdown component",
    "Element “div” not allowed as child of element “label”": "Wagtail's form side panel "
    "resize grip",
    # Matched on its markup, not its message: an empty attribute of ours must still fail.
    "data-chooser-image": "Wagtail's image chooser widget with no image chosen",
    "must not have any “aria-*” attributes": "the hidden input of Wagtail's chooser widget",
    "must be the ID of a non-hidden form control": "the label of Wagtail's chooser widget",
}


def test_the_admin_screens_have_no_html_error_of_ours(editor, tmp_path):
    page = editor
    page.goto(ADMIN_SCREENS["listing"])
    edit_url = page.locator("a[href*='/vodstream/edit/']").first.get_attribute("href")
    screens = {**ADMIN_SCREENS, "edit": edit_url}
    pages = {name: page.request.get(url).text() for name, url in screens.items()}
    errors = nu_errors(pages, tmp_path)
    assert [e for e in errors if not any(known in e for known in WAGTAILS_OWN_HTML)] == []
