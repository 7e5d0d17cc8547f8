"""Create the demo content and an admin login, and sync the demo streams; safe to run again.

A first run makes the admin user, one VodStream snippet per registered demo stream
(with a poster), the front page and three event pages; a later run adds the pages
that are missing. Every run, the first included,
asks bintu about each snippet: the fake bintu gets new ports each time the site
starts, and a snapshot from an earlier run would point at the old ones.
"""

import os

from demo.streams import AU, DEMO_STREAMS, EU, LIFECYCLE, LIVE, MISSING, PROCESSING, US
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.images import ImageFile
from django.core.management.base import BaseCommand
from wagtail.documents import get_document_model
from wagtail.images import get_image_model
from wagtail.models import Page, Site

from home.models import EventPage, HomePage
from wagtail_nanovod.models import VodStream
from wagtail_nanovod.resolver import refresh_snippet

ADMIN_USERNAME = "admin"
# A local demo on 127.0.0.1: a fixed, printed password is the convenient choice.
ADMIN_PASSWORD = "nanovod-demo"  # noqa: S105

KEYNOTE_CAPTIONS = "Keynote captions (English)"

HOME_INTRO = (
    "<p>Recordings of nanoStream Cloud live streams on Wagtail pages, embedded with the "
    "<code>VodBlock</code> of wagtail-nanovod. Each recording plays from the host of the "
    "region that stores it.</p>"
)


def live_event_body(snippets):
    """One block, put on the page before the event: it follows the broadcast by itself."""
    return [
        _text(
            "<p>The block below was placed on this page before the event. Without anyone "
            "touching the page again, visitors see the poster and an upcoming message, then "
            "the live player, then a note that the recording is being processed, and at "
            "last the recording itself. Leave the page open and watch.</p>"
        ),
        _vod(snippets[LIFECYCLE], caption="Streamed from Frankfurt, recorded in Europe."),
    ]


def recordings_body(snippets):
    """Three recordings in three regions; one with a caption and captions, one a clip
    from 2 s to 4 s."""
    return [
        _text(
            "<p>Each player below takes its MP4 from the host of the region that stores the "
            "recording, and lists the other regions' hosts as fallback sources.</p>"
        ),
        _text("<h2>Keynote, stored in Europe</h2>"),
        _vod(
            snippets[EU],
            caption="Recorded on the main stage in Frankfurt.",
            captions=[_keynote_captions()],
            poster_priority=True,  # the first player of the page, its largest image
        ),
        _text(
            "<h2>Panel, stored in North America</h2><p>A clip: this one plays from 0:02 "
            "to 0:04 of the recording.</p>"
        ),
        _vod(snippets[US], start_time=2, end_time=4),
        _text(
            "<h2>Workshop, stored in Australia</h2><p>bintu names the European host for "
            "this file; the stream's region is set to Australia, so it plays from there.</p>"
        ),
        _vod(snippets[AU]),
    ]


def states_body(snippets):
    """The streams with nothing to play, as visitors see them."""
    return [
        _text(
            "<p>What visitors see when there is nothing to play (yet). These messages are "
            "the package's state templates, which a site can override one by one.</p>"
        ),
        _text("<h2>Recording still processing</h2>"),
        _vod(snippets[PROCESSING]),
        _text("<h2>Live now</h2>"),
        _vod(snippets[LIVE]),
        _text(
            "<h2>The same stream again</h2><p>Two live players on one page: nanoStream's "
            "player script is still loaded only once.</p>"
        ),
        _vod(snippets[LIVE], caption="Second screen"),
        _text("<h2>A stream bintu does not know</h2>"),
        _vod(snippets[MISSING]),
    ]


def privacy_body(snippets):
    """Click to load: nothing from nanoStream until the visitor asks."""
    return [
        _text(
            "<p>These players are set to <em>click to load</em>: until you press play, this "
            "page asks nothing of nanoStream's hosts, not even for a thumbnail. A consent "
            "manager can load them all at once with <code>window.nanovod.loadAll()</code>.</p>"
        ),
        _text("<h2>Keynote, with its poster from this site</h2>"),
        _vod(snippets[EU], click_to_load="on"),
        _text("<h2>Panel</h2>"),
        _vod(snippets[US], click_to_load="on"),
    ]


