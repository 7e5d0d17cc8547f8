"""Captions: WebVTT files uploaded as Wagtail documents, on a block or on the snippet."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.template import Context, Template
from django.urls import reverse
from django.utils import translation
from wagtail.documents import get_document_model
from wagtail.test.utils.form_data import nested_form_data, streamfield

from wagtail_nanovod.captions import CaptionBlock
from wagtail_nanovod.models import VodStream

pytestmark = pytest.mark.django_db

WEBVTT = b"WEBVTT\n\n00:00.000 --> 00:02.000\nGuten Tag\n"


def document(name: str, content: bytes = WEBVTT):
    return get_document_model().objects.create(title=name, file=ContentFile(content, name=name))


def tracks(html: str) -> list[dict]:
    return [
        dict(re.findall(r'([a-z]+)="([^"]*)"', attrs)) | {"default": " default" in attrs}
        for attrs in re.findall(r"<track ([^>]*)>", html)
    ]


def caption(doc, language="de", label="Deutsch", default=False, kind="") -> dict:
    return {
        "file": doc.pk,
        "language": language,
        "label": label,
        "default": default,
        "kind": kind,
    }


def test_a_blocks_captions_render_as_tracks_that_load(
    client, bintu, make_snippet, make_event_page
):
    german, english = document("de.vtt"), document("en.vtt", WEBVTT.replace(b"Guten Tag", b"Hi"))
    page = make_event_page(
        [make_snippet()],
        captions=[caption(german, default=True), caption(english, "en", "English")],
    )
    found = tracks(client.get(page.url).content.decode())
    assert found == [
        {
            "kind": "subtitles",
            "src": german.url,
            "srclang": "de",
            "label": "Deutsch",
            "default": True,
        },
        {
            # The page is in English: an English track is for those who cannot hear it.
            "kind": "captions",
            "src": english.url,
            "srclang": "en",
            "label": "English",
            "default": False,
        },
    ]
    served = client.get(found[1]["src"])
    assert served.status_code == 200
    assert b"".join(served.streaming_content if served.streaming else [served.content]).startswith(
        b"WEBVTT"
    )


def test_an_editor_says_whether_a_track_is_captions_or_subtitles(
    client, bintu, make_snippet, make_event_page, settings
):
    english, german = document("en.vtt"), document("de.vtt")
    page = make_event_page(
        [make_snippet()],
        captions=[
            caption(english, "en", "English", kind="subtitles"),
            caption(german, "de", "Deutsch (für Gehörlose)", kind="captions"),
        ],
    )
    kinds = {t["srclang"]: t["kind"] for t in tracks(client.get(page.url).content.decode())}
    assert kinds == {"en": "subtitles", "de": "captions"}

    # Automatic follows the language the page is shown in.
    automatic = make_event_page(
        [make_snippet()], slug="automatic", captions=[caption(german), caption(english, "en")]
    )
    with translation.override("de"):
        html = Template("{% load wagtailcore_tags %}{% include_block page.body %}").render(
            Context({"page": automatic})
        )
    assert {t["srclang"]: t["kind"] for t in tracks(html)} == {
        "de": "captions",
        "en": "subtitles",
    }


def test_the_snippets_captions_serve_every_page_unless_the_block_has_its_own(
    client, bintu, make_snippet, make_event_page
):
    snippet = make_snippet()
    snippet.captions = [
        (
            "track",
            {"file": document("fr.vtt"), "language": "fr", "label": "Français", "default": False},
        )
    ]
    snippet.save()
    plain = make_event_page([snippet], slug="plain")
    assert [t["srclang"] for t in tracks(client.get(plain.url).content.decode())] == ["fr"]
    own = make_event_page([snippet], slug="own", captions=[caption(document("de.vtt"))])
    assert [t["srclang"] for t in tracks(client.get(own.url).content.decode())] == ["de"]


def test_a_deleted_captions_file_leaves_the_player_whole(
    client, bintu, make_snippet, make_event_page
):
    doc = document("de.vtt")
    page = make_event_page([make_snippet()], captions=[caption(doc)])
    doc.delete()
    html = client.get(page.url).content.decode()
    assert "<video" in html and "<track" not in html


@pytest.mark.parametrize(
    ("name", "content", "field", "message"),
    [
        ("notes.pdf", b"%PDF-1.4", "file", "is not a WebVTT file"),
        ("fake.vtt", b"1\n00:00:00,000 --> 00:00:02,000\nSRT\n", "file", "is not a WebVTT file"),
        ("de.vtt", WEBVTT, "language", "language tag"),
    ],
)
def test_a_wrong_file_or_language_is_a_form_error(name, content, field, message):
    block = CaptionBlock()
    value = block.to_python(
        caption(document(name, content), language="German" if field == "language" else "de")
    )
    with pytest.raises(ValidationError) as error:
        block.clean(value)
    assert message in str(error.value.block_errors[field])


def test_a_file_with_a_byte_order_mark_is_accepted():
    block = CaptionBlock()
    value = block.to_python(caption(document("bom.vtt", b"\xef\xbb\xbf" + WEBVTT)))
    assert block.clean(value)["file"].title == "bom.vtt"


def test_an_editor_who_picks_a_wrong_file_keeps_the_snippet_and_sees_why(
    admin_client, bintu, make_snippet
):
    snippet = make_snippet(title="Keynote")
    pdf = document("notes.pdf", b"%PDF-1.4")
    edit_url = reverse(VodStream.snippet_viewset.get_url_name("edit"), args=[snippet.pk])
    data = nested_form_data(
        {
            "stream_id": snippet.stream_id_str,
            "title": "Keynote, renamed",
            "description": "",
            "region": "auto",
            "poster": "",
            "captions": streamfield(
                [("track", {"file": pdf.pk, "language": "de", "label": "Deutsch", "default": ""})]
            ),
        }
    )
    response = admin_client.post(edit_url, data)
    assert response.status_code == 200  # the form again, with what the editor typed
    html = response.content.decode()
    assert "is not a WebVTT file" in html
    assert "Keynote, renamed" in html
    snippet.refresh_from_db()
    assert snippet.title == "Keynote"
    assert len(snippet.captions) == 0


def test_the_captions_of_a_pages_streams_load_in_one_query(
    client, bintu, make_snippet, make_event_page
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    streams = [make_snippet(title=f"Talk {n}") for n in range(3)]
    for n, snippet in enumerate(streams[:2]):
        snippet.captions = [
            ("track", {"file": document(f"{n}.vtt"), "language": "en", "label": "English"})
        ]
        snippet.save()
    assert [s.has_captions for s in streams] == [True, True, False]
    page = make_event_page(streams)
    with CaptureQueriesContext(connection) as queries:
        html = client.get(page.url).content.decode()
    assert len(tracks(html)) == 2
    loading_captions = [q for q in queries if '"captions"' in q["sql"]]
    assert len(loading_captions) == 1, [q["sql"] for q in loading_captions]
