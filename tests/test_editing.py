"""An editor's path through the Wagtail admin: choose a stream in the block, publish, render."""

import re

import pytest
from django.urls import reverse
from wagtail.models import Page
from wagtail.test.utils.form_data import nested_form_data, streamfield

from tests.testapp.models import EventPage
from wagtail_nanovod.models import VodStream
from wagtail_nanovod.resolver import refresh_snippet

from .conftest import TEST_KEY

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor(client, django_user_model):
    user = django_user_model.objects.create_superuser("editor", "editor@example.com", "pw")
    client.force_login(user)
    return client


def test_the_chooser_offers_the_registered_streams(editor, make_snippet):
    snippet = make_snippet(title="Keynote in the chooser")
    namespace = f"wagtailsnippetchoosers_{snippet._meta.app_label}_{snippet._meta.model_name}"
    response = editor.get(reverse(f"{namespace}:choose"))
    assert response.status_code == 200
    assert "Keynote in the chooser" in response.content.decode()
    chosen = editor.get(reverse(f"{namespace}:chosen", args=[snippet.pk]))
    assert chosen.json()["result"]["id"] == str(snippet.pk)


def test_an_editor_adds_a_vod_block_publishes_and_visitors_get_the_player(
    editor, client, bintu, make_snippet
):
    snippet = make_snippet(regions=("au",), title="Workshop")
    home = Page.get_first_root_node().get_children().first()
    add_url = reverse("wagtailadmin_pages:add", args=["testapp", "eventpage", home.pk])
    assert editor.get(add_url).status_code == 200
    data = nested_form_data(
        {
            "title": "Conference day",
            "slug": "conference-day",
            "body": streamfield(
                [("vod", vod_block_data(snippet, caption="The workshop, recorded"))]
            ),
            "action-publish": "publish",
        }
    )
    response = editor.post(add_url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    page = EventPage.objects.get(slug="conference-day")
    assert page.live

    # The editor's edit view shows the chosen stream in the block.
    edit = editor.get(reverse("wagtailadmin_pages:edit", args=[page.pk]))
    assert edit.status_code == 200
    assert "Workshop" in edit.content.decode()
    assert TEST_KEY not in edit.content.decode()

    html = client.get(page.url).content.decode()
    assert 'data-nanovod-state="ready"' in html
    assert 'data-nanovod-region="au"' in html
    assert re.search(rf'<source src="{re.escape(bintu.region_urls["au"])}/[^"]+\.mp4"', html)
    assert "The workshop, recorded" in html
    assert TEST_KEY not in html


def test_a_block_without_a_stream_is_a_form_error_not_a_lost_page(editor, make_snippet):
    home = Page.get_first_root_node().get_children().first()
    add_url = reverse("wagtailadmin_pages:add", args=["testapp", "eventpage", home.pk])
    data = nested_form_data(
        {
            "title": "Draft day",
            "slug": "draft-day",
            "body": streamfield(
                [
                    (
                        "vod",
                        {
                            "stream": "",
                            "caption": "kept",
                            "controls": "on",
                            "captions": {"count": 0},
                        },
                    )
                ]
            ),
            # Drafts may be incomplete (Wagtail defers required fields); publishing may not.
            "action-publish": "publish",
        }
    )
    response = editor.post(add_url, data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "This field is required" in html
    # What the editor typed is still in the form.
    assert "kept" in html


def vod_block_data(snippet, **fields):
    """A VOD block as the page editor posts it, with the given fields set."""
    return {
        "stream": snippet.pk,
        "recording": "",
        "caption": "",
        "autoplay": "",
        "loop": "",
        "controls": "on",
        "start_time": "",
        "end_time": "",
        "poster": "",
        "captions": {"count": 0},
        "click_to_load": "",
        **fields,
    }


def _publish(editor, snippet, recording, slug, **fields):
    home = Page.get_first_root_node().get_children().first()
    add_url = reverse("wagtailadmin_pages:add", args=["testapp", "eventpage", home.pk])
    block = vod_block_data(snippet, recording=recording, **fields)
    data = {"title": slug, "slug": slug, "body": streamfield([("vod", block)])}
    return editor.post(
        add_url, nested_form_data({**data, "action-publish": "publish"}), follow=True
    )


def test_a_recording_number_the_stream_does_not_have_is_an_error_naming_those_it_has(
    editor, bintu, make_snippet
):
    snippet = make_snippet(regions=("eu", "us", "au"))
    response = _publish(editor, snippet, 99, "wrong-number")
    assert not EventPage.objects.filter(slug="wrong-number").exists()
    assert "This stream has no recording 99. Its recordings: 1, 2, 3." in (
        response.content.decode()
    )
    _publish(editor, snippet, 2, "right-number")
    assert EventPage.objects.get(slug="right-number").live


def test_a_recording_number_nobody_can_check_yet_saves_with_a_warning(editor, bintu):
    from wagtail_nanovod.models import VodStream
    from wagtail_nanovod.testing import Fault

    bintu.inject(Fault.status(503))
    snippet = VodStream.objects.create(stream_id=bintu.add_stream(), title="Tomorrow's talk")
    response = _publish(editor, snippet, 3, "unchecked")
    assert EventPage.objects.get(slug="unchecked").live
    text = response.content.decode().replace("&#x27;", "'")
    assert "nanoStream has not confirmed yet that 'Tomorrow's talk' has recording 3" in text


def test_a_recording_number_a_changing_stream_may_have_soon_saves_with_a_warning(
    editor, bintu, make_snippet
):
    live = make_snippet(state="live", regions=("eu",), title="On air")
    response = _publish(editor, live, 2, "on-air")
    assert EventPage.objects.get(slug="on-air").live  # recording 2 may come after the show
    text = response.content.decode().replace("&#x27;", "'")
    assert "has not confirmed yet that 'On air' has recording 2" in text


def test_a_clip_is_typed_as_seconds_or_h_mm_ss_and_kept_in_seconds(editor, bintu, make_snippet):
    stream_id = bintu.add_stream(state="ended")
    bintu.add_recording(stream_id, extra={"duration": 3 * 3600})
    snippet = make_snippet_for(stream_id)
    response = _publish(editor, snippet, "", "clip", start_time="1:02:03", end_time="4000")
    assert response.status_code == 200
    block = EventPage.objects.get(slug="clip").body[0].value
    assert (block["start_time"], block["end_time"]) == (3723, 4000)


@pytest.mark.parametrize(
    ("start", "end", "field", "message"),
    [
        ("90", "1:00", "end_time", "The end must come after the start (1:30)."),
        ("", "4:00:00", "end_time", "The recording is 3:00:00 long: this is past its end."),
        ("", "soon", "end_time", "Type seconds (such as 90) or h:mm:ss"),
        ("1:75", "", "start_time", "Type seconds (such as 90) or h:mm:ss"),
    ],
)
def test_a_clip_that_cannot_be_played_is_a_form_error(editor, bintu, start, end, field, message):
    stream_id = bintu.add_stream(state="ended")
    bintu.add_recording(stream_id, extra={"duration": 3 * 3600})
    snippet = make_snippet_for(stream_id)
    response = _publish(editor, snippet, "", "clip", start_time=start, end_time=end)
    html = response.content.decode()
    assert message in html
    assert not EventPage.objects.filter(slug="clip").exists()


def make_snippet_for(stream_id):
    snippet = VodStream.objects.create(stream_id=stream_id, title="Day one")
    refresh_snippet(snippet)
    return snippet
