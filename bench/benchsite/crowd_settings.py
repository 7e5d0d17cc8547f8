"""Settings of the crowd (bench/crowd.py): the bench site as a deployment runs it.

The bench settings, with PostgreSQL, Redis and background refreshes in the web process.
``bench/crowd.py`` fills these besides ``BENCH_DIR`` and ``BENCH_BINTU``:

- ``BENCH_POSTGRESQL``: ``postgresql://USER@HOST:PORT/NAME`` (trust authentication);
- ``BENCH_REDIS``: ``redis://HOST:PORT/DB``;
- ``BENCH_ACTIVE_FRESH_SECONDS``: the ``ACTIVE_FRESH_SECONDS`` of the run.
"""

import os
from urllib.parse import urlsplit

from .settings import *  # noqa: F403
from .settings import MIDDLEWARE, WAGTAIL_NANOVOD

_database = urlsplit(os.environ["BENCH_POSTGRESQL"])

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": _database.path.lstrip("/"),
        "USER": _database.username,
        "HOST": _database.hostname,
        "PORT": _database.port,
        # Persistent connections, as a site on PostgreSQL keeps them: connecting anew
        # for each request would cost more than anything measured here.
        "CONN_MAX_AGE": 600,
    }
}

# Django's own Redis backend, counting its round trips (benchsite/counting.py).
CACHES = {
    "default": {
        "BACKEND": "benchsite.counting.CountingRedisCache",
        "LOCATION": os.environ["BENCH_REDIS"],
    }
}

# Refreshes as on a site without a task worker: the immediate backend, which the
# package turns into a small pool of threads of the web process (wagtail_nanovod/tasks.py).
TASKS = {
    "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"},
    "refresh": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"},
}

WAGTAIL_NANOVOD = {
    **WAGTAIL_NANOVOD,
    "ACTIVE_FRESH_SECONDS": int(os.environ["BENCH_ACTIVE_FRESH_SECONDS"]),
}

MIDDLEWARE = ["benchsite.counting.CountingMiddleware", *MIDDLEWARE]

ROOT_URLCONF = "benchsite.crowd_urls"
