"""The snippet's admin: save then verify, listing, edit panel, refresh, import from nanoStream.

Every test goes through the Django test client against the fake bintu, and every page
it fetched is searched for the API key afterwards.
"""

import html
import re
import time

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import caches
from django.test import Client
from django.urls import reverse

from wagtail_nanovod.models import VodStream
from wagtail_nanovod.snapshot import PROCESSING, READY, UNAVAILABLE, UNVERIFIED
from wagtail_nanovod.testing import Fault

from .conftest import TEST_KEY

pytestmark = pytest.mark.django_db

MALFORMED_ID = "1dec3bbc-758b-4879-a202"


def url(name, *args):
    """An admin URL of the snippet's viewset, by view name."""
    return reverse(VodStream.snippet_viewset.get_url_name(name), args=args)


class Browser:
    """The test client, keeping every answer so that each can be searched for the key."""

    def __init__(self, client):
        self.client = client
        self.responses = []

    def get(self, path, data=None, **kwargs):
        return self._keep(self.client.get(path, data, **kwargs))

    def post(self, path, data=None, **kwargs):
        return self._keep(self.client.post(path, data, **kwargs))

    def _keep(self, response):
        self.responses.append(response)
        return response


def text(response):
    """The page as text, entities decoded, white space squeezed."""
    return re.sub(r"\s+", " ", html.unescape(response.content.decode()))


def listed(response, snippet):
    """Whether a listing shows ``snippet`` as a row."""
    return f'id="snippet_{snippet.pk}_title"' in response.content.decode()


@pytest.fixture
def browsers():
    """The browsers of a test; afterwards, none of their pages may show the API key."""
    made = []
    yield made
    for browser in made:
        for response in browser.responses:
            assert TEST_KEY not in response.content.decode()
            assert TEST_KEY not in response.get("Location", "")


@pytest.fixture
def editor(client, django_user_model, browsers):
    """A superuser in the admin."""
    client.force_login(django_user_model.objects.create_superuser("editor", "e@example.com"))
    browsers.append(Browser(client))
    return browsers[-1]


def admin_user_client(django_user_model, username, *codenames):
    """A client logged in as an admin user with only these permissions besides the admin."""
    user = django_user_model.objects.create_user(username, f"{username}@example.com")
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["access_admin", *codenames])
    )
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def viewer(django_user_model, browsers):
    """An admin user who may look at the streams but not change or add them."""
    browsers.append(Browser(admin_user_client(django_user_model, "viewer", "view_vodstream")))
    return browsers[-1]


def assert_denied(send, path, data=None):
    """The view refuses with 403; Wagtail's admin turns that into its usual redirect."""
    assert send(path, data, headers={"X-Requested-With": "XMLHttpRequest"}).status_code == 403
    response = send(path, data, follow=True)
    assert response.redirect_chain[-1][0] == reverse("wagtailadmin_home")
    assert "Sorry, you do not have permission to access this area." in text(response)


def create_data(stream_id, title="Keynote", **extra):
    """The POST of the snippet's create and edit forms."""
    return {
        "stream_id": stream_id,
        "title": title,
        "description": "",
        "region": "auto",
        "poster": "",
        "captions-count": 0,
        **extra,
    }


# -- create and edit: saved whatever bintu says, then verified -----------------------


def test_a_new_stream_is_saved_and_verified(editor, bintu):
    stream_id = bintu.add_stream(tags=["event:keynote"])
    bintu.add_recording(stream_id)
    response = editor.post(url("add"), create_data(stream_id), follow=True)
    snippet = VodStream.objects.get(stream_id=stream_id)
    assert snippet.status == READY
    assert snippet.recording_count == 1
    assert snippet.synced_at is not None
    assert "'Keynote' verified with nanoStream: Ready, 1 recording." in text(response)


def test_a_malformed_stream_id_is_a_form_error_that_says_what_an_id_looks_like(editor, bintu):
    response = editor.post(url("add"), create_data(MALFORMED_ID))
    assert response.status_code == 200
    errors = response.context["form"].errors["stream_id"]
    assert any("UUID" in error for error in errors)
    assert "UUID: 32 hex digits" in text(response)
    assert not VodStream.objects.exists()
    assert bintu.calls() == 0


