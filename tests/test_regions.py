import pytest

from wagtail_nanovod.regions import alternate_urls, is_playable, move_to_region, region_of

EU = "https://bintu-vod-eu.nanocosmos.de"
US = "https://bintu-vod-us.nanocosmos.de"
AU = "https://bintu-vod-au.nanocosmos.de"


@pytest.mark.parametrize(
    ("url", "region"),
    [
        (f"{EU}/AbCdE/AbCdE-fGhIj-1.mp4", "eu"),
        (f"{US}/AbCdE/AbCdE-fGhIj-1.mp4", "us"),
        (f"{AU}/AbCdE/AbCdE-fGhIj-1.mp4", "au"),
        ("https://BINTU-VOD-US.nanocosmos.de:443/x.mp4", "us"),
        ("https://bintu-vod-eu-02-ak.nanocosmos.de/vod/AbCdE-fGhIj.mp4", "eu"),
        ("https://bintu-vod-au-01.nanocosmos.de/x.mp4", "au"),
        ("https://bintu-vod.nanocosmos.de/vod/AbCdE-fGhIj.mp4", None),
        ("https://europe.example.com/x.mp4", None),
        ("https://bintu-vod-euro.nanocosmos.de/x.mp4", None),
        ("not a url", None),
        ("", None),
    ],
)
def test_the_storage_region_of_a_url(url, region):
    assert region_of(url) == region


def test_a_configured_host_wins_over_the_identifier_in_its_name(settings):
    # A private CDN whose host name says nothing, or even says another region.
    settings.WAGTAIL_NANOVOD = {
        "API_KEY": "made-up",
        "REGIONS": {"eu": "http://127.0.0.1:8001", "us": "https://cdn-eu-mirror.example.com"},
    }
    assert region_of("http://127.0.0.1:8001/a/b.mp4") == "eu"
    assert region_of("http://127.0.0.1:8002/a/b.mp4") is None
    assert region_of("https://cdn-eu-mirror.example.com/a/b.mp4") == "us"


def test_a_url_moves_to_another_configured_region_keeping_its_path():
    url = f"{EU}/AbCdE/AbCdE-fGhIj-1.mp4?token=abc"
    assert move_to_region(url, "us") == f"{US}/AbCdE/AbCdE-fGhIj-1.mp4?token=abc"
    assert move_to_region(url, "eu") == url
    assert move_to_region(url, "mars") == url


def test_a_url_not_on_a_configured_host_is_not_moved():
    url = "https://bintu-vod-eu-02-ak.nanocosmos.de/vod/AbCdE-fGhIj.mp4"
    assert move_to_region(url, "us") == url


def test_alternates_are_the_other_regions_default_region_first():
    url = f"{AU}/o/o-s-1.mp4"
    assert alternate_urls(url) == [f"{EU}/o/o-s-1.mp4", f"{US}/o/o-s-1.mp4"]
    assert alternate_urls(f"{EU}/o/o-s-1.mp4") == [f"{US}/o/o-s-1.mp4", f"{AU}/o/o-s-1.mp4"]
    assert alternate_urls("https://bintu-vod.nanocosmos.de/vod/x.mp4") == []


@pytest.mark.parametrize(
    ("url", "playable"),
    [
        (f"{EU}/o/o-s-1.mp4", True),
        ("https://bintu-vod.nanocosmos.de/vod/o-s.mp4", True),
        ("https://bintu-vod-eu-02-ak.nanocosmos.de/vod/o-s.mp4", True),
        ("http://bintu-vod.nanocosmos.de/vod/o-s.mp4", False),
        ("javascript:alert(1)", False),
        ("data:video/mp4;base64,AAAA", False),
        ("https://evil.example.com/x.mp4", False),
        ("https://nanocosmos.de.evil.example.com/x.mp4", False),
        ("https://bintu-vod.nanocosmos.de@evil.example.com/x.mp4", False),
        ('https://bintu-vod.nanocosmos.de/x.mp4"><script>', False),
        ("https://bintu-vod.nanocosmos.de/x y.mp4", False),
        ("//bintu-vod.nanocosmos.de/x.mp4", False),
        ("https://bintu-vod.nanocosmos.de/" + "a" * 5000, False),
        (None, False),
        (42, False),
    ],
)
def test_only_https_urls_on_allowed_hosts_may_play(url, playable):
    assert is_playable(url) is playable


def test_region_hosts_play_whatever_their_scheme_and_hosts_are_configurable(settings):
    settings.WAGTAIL_NANOVOD = {
        "API_KEY": "made-up",
        "REGIONS": {"eu": "http://127.0.0.1:8001"},
        "PLAYBACK_HOSTS": ["media.example.com"],
    }
    assert is_playable("http://127.0.0.1:8001/o/x.mp4")
    assert not is_playable("http://127.0.0.1:8002/o/x.mp4")
    assert is_playable("https://media.example.com/x.mp4")
    assert not is_playable("https://sub.media.example.com/x.mp4")
    assert not is_playable("https://bintu-vod.nanocosmos.de/x.mp4")
