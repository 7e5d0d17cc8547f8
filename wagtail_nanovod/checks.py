"""System checks for ``WAGTAIL_NANOVOD``: a broken setting is named at startup, with a hint."""

from __future__ import annotations

from django.core.checks import Error, Tags, Warning, register

from .conf import API_KEY_ENVIRON, DEFAULTS, SETTINGS_NAME, nanovod_settings
from .exceptions import ConfigurationError
from .regions import origin


@register(Tags.compatibility)
def check_settings(app_configs=None, **kwargs) -> list:
    """Unknown keys, unusable values and a missing API key."""
    try:
        nanovod_settings.user_settings()
    except ConfigurationError as exc:
        return [
            Error(
                str(exc),
                hint=f"Remove the key or fix its spelling in settings.{SETTINGS_NAME}.",
                id="wagtail_nanovod.E001",
            )
        ]

    messages = []
    if not nanovod_settings.API_KEY:
        messages.append(
            Warning(
                "No bintu API key is configured: streams cannot be resolved.",
                hint=(
                    f"Set the {API_KEY_ENVIRON} environment variable, or "
                    f"{SETTINGS_NAME}['API_KEY'] from a secret store (not in the code)."
                ),
                id="wagtail_nanovod.W001",
            )
        )

    timeout = nanovod_settings.TIMEOUT
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        messages.append(
            Error(
                f"{SETTINGS_NAME}['TIMEOUT'] must be a positive number of seconds, "
                f"not {timeout!r}.",
                hint=f"Leave it out for the default of {DEFAULTS['TIMEOUT']}s.",
                id="wagtail_nanovod.E002",
            )
        )

    regions = nanovod_settings.REGIONS
    if not isinstance(regions, dict) or not regions:
        messages.append(
            Error(
                f"{SETTINGS_NAME}['REGIONS'] must be a non-empty dict of region code to URL.",
                id="wagtail_nanovod.E003",
            )
        )
    else:
        for code, base_url in regions.items():
            if not isinstance(base_url, str) or origin(base_url) is None:
                messages.append(
                    Error(
                        f"{SETTINGS_NAME}['REGIONS'][{code!r}] is not a URL: {base_url!r}.",
                        hint="Give the scheme and host, such as https://bintu-vod-eu.nanocosmos.de.",
                        id="wagtail_nanovod.E003",
                    )
                )
        if nanovod_settings.DEFAULT_REGION not in regions:
            messages.append(
                Error(
                    f"{SETTINGS_NAME}['DEFAULT_REGION'] {nanovod_settings.DEFAULT_REGION!r} "
                    "is not one of the REGIONS.",
                    hint=f"Use one of: {', '.join(regions)}.",
                    id="wagtail_nanovod.E004",
                )
            )
    return messages