def test_a_save_with_bintu_failing_is_kept_and_says_why_it_is_not_verified(editor, bintu):
    stream_id = bintu.add_stream()
    bintu.add_recording(stream_id)
    bintu.inject(Fault.status(503))
    response = editor.post(url("add"), create_data(stream_id), follow=True)
    snippet = VodStream.objects.get(stream_id=stream_id)
    assert snippet.status in (UNVERIFIED, UNAVAILABLE)
    assert snippet.last_error == "server_error"
    assert snippet.synced_at is None
    assert (
        "'Keynote' saved, not verified yet: nanoStream had a server error; "
        "it will be checked again."
    ) in text(response)


def test_a_save_with_bintu_hanging_waits_at_most_the_timeout(editor, bintu, settings):
    settings.WAGTAIL_NANOVOD = {**settings.WAGTAIL_NANOVOD, "TIMEOUT": 0.5}
    stream_id = bintu.add_stream()
    bintu.inject(Fault.hang())
    started = time.monotonic()
    response = editor.post(url("add"), create_data(stream_id), follow=True)
    assert time.monotonic() - started < 3
    snippet = VodStream.objects.get(stream_id=stream_id)
    assert snippet.last_error == "unreachable"
    assert "not verified yet: nanoStream could not be reached" in text(response)


def test_a_stream_bintu_does_not_know_is_saved_with_a_clear_warning(editor, bintu):
    stream_id = "1dec3bbc-758b-4879-a202-7ae877d511ba"
    response = editor.post(url("add"), create_data(stream_id), follow=True)
    snippet = VodStream.objects.get(stream_id=stream_id)
    assert snippet.last_error == "not_found"
    assert snippet.status == UNAVAILABLE
    assert f"nanoStream does not know the stream ID {stream_id} of 'Keynote'" in text(response)


def test_a_stream_still_processing_is_saved_and_says_so(editor, bintu):
    stream_id = bintu.add_stream(state="ended")
    response = editor.post(url("add"), create_data(stream_id), follow=True)
    assert VodStream.objects.get(stream_id=stream_id).status == PROCESSING
    assert "'Keynote': nanoStream is still processing the recording" in text(response)


def test_an_edit_is_verified_again(editor, bintu, make_snippet):
    snippet = make_snippet(title="Keynote")
    bintu.add_recording(snippet.stream_id_str, region="us")
    response = editor.post(
        url("edit", snippet.pk), create_data(snippet.stream_id_str, "Keynote, day 1"), follow=True
    )
    snippet.refresh_from_db()
    assert snippet.title == "Keynote, day 1"
    assert snippet.recording_count == 2
    assert "'Keynote, day 1' verified with nanoStream: Ready, 2 recordings." in text(response)


def test_a_new_stream_id_drops_the_old_streams_snapshot_even_when_bintu_fails(
    editor, bintu, make_snippet
):
    snippet = make_snippet()
    other = bintu.add_stream()
    bintu.inject(Fault.status(503))
    editor.post(url("edit", snippet.pk), create_data(other), follow=True)
    snippet.refresh_from_db()
    assert snippet.stream_id_str == other
    assert snippet.snapshot.stream is None
    assert snippet.recording_count == 0
    assert snippet.status != READY


# -- listing: columns, search, filters -------------------------------------------------


def test_the_listing_shows_state_region_recordings_and_sync_time(editor, make_snippet):
    snippet = make_snippet(title="Opening keynote", regions=("eu", "us"), region="us")
    response = editor.get(url("list"))
    page = text(response)
    for heading in ("Title", "Stream ID", "State", "Storage region", "Recordings", "Last synced"):
        assert f"> {heading} <" in page
    assert listed(response, snippet)
    assert snippet.stream_id_str in page
    assert re.search(
        r'<span class="w-status [^"]*" data-nanovod-badge="ready">\s*Ready\s*</span>', page
    )
    assert "<td > North America </td>" in page
    assert "<td > 2 </td>" in page
    assert "Just now" in page


