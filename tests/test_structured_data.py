"""schema.org VideoObject JSON-LD: parsed back as JSON, field by field."""

import json
import re

import pytest

from wagtail_nanovod.resolver import refresh_snippet
from wagtail_nanovod.structured_data import iso_duration

pytestmark = pytest.mark.django_db


def json_ld(html: str) -> list[dict]:
    """Every JSON-LD object of a page, parsed as a search engine would."""
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    return [json.loads(block) for block in blocks]


def test_a_ready_recording_describes_itself_to_search_engines(
    client, bintu, make_snippet, make_event_page
):
    sid = bintu.add_stream(state="ended")
    url = bintu.add_recording(
        sid, region="au", created_at="2026-03-04T18:10:49.413Z", extra={"duration": 3723.4}
    )
    from wagtail_nanovod.models import VodStream

    snippet = VodStream.objects.create(
        stream_id=sid, title="Keynote", description="The opening keynote, recorded."
    )
    refresh_snippet(snippet)
    html = client.get(make_event_page([snippet]).url).content.decode()
    (data,) = json_ld(html)
    assert data == {
        "@context": "https://schema.org",
        "@type": "VideoObject",
        "name": "Keynote",
        "description": "The opening keynote, recorded.",
        "contentUrl": url,
        "thumbnailUrl": data["thumbnailUrl"],
        "uploadDate": "2026-03-04T18:10:49.413000+00:00",
        "duration": "PT1H2M3S",
        "embedUrl": data["embedUrl"],
    }
    # The embed page other sites frame: the same recording's player.
    assert data["embedUrl"].startswith("http://testserver/")
    embed = client.get(data["embedUrl"])
    assert embed.status_code == 200
    assert f'<source src="{url}"' in embed.content.decode()
    assert data["thumbnailUrl"].startswith(bintu.region_urls["eu"].rsplit(":", 1)[0])
    assert data["thumbnailUrl"].endswith(".jpg")


def test_a_title_that_closes_the_script_stays_data(client, bintu, make_snippet, make_event_page):
    title = 'Q&A </script><script>alert("x")</script> <!-- end'
    snippet = make_snippet(title=title)
    html = client.get(make_event_page([snippet]).url).content.decode()
    assert "<script>alert" not in html
    (data,) = json_ld(html)
    assert data["name"] == title
    assert data["description"] == title  # no description: the title stands in


def test_a_poster_from_the_site_is_made_absolute(
    client, bintu, make_snippet, make_event_page, poster_image
):
    snippet = make_snippet()
    snippet.poster = poster_image
    snippet.save()
    html = client.get(make_event_page([snippet]).url).content.decode()
    (data,) = json_ld(html)
    assert data["thumbnailUrl"].startswith("http://testserver/media/images/")


@pytest.mark.parametrize("setup", [{"state": "live", "regions": ()}, {"regions": ()}])
def test_nothing_to_play_means_no_video_object(
    client, bintu, make_snippet, make_event_page, setup
):
    html = client.get(make_event_page([make_snippet(**setup)]).url).content.decode()
    assert json_ld(html) == []


def test_the_setting_turns_it_off(client, bintu, make_snippet, make_event_page, settings):
    settings.WAGTAIL_NANOVOD = {**settings.WAGTAIL_NANOVOD, "JSON_LD": False}
    html = client.get(make_event_page([make_snippet()]).url).content.decode()
    assert 'data-nanovod-state="ready"' in html
    assert json_ld(html) == []


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(0, "PT0S"), (59.6, "PT1M"), (61, "PT1M1S"), (3600, "PT1H"), (3723.4, "PT1H2M3S")],
)
def test_durations_are_iso_8601(seconds, expected):
    assert iso_duration(seconds) == expected


def test_the_template_tag_makes_the_sites_poster_absolute_too(
    rf, bintu, make_snippet, poster_image
):
    from django.template import Context, Template

    snippet = make_snippet()
    snippet.poster = poster_image
    snippet.save()
    html = Template("{% load wagtail_nanovod_tags %}{% nanovod_player stream %}").render(
        Context({"request": rf.get("/"), "stream": snippet})
    )
    (data,) = json_ld(html)
    assert data["thumbnailUrl"].startswith("http://testserver/media/images/")
