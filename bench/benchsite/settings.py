"""Settings of the benchmark site; ``bench/run.py`` fills the environment variables first.

``BENCH_DIR`` is a fresh temporary directory (the SQLite file and uploaded media)
and ``BENCH_BINTU`` the ``WAGTAIL_NANOVOD`` dict of a running fake bintu, as JSON.
"""

import importlib.util
import json
import os
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK_DIR = Path(os.environ["BENCH_DIR"])

SECRET_KEY = "benchmark-only-not-secret"  # noqa: S105
# DEBUG off: Django would otherwise keep every query, and time with it.
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
TIME_ZONE = "UTC"

#: The comparison with wagtailmedia is made only where it is installed (the bench extra).
HAS_WAGTAILMEDIA = importlib.util.find_spec("wagtailmedia") is not None

INSTALLED_APPS = [
    "benchsite",
    "wagtail_nanovod",
    *(["wagtailmedia"] if HAS_WAGTAILMEDIA else []),
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "django_tasks",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
]

# What a typical Wagtail site runs for a page view; the same for every kind of block.
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "benchsite.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

# A file, not ":memory:": the threaded server of the herd test needs one database
# shared by its threads. WAL lets readers go on while a snapshot is written, and the
# timeout makes a writer wait for another instead of failing.
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": WORK_DIR / "bench.sqlite3",
        "OPTIONS": {
            "timeout": 30,
            "init_command": "PRAGMA journal_mode=WAL;",
            "transaction_mode": "IMMEDIATE",
        },
    }
}

# One LocMem cache for everything (ours, Wagtail's), counting what would be round trips
# to a networked cache.
CACHES = {"default": {"BACKEND": "tests.counting_cache.CountingCache"}}

# Refreshes are queued and never run, so that nothing but the page itself is measured;
# Wagtail's own tasks (search index, references) run at once, as by default.
TASKS = {
    "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"},
    "refresh": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"},
}

WAGTAIL_NANOVOD = {
    **json.loads(os.environ["BENCH_BINTU"]),
    "TASK_BACKEND": "refresh",
    # Long enough that snapshots made at the start stay fresh for the whole run.
    "FRESH_SECONDS": 24 * 3600,
    "ACTIVE_FRESH_SECONDS": 24 * 3600,
}

MEDIA_ROOT = WORK_DIR / "media"
MEDIA_URL = "/media/"
STATIC_URL = "/static/"

WAGTAIL_SITE_NAME = "wagtail-nanovod benchmark"
WAGTAILADMIN_BASE_URL = "http://testserver"

# The outage scenarios log one warning per stream by design; the table is the output.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "ERROR"},
    # The herd's server would log each of its requests.
    "loggers": {"django.server": {"level": "ERROR"}},
}

# The bench app's migrations are made afresh in the temporary directory on every run
# (bench/run.py), so that nothing generated is kept in the repository.
MIGRATION_MODULES = {"benchsite": "benchsite_migrations"}