def test_the_streams_have_their_own_admin_menu_item(editor, bintu):
    page = editor.get(reverse("wagtailadmin_home")).content.decode()
    assert '"Streams"' in page
    assert f'"{url("list")}"' in page


def test_the_listing_links_to_the_import_view(editor, bintu):
    assert url("import") in editor.get(url("list")).content.decode()


@pytest.mark.parametrize(
    "query",
    [
        "keynote",
        "Opening KEY",
        "FULL_ID",
        "FULL_ID_UPPER",
        "PART_OF_ID",
        "event:opening",
        "opening",
    ],
)
def test_the_listing_is_searched_by_title_stream_id_and_tags(editor, make_snippet, query):
    found = make_snippet(title="Opening keynote", tags=["event:opening"])
    other = make_snippet(title="Workshop", tags=["event:workshop"])
    stream_id = found.stream_id_str
    query = {
        "FULL_ID": stream_id,
        "FULL_ID_UPPER": stream_id.upper(),
        "PART_OF_ID": stream_id[6:20],  # across a dash, as a copied fragment would be
    }.get(query, query)
    response = editor.get(url("list_results"), {"q": query})
    assert listed(response, found)
    assert not listed(response, other)


def test_a_search_for_the_tag_word_finds_only_tagged_streams(editor, make_snippet):
    tagged = make_snippet(title="Talk A", tags=["event:opening"])
    untagged = make_snippet(title="Talk B")
    response = editor.get(url("list_results"), {"q": "event:opening"})
    assert listed(response, tagged)
    assert not listed(response, untagged)


def test_the_listing_filters_by_state_and_region(editor, bintu, make_snippet):
    ready = make_snippet(title="Ready one", region="us")
    processing = make_snippet(title="Processing one", regions=())
    live = make_snippet(title="Live one", state="live", regions=())
    by_state = editor.get(url("list_results"), {"status": PROCESSING})
    assert listed(by_state, processing)
    assert not listed(by_state, ready)
    assert not listed(by_state, live)
    by_region = editor.get(url("list_results"), {"region": "us"})
    assert listed(by_region, ready)
    assert not listed(by_region, processing)


# -- edit view: recordings, preview, ingest URLs ---------------------------------------


def test_the_edit_view_shows_recordings_preview_and_ingest_urls(editor, bintu, make_snippet):
    snippet = make_snippet(title="Keynote", regions=("eu", "us"))
    streamname = snippet.snapshot.stream.streamname
    response = editor.get(url("edit", snippet.pk))
    assert response.status_code == 200
    page = text(response)
    assert 'data-nanovod-state="ready"' in page
    assert "Europe" in page
    assert "North America" in page
    assert page.count(f"<code>{snippet.stream_id_str}</code>") == 2  # rendition of each
    assert f"/live/{streamname}" in page
    assert f"/rec/{streamname}" in page
    assert url("refresh", snippet.pk) in page


def test_the_edit_view_of_a_stream_bintu_never_answered_for_still_renders(editor, bintu):
    bintu.inject(Fault.status(503))
    snippet = VodStream.objects.create(
        stream_id="1dec3bbc-758b-4879-a202-7ae877d511ba", title="Unchecked"
    )
    response = editor.get(url("edit", snippet.pk))
    assert response.status_code == 200
    assert 'data-nanovod-state="unavailable"' in text(response)
    assert "Known once nanoStream has answered." in text(response)
    assert bintu.calls() == 0  # opening the edit view never waits on bintu


def test_the_create_view_renders_the_panel_without_a_stream(editor, bintu):
    response = editor.get(url("add"))
    assert response.status_code == 200
    assert "Once saved, the stream is checked with nanoStream" in text(response)


# -- refresh now -----------------------------------------------------------------------


