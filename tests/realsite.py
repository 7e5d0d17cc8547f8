"""A test site in a process of its own: migrate it, give it content, or serve it.

Run by tests/test_real_services.py, so that several processes can share a database
and a cache as the web servers of a real site do::

    python -m tests.realsite migrate
    python -m tests.realsite serve
    python -m tests.realsite serve '{"pages": {"event": [STREAM_ID, ...]}, "synced": [...]}'
    python -m tests.realsite manage nanovod_sync --stream STREAM_ID

The last one first gives the database content (see :func:`seed`), then serves it.

The settings are those of tests/settings.py (the suite's only settings module), with
these taken from the environment:

- ``NANOVOD_TEST_DATABASE_URL``: ``sqlite:///ABSOLUTE/PATH`` or
  ``postgresql://USER@HOST:PORT/NAME`` (trust authentication, no password);
- ``NANOVOD_TEST_CACHE_URL``: ``redis://HOST:PORT/DB`` for Django's RedisCache, or
  ``locmem://`` (the default) for a cache of the process's own;
- ``NANOVOD_FAKE_BINTU``: JSON merged into ``WAGTAIL_NANOVOD`` (the fake bintu's
  addresses and key, and the timings a test wants), as example_site/run.py passes it.
"""

import json
import os
import sys
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import django
from django.conf import settings
from django.core.management import call_command

from tests import settings as test_settings


def _database(url: str) -> dict:
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        # A server's requests and its background refreshes write at once: they wait
        # for each other rather than fail with "database is locked".
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": parts.path,
            "OPTIONS": {"timeout": 20},
        }
    if parts.scheme == "postgresql":
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": parts.path.lstrip("/"),
            "USER": parts.username,
            "HOST": parts.hostname,
            "PORT": parts.port,
        }
    sys.exit(f"NANOVOD_TEST_DATABASE_URL: unknown scheme {parts.scheme!r}")


def _cache(url: str) -> dict:
    scheme = urlsplit(url).scheme
    if scheme == "redis":
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    if scheme == "locmem":
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    sys.exit(f"NANOVOD_TEST_CACHE_URL: unknown scheme {scheme!r}")


def configure() -> None:
    """Django's settings: the test settings with the environment's database, cache and bintu."""
    base = {name: getattr(test_settings, name) for name in dir(test_settings) if name.isupper()}
    settings.configure(
        **{
            **base,
            "DATABASES": {"default": _database(os.environ["NANOVOD_TEST_DATABASE_URL"])},
            "CACHES": {"default": _cache(os.environ.get("NANOVOD_TEST_CACHE_URL", "locmem://"))},
            # Background refreshes as on a site without a worker: the immediate backend,
            # which the package turns into a thread of the web server process.
            "WAGTAIL_NANOVOD": {
                **base["WAGTAIL_NANOVOD"],
                **json.loads(os.environ.get("NANOVOD_FAKE_BINTU", "{}")),
                "TASK_BACKEND": "default",
            },
            # The package's warnings (failed fetches, the circuit opening) in the
            # server's log, where the tests read which process did what.
            "LOGGING": {
                "version": 1,
                "disable_existing_loggers": False,
                "handlers": {"console": {"class": "logging.StreamHandler"}},
                "loggers": {"wagtail_nanovod": {"handlers": ["console"], "level": "INFO"}},
            },
        }
    )
    django.setup()


def migrate() -> None:
    """Create the tables, as ``manage.py migrate`` does."""
    call_command("migrate", interactive=False, verbosity=0)


def seed(pages: dict[str, list[str]], synced=(), stale=()) -> None:
    """Snippets, and a published EventPage at ``/SLUG/`` with a VOD block per stream.

    ``synced`` streams are fetched from bintu once, as an editor's save does; of those,
    ``stale`` ones then have a snapshot past its freshness. The cache is emptied at
    the end, so that what the servers know comes from the database alone.
    """
    from django.core.cache import caches
    from wagtail.models import Page

    from tests.testapp.models import EventPage
    from wagtail_nanovod.models import VodStream
    from wagtail_nanovod.resolver import refresh_snippet

    home = Page.get_first_root_node().get_children().first()
    for slug, stream_ids in pages.items():
        snippets = [
            VodStream.objects.get_or_create(stream_id=sid, defaults={"title": f"Talk {sid}"})[0]
            for sid in stream_ids
        ]
        body = [{"type": "vod", "value": {"stream": snippet.pk}} for snippet in snippets]
        page = home.add_child(instance=EventPage(title=slug.title(), slug=slug, body=body))
        page.save_revision().publish()
    for snippet in VodStream.objects.filter(stream_id__in=synced):
        refresh_snippet(snippet)  # the fetch stores the snapshot on the row
    past = datetime.now(UTC) - timedelta(minutes=1)
    VodStream.objects.filter(stream_id__in=stale).update(fresh_until=past)
    caches["default"].clear()


def serve() -> None:
    """Serve the site on a free port of 127.0.0.1, threaded, until terminated.

    Django's own threaded server (the one runserver uses), minus the autoreloader and
    the checks. The server picks its port and prints it, so there is no race for one.
    """
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application

    class Server(ThreadedWSGIServer):
        # Forty visitors at once: more than socketserver's default backlog of five.
        request_queue_size = 128

    server = Server(("127.0.0.1", 0), WSGIRequestHandler)
    server.set_app(get_wsgi_application())
    print(f"serving on http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    configure()
    match sys.argv[1:]:
        case ["migrate"]:
            migrate()
        case ["serve"]:
            serve()
        case ["serve", spec]:
            # Seeding here rather than in a process of its own saves a Django start-up
            # (over a second) per test.
            seed(**json.loads(spec))
            serve()
        case ["manage", *command]:
            # A management command, as an operator runs it beside the web servers.
            call_command(*command)
        case _:
            sys.exit(
                "usage: python -m tests.realsite migrate | serve [SEED_JSON] | manage COMMAND ..."
            )
