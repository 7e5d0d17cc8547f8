"""System checks for ``WAGTAIL_NANOVOD``: a broken setting is named at startup, with a hint."""

from __future__ import annotations

from django.conf import settings
from django.core.cache.backends.dummy import DummyCache
from django.core.checks import Error, Tags, Warning, register
from django.urls import NoReverseMatch, reverse
from django.utils.module_loading import import_string
from django_tasks import task_backends

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
    if timeout is None:
        # requests reads None as "wait forever": one hung bintu would hang every render.
        messages.append(
            Error(
                f"{SETTINGS_NAME}['TIMEOUT'] is None: calls to bintu would have no time "
                "limit, and a page could wait on a hung bintu forever.",
                hint=f"Give a number of seconds, or leave it out for the default of "
                f"{DEFAULTS['TIMEOUT']}s.",
                id="wagtail_nanovod.E002",
            )
        )
    elif isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
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
    poll = nanovod_settings.POLL_SECONDS
    if isinstance(poll, bool) or not isinstance(poll, int) or poll < 1:
        messages.append(
            Error(
                f"{SETTINGS_NAME}['POLL_SECONDS'] must be a whole number of seconds, 1 or "
                f"more, not {poll!r}.",
                hint="Every open tab of a page with a live stream asks this often; "
                f"the default is {DEFAULTS['POLL_SECONDS']}.",
                id="wagtail_nanovod.E007",
            )
        )
    messages += _token_timing_errors()
    messages += _frame_ancestor_errors()
    return messages


def _frame_ancestor_errors() -> list:
    """Sources go into the embed page's Content-Security-Policy as they are: a string
    would be split into characters, and a ";" would start a directive of its own."""
    value = nanovod_settings.EMBED_FRAME_ANCESTORS
    if isinstance(value, list | tuple) and all(
        isinstance(source, str) and source.strip() and not set(source) & set(";, \t\n")
        for source in value
    ):
        return []
    return [
        Error(
            f"{SETTINGS_NAME}['EMBED_FRAME_ANCESTORS'] must be a list of CSP sources, "
            f"not {value!r}.",
            hint='Such as ["*"] (any site) or ["https://partner.example", "\'self\'"].',
            id="wagtail_nanovod.E009",
        )
    ]


def _token_timing_errors() -> list:
    """A token must outlive the margin it is renewed at, or every render would renew it."""
    lifetime = nanovod_settings.TOKEN_SECONDS
    renew = nanovod_settings.TOKEN_RENEW_SECONDS
    numbers = all(
        isinstance(value, int | float) and not isinstance(value, bool) and value > 0
        for value in (lifetime, renew)
    )
    if numbers and renew < lifetime:
        return []
    return [
        Error(
            f"{SETTINGS_NAME}['TOKEN_SECONDS'] ({lifetime!r}) and ['TOKEN_RENEW_SECONDS'] "
            f"({renew!r}) must be positive numbers of seconds, the first larger.",
            hint=f"The defaults are {DEFAULTS['TOKEN_SECONDS']} and "
            f"{DEFAULTS['TOKEN_RENEW_SECONDS']}: six hours, renewed with one left.",
            id="wagtail_nanovod.E008",
        )
    ]


@register(Tags.caches, Tags.compatibility)
def check_backends(app_configs=None, **kwargs) -> list:
    """The cache and the task backend named in the settings exist, and the cache caches."""
    try:
        nanovod_settings.user_settings()
    except ConfigurationError:
        return []  # E001 names it; nothing below can be read.

    messages = []
    alias = nanovod_settings.CACHE_ALIAS
    cache_settings = settings.CACHES.get(alias)
    if cache_settings is None:
        messages.append(
            Error(
                f"{SETTINGS_NAME}['CACHE_ALIAS'] {alias!r} is not a cache in settings.CACHES.",
                hint=f"Use one of: {', '.join(settings.CACHES)}, or add {alias!r} to CACHES.",
                id="wagtail_nanovod.E005",
            )
        )
    elif _is_dummy_cache(cache_settings.get("BACKEND", "")):
        messages.append(
            Warning(
                f"The cache {alias!r} is a DummyCache: it caches nothing, so bintu is asked "
                "on every page view and the circuit breaker never opens.",
                hint=f"Point {SETTINGS_NAME}['CACHE_ALIAS'] at a cache shared by all web "
                "processes, such as Redis, Memcached or the database cache.",
                id="wagtail_nanovod.W002",
            )
        )

    task_alias = nanovod_settings.TASK_BACKEND
    if task_alias not in task_backends.settings:
        messages.append(
            Error(
                f"{SETTINGS_NAME}['TASK_BACKEND'] {task_alias!r} is not a task backend in "
                "settings.TASKS: background refreshes cannot be queued.",
                hint=f"Use one of: {', '.join(task_backends.settings)}, or add {task_alias!r} "
                "to TASKS.",
                id="wagtail_nanovod.E006",
            )
        )
    return messages


def _is_dummy_cache(backend_path: str) -> bool:
    try:
        backend = import_string(backend_path)
    except ImportError:
        return False  # Django's own cache checks and startup name a backend that is not there.
    return isinstance(backend, type) and issubclass(backend, DummyCache)


@register(Tags.urls)
def check_urls(app_configs=None, **kwargs) -> list:
    """The player script's endpoints are reachable (``wagtail_nanovod.urls`` included)."""
    try:
        reverse("wagtail_nanovod:state")
    except NoReverseMatch:
        return [
            Warning(
                "wagtail_nanovod.urls is not included in the URLconf: players of upcoming, "
                "live and processing streams will not update by themselves, and click to "
                "load cannot load the player.",
                hint='Add path("nanovod/", include("wagtail_nanovod.urls")) to urlpatterns, '
                "before Wagtail's own URLs.",
                id="wagtail_nanovod.W003",
            )
        ]
    return []