def test_refresh_takes_in_what_changed_in_bintu(editor, bintu, make_snippet):
    snippet = make_snippet(state="live", regions=())
    assert snippet.status == "live"
    bintu.set_state(snippet.stream_id_str, "ended")
    bintu.add_recording(snippet.stream_id_str)
    response = editor.post(url("refresh", snippet.pk), follow=True)
    assert response.redirect_chain[-1][0] == url("edit", snippet.pk)
    snippet.refresh_from_db()
    assert snippet.status == READY
    assert snippet.recording_count == 1
    assert "'Keynote' verified with nanoStream: Ready, 1 recording." in text(response)


def test_refresh_with_bintu_down_keeps_the_last_good_answer(editor, bintu, make_snippet):
    snippet = make_snippet()
    bintu.inject(Fault.status(503))
    response = editor.post(url("refresh", snippet.pk), follow=True)
    snippet.refresh_from_db()
    assert snippet.status == READY
    assert snippet.last_error == "server_error"
    page = text(response)
    assert "'Keynote' could not be checked: nanoStream had a server error" in page
    assert "The last check failed: nanoStream had a server error." in page


def test_refresh_is_post_only(editor, bintu, make_snippet):
    snippet = make_snippet()
    bintu.reset_requests()
    assert editor.get(url("refresh", snippet.pk)).status_code == 405
    assert bintu.calls() == 0


def test_refresh_needs_the_change_permission(viewer, bintu, make_snippet):
    snippet = make_snippet()
    bintu.reset_requests()
    assert_denied(viewer.post, url("refresh", snippet.pk))
    assert bintu.calls() == 0


# -- import from nanoStream ------------------------------------------------------------


@pytest.fixture
def org_streams(bintu):
    """An organisation's streams, as bintu lists them."""
    streams = {
        "titled": bintu.add_stream(
            tags=["name:Keynote stream", "event:keynote", "Title: Opening night"]
        ),
        "named": bintu.add_stream(tags=["name:Workshop B"], streamname="AbCdE-named"),
        "plain": bintu.add_stream(streamname="AbCdE-plain"),
        "live": bintu.add_stream(state="live", tags=["event:keynote"], streamname="AbCdE-live"),
    }
    bintu.add_recording(streams["titled"])
    return streams


def test_the_import_view_lists_the_organisations_streams(editor, org_streams):
    page = text(editor.get(url("import")))
    for stream_id in org_streams.values():
        assert f'value="{stream_id}"' in page
    assert "Opening night" in page
    assert "Workshop B" in page
    assert "AbCdE-plain" in page


def test_the_import_view_filters_by_tag_and_state(editor, bintu, org_streams):
    by_tag = text(editor.get(url("import"), {"tag": "event:keynote"}))
    assert f'value="{org_streams["titled"]}"' in by_tag
    assert f'value="{org_streams["live"]}"' in by_tag
    assert f'value="{org_streams["plain"]}"' not in by_tag
    by_state = text(editor.get(url("import"), {"state": "live"}))
    assert f'value="{org_streams["live"]}"' in by_state
    assert f'value="{org_streams["titled"]}"' not in by_state
    asked = [r.query for r in bintu.requests if r.path == "/stream"]
    assert asked[0]["tags[]"] == ["event:keynote"]
    assert asked[1]["state"] == ["live"]


def import_data(editor, ticked, **typed):
    """The POST of the import view as a browser sends it: the ticks, and every title
    input as shown (prefilled from tags), with what the editor typed instead."""
    page = editor.get(url("import")).content.decode()
    shown = dict(re.findall(r'name="title-([0-9a-f-]+)" value="([^"]*)"', page))
    titles = {f"title-{sid}": shown.get(sid, "") for sid in shown}
    titles.update({f"title-{sid}": title for sid, title in typed.items()})
    return {"stream": ticked, **titles}


