"""Settings of the example site: SQLite, and bintu real or fake.

With ``NANOVOD_API_KEY`` in the environment the site talks to the real bintu with
the package defaults. Otherwise ``run.py`` starts a fake bintu and hands its
addresses over in ``NANOVOD_FAKE_BINTU``, and plays a live event on it
(``demo/lifecycle.py``, timed by ``NANOVOD_DEMO_LIFECYCLE``).
"""

import json
import os
from pathlib import Path

from demo.lifecycle import MAX_FRESH_SECONDS, Timeline

BASE_DIR = Path(__file__).resolve().parent.parent

# A local demo only: never deploy these three lines.
SECRET_KEY = "example-site-not-secret"  # noqa: S105
DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "home",
    "wagtail_nanovod",
    "django_tasks_db",
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
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
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
    "demo.csp.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "demo.urls"
WSGI_APPLICATION = "demo.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "demo" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("EXAMPLE_SITE_DATABASE", BASE_DIR / "db.sqlite3"),
        # The web server and the task worker write to it at once: wait for each other
        # rather than fail with "database is locked".
        "OPTIONS": {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL;",
        },
    }
}
# Shared by the web server and the task worker (locks, the circuit): a per-process
# LocMem cache would let each ask bintu for itself.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "nanovod_example_cache",
    }
}

# Background refreshes (and Wagtail's own tasks) go to the database and run in the
# worker that run.py starts beside the web server: `manage.py db_worker`.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "static_collected"
STATICFILES_DIRS = [
    # The offline stand-in for nanoStream's H5Live player, demo/nanoplayer-stub.js.
    BASE_DIR / "demo" / "static",
    # The clip it loops, the same the fake bintu serves as the live event's recording.
    ("demo/clips", BASE_DIR / "demo" / "clips"),
]
MEDIA_URL = "/media/"
# Uploaded images (the demo's posters); a test moves them to a temporary folder.
MEDIA_ROOT = os.environ.get("EXAMPLE_SITE_MEDIA", BASE_DIR / "media")

WAGTAIL_SITE_NAME = "wagtail-nanovod example"
# run.py passes on the address it serves, for absolute links (userbar, notifications).
WAGTAILADMIN_BASE_URL = "http://" + os.environ.get("EXAMPLE_SITE_ADDRESS", "127.0.0.1:8000")
# Offline all the way: Wagtail's own avatar, not one fetched from gravatar.com, and no
# question to Wagtail's release server from the admin's dashboard.
WAGTAIL_GRAVATAR_PROVIDER_URL = None
WAGTAIL_ENABLE_UPDATE_CHECK = False

# A demo is watched, not left open for hours: a live stream's page follows bintu within
# seconds (the package defaults, 30 s and 15 s, spare bintu and the site on a busy day).
live_event_timings = {
    "ACTIVE_FRESH_SECONDS": MAX_FRESH_SECONDS,
    "POLL_SECONDS": MAX_FRESH_SECONDS,
}

if os.environ.get("NANOVOD_API_KEY"):
    # The real bintu: the package defaults (the real H5Live player among them), the key
    # from the environment.
    WAGTAIL_NANOVOD = {**live_event_timings}
elif os.environ.get("NANOVOD_FAKE_BINTU"):
    # Shorter still when the live event is timed shorter (a test): each of its phases
    # must be noticed, so it is asked about a few times per phase.
    fresh_seconds = Timeline.from_environ().fresh_seconds
    WAGTAIL_NANOVOD = {
        **json.loads(os.environ["NANOVOD_FAKE_BINTU"]),
        **dict.fromkeys(live_event_timings, fresh_seconds),
        # Offline, nanoStream's player cannot load: a stand-in with the same API loops a
        # local clip under a "LIVE (simulated)" badge.
        "H5LIVE_SCRIPT_URL": STATIC_URL + "demo/nanoplayer-stub.js",
        # The demo organisation requires secure playback: its live streams play with a
        # token from the fake's token service (TOKEN_URL above), which the stand-in checks.
        "SECURE_PLAYBACK": True,
    }
else:
    # manage.py run by hand with neither: the system check says what is missing.
    WAGTAIL_NANOVOD = {}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "wagtail_nanovod": {"handlers": ["console"], "level": "INFO"},
        # The live event's steps (demo/lifecycle.py), to follow in the terminal.
        "demo": {"handlers": ["console"], "level": "INFO"},
    },
}
