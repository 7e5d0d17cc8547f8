"""``manage.py nanovod_check``: can this site reach bintu? One line per check, in plain words.

Unlike ``manage.py check`` it tries things for real: one call to bintu with the key,
a round trip through the cache, a look at the task backend. It exits non-zero when
anything is wrong, so a deployment can run it as a smoke test.
"""

from __future__ import annotations

import os
import uuid

from django.core.cache import InvalidCacheBackendError, caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.management.base import BaseCommand, CommandError
from django_tasks import task_backends
from django_tasks.backends.dummy import DummyBackend
from django_tasks.backends.immediate import ImmediateBackend
from django_tasks.exceptions import InvalidTaskBackendError

from ... import checks
from ...client import BintuClient
from ...conf import API_KEY_ENVIRON, SETTINGS_NAME, nanovod_settings
from ...exceptions import AuthenticationFailed, BintuError, ConfigurationError

# Each check answers (ok, what was found); a problem says what to do about it.
Result = tuple[bool, str]


def key_source() -> str:
    """Where the API key comes from, in words: never the key, nor its length or any part of it."""
    if nanovod_settings.user_settings().get("API_KEY"):
        return "set (in settings)"
    if os.environ.get(API_KEY_ENVIRON):
        return "set (from the environment)"
    return "missing"


class Command(BaseCommand):
    help = (
        "Check the nanoStream setup: the settings, the API key (one call to bintu), "
        "the cache and the task backend. Exits non-zero when something is wrong."
    )
    # This command is what one runs when the setup is broken: Django's system checks
    # must not stop it before it can say what is wrong.
    requires_system_checks = []

    def handle(self, *args, **options):
        settings_ok, text = self.check_settings()
        results = [("Settings", settings_ok, text)]
        try:
            nanovod_settings.user_settings()
        except ConfigurationError:
            pass  # nothing else can be read: the settings line says why
        else:
            results += [
                ("API key", *self.check_key(settings_ok)),
                ("Cache", *self.check_cache()),
                ("Task backend", *self.check_task_backend()),
            ]
        for label, ok, text in results:
            if ok:
                self.stdout.write(f"{self.style.SUCCESS('ok')}       {label}: {text}")
            else:
                self.stdout.write(f"{self.style.ERROR('problem')}  {label}: {text}")
        problems = sum(1 for _label, ok, _text in results if not ok)
        if problems:
            raise CommandError(
                f"{problems} problem{'s' if problems > 1 else ''} found in the nanoStream setup."
            )
        self.stdout.write("All nanoStream checks passed.")

    def check_settings(self) -> Result:
        """The system checks of the settings themselves (the key and backends have their own)."""
        try:
            nanovod_settings.user_settings()
        except ConfigurationError as exc:
            return False, str(exc)
        errors = [message.msg for message in checks.check_settings() if message.is_serious()]
        if errors:
            return False, " ".join(errors)
        return True, f"{SETTINGS_NAME} is valid."

    def check_key(self, settings_ok: bool) -> Result:
        """One real call to bintu, the smallest there is."""
        source = key_source()
        if source == "missing":
            return False, (
                f"missing. Set the {API_KEY_ENVIRON} environment variable, or "
                f"{SETTINGS_NAME}['API_KEY'] from a secret store."
            )
        if not settings_ok:
            # A broken TIMEOUT or URL would make the call itself fail, or never end.
            return False, f"{source}; not tried with bintu until the settings are fixed."
        try:
            BintuClient().list_streams(quantity=1)
        except AuthenticationFailed as exc:
            return False, (
                f"{source}, but bintu refused it (HTTP {exc.status}). Check it in the "
                "nanoStream dashboard: it must be the organisation's API key."
            )
        except (BintuError, ConfigurationError) as exc:
            # The client's messages never carry the key: see exceptions.py.
            return False, f"{source}, but bintu could not be asked: {exc}."
        return True, f"{source}; bintu at {nanovod_settings.API_URL} accepted it."

    def check_cache(self) -> Result:
        """A set, get and delete on the cache the resolver uses."""
        alias = nanovod_settings.CACHE_ALIAS
        try:
            cache = caches[alias]
        except InvalidCacheBackendError:
            return False, f"{alias!r} is not a cache in settings.CACHES (CACHE_ALIAS)."
        backend = type(cache).__name__
        if isinstance(cache, DummyCache):
            return False, (
                f"{alias!r} is a DummyCache: it caches nothing, so every page view asks "
                "bintu and the circuit breaker never opens. Use a real cache."
            )
        key, value = f"wagtail_nanovod:check:{uuid.uuid4().hex}", uuid.uuid4().hex
        try:
            cache.set(key, value, 30)
            returned = cache.get(key)
            cache.delete(key)
        except Exception as exc:
            # Whatever the backend raised (a Redis that is down, ...) is what this check
            # is here to find out.
            return False, f"{alias!r} ({backend}) failed: {type(exc).__name__}: {exc}"
        if returned != value:
            return False, f"{alias!r} ({backend}) stored a value but did not give it back."
        if isinstance(cache, LocMemCache):
            return True, (
                f"{alias!r} ({backend}) works. It is per process: each web process asks "
                "bintu and counts failures for itself."
            )
        return True, f"{alias!r} ({backend}) works."

    def check_task_backend(self) -> Result:
        """The django-tasks backend that runs background refreshes, and what that means."""
        alias = nanovod_settings.TASK_BACKEND
        if alias not in task_backends.settings:
            return False, (
                f"{alias!r} is not a task backend in settings.TASKS (TASK_BACKEND): "
                "background refreshes cannot be queued."
            )
        try:
            backend = task_backends[alias]
        except InvalidTaskBackendError as exc:
            return False, f"{alias!r} cannot be loaded: {exc}"
        if isinstance(backend, ImmediateBackend):
            return True, (
                f"{alias!r} is the immediate backend: refreshes run in a thread of the web "
                "process that found a stream stale. No worker is needed."
            )
        if isinstance(backend, DummyBackend):
            return False, (
                f"{alias!r} is a DummyBackend: it keeps refreshes and never runs them "
                "(it is meant for tests)."
            )
        name = f"{type(backend).__module__}.{type(backend).__qualname__}"
        return True, (
            f"{alias!r} ({name}) queues refreshes for a worker: make sure one is running."
        )