def test_importing_creates_verified_snippets_titled_from_tags_or_by_the_editor(
    editor, org_streams
):
    ticked = [org_streams["titled"], org_streams["named"], org_streams["plain"]]
    data = import_data(editor, ticked, **{org_streams["plain"]: "Plain talk"})
    response = editor.post(url("import"), data, follow=True)
    assert response.redirect_chain[-1][0] == url("list")
    assert "Imported 3 streams from nanoStream." in text(response)
    titles = dict(VodStream.objects.values_list("stream_id", "title"))
    assert {str(k): v for k, v in titles.items()} == {
        org_streams["titled"]: "Opening night",
        org_streams["named"]: "Workshop B",
        org_streams["plain"]: "Plain talk",
    }
    titled = VodStream.objects.get(stream_id=org_streams["titled"])
    assert titled.status == READY
    assert titled.recording_count == 1


def test_a_stream_nanostream_gives_no_title_is_never_titled_by_its_stream_name(
    editor, org_streams
):
    ticked = [org_streams["titled"], org_streams["plain"]]
    response = editor.post(url("import"), import_data(editor, ticked), follow=True)
    assert not VodStream.objects.exists()  # nothing imported, and nothing lost:
    page = response.content.decode()
    assert "Give the ticked stream a title: nanoStream gives it none." in text(response)
    for sid in ticked:
        assert re.search(rf'value="{sid}"[^>]*checked', page)  # still ticked
    assert f'name="title-{org_streams["titled"]}" value="Opening night"' in page
    # The stream name is there to recognise the stream by, not as its title.
    assert "AbCdE-plain" in page
    assert f'name="title-{org_streams["plain"]}" value=""' in page


def test_titles_typed_in_rows_not_ticked_come_back_too(editor, org_streams):
    data = import_data(
        editor, [org_streams["plain"]], **{org_streams["named"]: "Workshop B, day two"}
    )
    response = editor.post(url("import"), data, follow=True)
    page = response.content.decode()
    assert f'name="title-{org_streams["named"]}" value="Workshop B, day two"' in page


def test_imported_streams_are_marked_and_never_created_twice(editor, org_streams):
    editor.post(url("import"), import_data(editor, [org_streams["titled"]]))
    snippet = VodStream.objects.get()
    page = text(editor.get(url("import")))
    row = page[page.index(f'data-import-stream="{org_streams["titled"]}"') :][:600]
    assert "Already imported" in row
    assert url("edit", snippet.pk) in row
    assert f'value="{org_streams["titled"]}"' not in page  # no box to tick again
    ticked = [org_streams["titled"], org_streams["plain"]]
    data = import_data(editor, ticked, **{org_streams["plain"]: "Plain talk"})
    data[f"title-{org_streams['titled']}"] = "Opening night"  # no longer listed for import
    response = editor.post(url("import"), data, follow=True)
    assert VodStream.objects.count() == 2
    page = text(response)
    assert "Imported 1 stream from nanoStream." in page
    assert "1 stream was imported before and was left as it is." in page


def test_an_import_with_bintu_down_saves_unverified_and_asks_bintu_once(
    editor, bintu, org_streams
):
    bintu.inject(Fault.status(503))
    bintu.reset_requests()
    ticked = [org_streams["titled"], org_streams["named"], org_streams["plain"]]
    typed = {sid: f"Talk {n}" for n, sid in enumerate(ticked)}
    data = {"stream": ticked, **{f"title-{sid}": title for sid, title in typed.items()}}
    response = editor.post(url("import"), data, follow=True)
    assert VodStream.objects.count() == 3
    # The first stream found bintu down; the others were saved without waiting on it.
    assert bintu.calls() == bintu.calls(org_streams["titled"]) >= 1
    assert "Saved, not verified yet: nanoStream had a server error" in text(response)
    assert {s.title for s in VodStream.objects.all()} == set(typed.values())


def test_an_import_without_ticks_says_so(editor, org_streams):
    response = editor.post(url("import"), {}, follow=True)
    assert "Tick the streams to import." in text(response)
    assert not VodStream.objects.exists()


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (Fault.status(503), "nanoStream had a server error"),
        (Fault.status(401), "nanoStream refused the API key"),
        (Fault.drop_connection(), "nanoStream could not be reached"),
        (Fault.wrong_type_json(), "nanoStream sent an answer that could not be read"),
    ],
)
def test_the_import_view_says_why_bintu_could_not_list_the_streams(
    editor, bintu, org_streams, fault, reason
):
    bintu.inject(fault)
    response = editor.get(url("import"))
    assert response.status_code == 200
    assert f"The streams could not be listed: {reason}." in text(response)


