import pytest
from django.core import checks
from django.test import override_settings

from wagtail_nanovod.client import BintuClient
from wagtail_nanovod.conf import DEFAULTS, nanovod_settings
from wagtail_nanovod.exceptions import ConfigurationError


def _check_ids():
    return [
        message.id for message in checks.run_checks() if message.id.startswith("wagtail_nanovod")
    ]


def test_defaults_apply_to_keys_the_site_leaves_out(settings):
    settings.WAGTAIL_NANOVOD = {"API_KEY": "made-up"}
    assert nanovod_settings.API_URL == "https://bintu.nanocosmos.de"
    assert nanovod_settings.DEFAULT_REGION == "eu"
    assert DEFAULTS["REGIONS"] == nanovod_settings.REGIONS
    assert nanovod_settings.CACHE_ALIAS == "default"
    assert 0 < nanovod_settings.TIMEOUT <= 10


def test_override_settings_reaches_a_client_made_afterwards():
    with override_settings(WAGTAIL_NANOVOD={"API_URL": "http://127.0.0.1:9/", "TIMEOUT": 0.5}):
        client = BintuClient()
        assert client.api_url == "http://127.0.0.1:9"
        assert client.timeout == 0.5
    assert BintuClient().api_url == "https://bintu.nanocosmos.de"


def test_the_key_comes_from_the_environment_when_the_dict_has_none(settings, monkeypatch):
    settings.WAGTAIL_NANOVOD = {}
    monkeypatch.setenv("NANOVOD_API_KEY", "made-up-from-env")
    assert nanovod_settings.API_KEY == "made-up-from-env"
    settings.WAGTAIL_NANOVOD = {"API_KEY": "made-up-from-settings"}
    assert nanovod_settings.API_KEY == "made-up-from-settings"


def test_an_unknown_key_is_an_error_that_names_it(settings):
    settings.WAGTAIL_NANOVOD = {"API_KEY": "made-up", "TIMEOUTT": 3}
    with pytest.raises(ConfigurationError, match="TIMEOUTT"):
        _ = nanovod_settings.TIMEOUT
    assert _check_ids() == ["wagtail_nanovod.E001"]


def test_the_settings_repr_shows_no_value(settings):
    settings.WAGTAIL_NANOVOD = {"API_KEY": "made-up-secret-value"}
    assert "made-up-secret-value" not in repr(nanovod_settings)


def test_a_valid_configuration_passes_the_checks(settings):
    settings.WAGTAIL_NANOVOD = {"API_KEY": "made-up"}
    assert _check_ids() == []


def test_a_missing_key_is_a_check_warning_with_a_hint_not_a_crash(settings, monkeypatch):
    monkeypatch.delenv("NANOVOD_API_KEY", raising=False)
    settings.WAGTAIL_NANOVOD = {}
    messages = [m for m in checks.run_checks() if m.id == "wagtail_nanovod.W001"]
    assert len(messages) == 1
    assert "NANOVOD_API_KEY" in messages[0].hint


@pytest.mark.parametrize(
    ("override", "check_id"),
    [
        ({"TIMEOUT": 0}, "wagtail_nanovod.E002"),
        ({"TIMEOUT": None}, "wagtail_nanovod.E002"),
        ({"TIMEOUT": "5"}, "wagtail_nanovod.E002"),
        ({"REGIONS": {}}, "wagtail_nanovod.E003"),
        ({"REGIONS": {"eu": "not a url"}}, "wagtail_nanovod.E003"),
        ({"DEFAULT_REGION": "mars"}, "wagtail_nanovod.E004"),
        # A token renewed at every render, or one of no life at all.
        ({"TOKEN_SECONDS": 600, "TOKEN_RENEW_SECONDS": 600}, "wagtail_nanovod.E008"),
        ({"TOKEN_SECONDS": 0}, "wagtail_nanovod.E008"),
        ({"TOKEN_RENEW_SECONDS": "60"}, "wagtail_nanovod.E008"),
        # Split into characters, or a directive smuggled in.
        ({"EMBED_FRAME_ANCESTORS": "https://partner.example"}, "wagtail_nanovod.E009"),
        ({"EMBED_FRAME_ANCESTORS": ["https://a.example; script-src *"]}, "wagtail_nanovod.E009"),
    ],
)
def test_unusable_values_are_named_by_a_check(settings, override, check_id):
    settings.WAGTAIL_NANOVOD = {"API_KEY": "made-up", **override}
    assert check_id in _check_ids()