EVENT_PAGES = [
    # slug, title, summary, body
    (
        "live-event",
        "Live event",
        "Upcoming, live, processing, then the recording: one block follows a broadcast "
        "while you watch.",
        live_event_body,
    ),
    (
        "recordings",
        "Recordings",
        "Three recordings, stored in Europe, North America and Australia.",
        recordings_body,
    ),
    (
        "states",
        "Processing, live, missing",
        "A recording being processed, a live stream, and a stream bintu does not know.",
        states_body,
    ),
    (
        "privacy",
        "Click to load",
        "Players that load nothing from nanoStream until the visitor presses play.",
        privacy_body,
    ),
]


def _keynote_captions():
    """English captions for the keynote: a WebVTT file in Wagtail's documents."""
    document = get_document_model().objects.filter(title=KEYNOTE_CAPTIONS).first()
    if document is None:
        document = get_document_model().objects.create(
            title=KEYNOTE_CAPTIONS,
            file=ContentFile(
                b"WEBVTT\n\n00:00.000 --> 00:04.000\n[Applause] Welcome to the keynote.\n",
                name="keynote-en.vtt",
            ),
        )
    return {"file": document.pk, "language": "en", "label": "English", "kind": ""}


def _text(html):
    return {"type": "paragraph", "value": html}


def _vod(snippet, **options):
    return {"type": "vod", "value": {"stream": snippet.pk, **options}}


class Command(BaseCommand):
    help = "Create the demo content and an admin login (admin / nanovod-demo), sync the streams."

    def handle(self, *args, **options):
        # The unregistered one is left for an editor to register (and the browser test).
        snippets = {demo: self.snippet(demo) for demo in DEMO_STREAMS if demo.registered}
        # Before the pages: saving a page loads its blocks, which would ask bintu about
        # every stream without a snapshot yet.
        self.stdout.write("Syncing the demo streams with bintu:")
        for snippet in snippets.values():
            refresh_snippet(snippet)
            shown = snippet.playback()
            detail = shown.region if shown.is_ready else shown.reason
            self.stdout.write(f"  {snippet.title}: {shown.state} ({detail})".removesuffix(" ()"))

        home = self.home_page()
        for slug, title, summary, body in EVENT_PAGES:
            if not home.get_children().filter(slug=slug).exists():
                page = EventPage(title=title, slug=slug, summary=summary, body=body(snippets))
                home.add_child(instance=page)
                page.save_revision().publish()

        if os.environ.get("NANOVOD_API_KEY"):
            self.stdout.write(
                "The demo stream ids are made up, so your bintu organisation does not know "
                "them and they show as unavailable. Point the snippets at your own streams "
                "in the admin, under nanoStream."
            )
        self.stdout.write(f"Demo content ready. Admin login: {self.admin_login()}")

    def admin_login(self):
        """The admin user, made on the first run; what to log in with."""
        User = get_user_model()
        user = User.objects.filter(username=ADMIN_USERNAME).first()
        if user is None:
            User.objects.create_superuser(ADMIN_USERNAME, "admin@example.com", ADMIN_PASSWORD)
        elif not user.check_password(ADMIN_PASSWORD):
            return f"{ADMIN_USERNAME} (with the password it was given since)"
        return f"{ADMIN_USERNAME} / {ADMIN_PASSWORD}"

    def snippet(self, demo):
        """The snippet of a demo stream, made with its poster on the first run."""
        snippet, created = VodStream.objects.get_or_create(
            stream_id=demo.stream_id,
            defaults={"title": demo.title, "description": demo.description, "region": demo.region},
        )
        if created and demo.poster:
            snippet.poster = self.poster(demo)
            snippet.save(update_fields=["poster"])
        return snippet

    def poster(self, demo):
        """A frame of the demo clip, uploaded as a Wagtail image."""
        with demo.poster.open("rb") as file:
            image = get_image_model()(
                title=f"{demo.title} poster", file=ImageFile(file, name=demo.poster.name)
            )
            image.save()
        return image

    def home_page(self):
        """The front page, made on the first run in place of Wagtail's placeholder."""
        home = HomePage.objects.first()
        if home is None:
            root = Page.get_first_root_node()
            # Wagtail's initial migration makes a placeholder page; the demo replaces it.
            for placeholder in root.get_children().exact_type(Page):
                placeholder.delete()
            home = HomePage(title="Recorded live streams", slug="home", intro=HOME_INTRO)
            root.add_child(instance=home)
            home.save_revision().publish()
            Site.objects.update_or_create(
                is_default_site=True,
                defaults={"hostname": "localhost", "port": 8000, "root_page": home},
            )
        return home