def test_the_import_view_without_a_key_says_so(editor, bintu, settings):
    settings.WAGTAIL_NANOVOD = {**settings.WAGTAIL_NANOVOD, "API_KEY": ""}
    response = editor.get(url("import"))
    assert response.status_code == 200
    assert "the nanoStream API key is not configured" in text(response)


def test_the_import_view_needs_the_add_permission(viewer, bintu, org_streams):
    assert_denied(viewer.get, url("import"))
    assert_denied(viewer.post, url("import"), {"stream": [org_streams["plain"]]})
    assert not VodStream.objects.exists()
    assert bintu.calls() == 0


def test_the_listing_shows_no_import_link_without_the_add_permission(viewer, bintu):
    response = viewer.get(url("list"))
    assert response.status_code == 200
    assert url("import") not in response.content.decode()


@pytest.mark.parametrize(
    "pasted",
    [
        "https://dashboard.nanostream.cloud/stream/{id}",
        "https://dashboard.nanostream.cloud/playout/{id}?tab=web",
        "https://dashboard.nanostream.cloud/webcaster/{id}/",
        "  {ID}  ",
    ],
)
def test_a_dashboard_url_pasted_as_the_stream_id_is_read_for_its_id(pasted, editor, bintu):
    stream_id = bintu.add_stream()
    value = pasted.format(id=stream_id, ID=stream_id.upper())
    response = editor.post(url("add"), create_data(value))
    assert response.status_code == 302
    assert VodStream.objects.get().stream_id_str == stream_id


def test_a_url_without_a_stream_id_is_a_form_error(editor, bintu):
    dashboard = "https://dashboard.nanostream.cloud/streams"
    response = editor.post(url("add"), create_data(dashboard))
    assert response.status_code == 200
    assert "This is not a nanoStream stream ID" in text(response)
    assert not VodStream.objects.exists()


def test_the_recordings_table_shows_where_each_plays_from_with_the_snippets_region(
    editor, bintu, make_snippet
):
    snippet = make_snippet(regions=("eu",), region="au")
    page = text(editor.get(url("edit", snippet.pk)))
    table = page[page.index("Rendition ID") :]
    assert "Australia" in table and "Europe" not in table
    # ...which is where the preview plays it from.
    assert 'data-nanovod-region="au"' in editor.get(url("edit", snippet.pk)).content.decode()


def test_each_state_has_a_badge_of_its_own_with_its_name(editor, bintu, make_snippet):
    make_snippet(title="A ready one")
    make_snippet(title="A live one", state="live", regions=())
    make_snippet(title="An upcoming one", state="created", regions=())
    make_snippet(title="A processing one", regions=())
    make_snippet(title="An unrecorded one", regions=(), records=False)
    page = editor.get(url("list")).content.decode()
    badges = dict(
        (state, (classes, label))
        for classes, state, label in re.findall(
            r'<span class="w-status ([^"]*)" data-nanovod-badge="(\w+)"[^>]*>'
            r"\s*([^<]*?)\s*</span>",
            page,
        )
    )
    assert {state: label for state, (_classes, label) in badges.items()} == {
        "ready": "Ready",
        "live": "Live",
        "upcoming": "Upcoming",
        "processing": "Processing",
        "unavailable": "Unavailable",
    }
    # Each looks different, in Wagtail's own status styles.
    assert len({classes for classes, _label in badges.values()}) == 5
    assert "/static/wagtail_nanovod/admin.css" in page


def test_the_admin_keeps_the_state_of_a_changing_stream_current_without_a_visitor(
    editor, bintu, make_snippet
):
    from .conftest import queued_refreshes, run_queued_refreshes

    snippet = make_snippet(title="Tonight", state="created", regions=())
    sid = snippet.stream_id_str
    listing = editor.get(url("list")).content.decode()
    # The badge of a stream about to change is marked for the admin script, which asks...
    assert f'data-nanovod-badge="upcoming" data-nanovod-badge-stream="{sid}"' in listing
    assert "wagtail_nanovod/admin.js" in listing

    # The stream goes live; no visitor opens a page. Its snapshot goes stale.
    bintu.set_state(sid, "live")
    VodStream.objects.update(fresh_until=None)
    caches["default"].clear()
    bintu.reset_requests()
    states = url("states")
    answer = editor.get(states, {"id": sid}).json()
    assert 'data-nanovod-badge="upcoming"' in answer["badges"][sid]  # what we knew, at once
    assert answer["interval"] == 15  # ACTIVE_FRESH_SECONDS / 2
    assert bintu.calls() == 0  # the admin never waits on bintu...
    assert queued_refreshes() == [sid]  # ...it queues the background refresh pages use
    run_queued_refreshes()
    answer = editor.get(states, {"id": sid}).json()
    assert 'data-nanovod-badge="live"' in answer["badges"][sid]
    assert ">Live<" in answer["badges"][sid]


def test_the_listing_and_edit_view_queue_the_refresh_of_changing_streams(
    editor, bintu, make_snippet
):
    from .conftest import queued_refreshes

    live = make_snippet(title="On air", state="live", regions=())
    settled = make_snippet(title="Archive")
    VodStream.objects.update(fresh_until=None)
    editor.get(url("list"))
    assert queued_refreshes() == [live.stream_id_str]  # not the settled one
    editor.get(url("edit", live.pk))
    assert queued_refreshes() == [live.stream_id_str]  # queued once
    assert settled.stream_id_str not in queued_refreshes()


def test_the_states_view_is_for_those_who_may_see_the_streams(
    bintu, make_snippet, django_user_model, viewer
):
    snippet = make_snippet(state="live", regions=())
    states = url("states")
    # A viewer (and an editor who may only change streams) gets the badges...
    assert viewer.get(states, {"id": snippet.stream_id_str}).status_code == 200
    changer = admin_user_client(django_user_model, "changer", "change_vodstream")
    assert changer.get(states, {"id": snippet.stream_id_str}).status_code == 200
    # ...an admin user who may not see the streams does not.
    other = admin_user_client(django_user_model, "other")
    assert_denied(lambda path, data, **kw: other.get(path, data, **kw), states, {"id": "x"})


# -- German ----------------------------------------------------------------------------


def _german(message: str) -> str:
    """``message`` as the package's German catalogue has it (and it has it)."""
    from django.utils import translation

    with translation.override("de"):
        german = translation.gettext(message)
    assert german != message, f"no German for {message!r}"
    return german


def test_an_editor_who_reads_german_gets_the_listing_the_player_and_the_errors_in_german(
    editor, bintu, make_snippet, make_event_page, client
):
    from django.contrib.auth import get_user_model
    from django.utils import translation
    from wagtail.users.models import UserProfile

    profile = UserProfile.get_for_user(get_user_model().objects.get(username="editor"))
    profile.preferred_language = "de"
    profile.save()
    make_snippet(title="Keynote")  # ready
    make_snippet(state="ended", regions=(), title="Panel")  # processing

    listing = text(editor.get(url("list")))
    for english in ("Ready", "Processing", "Recordings"):
        assert _german(english) in listing, english

    # A visitor's page shown in German (by a site's LocaleMiddleware, say).
    page = make_event_page([VodStream.objects.get(title="Panel")])
    with translation.override("de"):
        html = text(client.get(page.url))
    assert (
        _german(
            "The recording of this stream is being processed. It will be available here shortly."
        )
        in html
    )

    error = text(editor.post(url("add"), create_data("not-an-id")))
    assert (
        _german(
            "This is not a nanoStream stream ID. A stream ID is a UUID: 32 hex digits in groups "
            "of 8-4-4-4-12, such as 1dec3bbc-758b-4879-a202-7ae877d511ba; the address of the "
            "stream's page in the nanoStream dashboard works too."
        )
        in error
    )
