"""The only settings module of the test suite."""

import os
import tempfile
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent

SECRET_KEY = "tests-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
TIME_ZONE = "UTC"

INSTALLED_APPS = [
    "tests.testapp",
    "wagtail_nanovod",
    "wagtail.sites",
    "wagtail.search",
    "wagtail.api.v2",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.admin",
    "wagtail.users",
    "wagtail",
    "taggit",
    "modelcluster",
    "rest_framework",
    "django_tasks",
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
    # As in Django's project template: pages refuse frames, the embed page must not.
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "tests.urls"

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

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": ":memory:",
        # The test database is a file, not shared memory: background refreshes write from
        # threads of their own, and SQLite's shared-memory mode refuses a second writer at
        # once ("table is locked") where a file makes it wait its turn, as on a site.
        "TEST": {
            "NAME": os.path.join(tempfile.gettempdir(), f"nanovod-tests-{os.getpid()}.sqlite3")
        },
        "OPTIONS": {"timeout": 20},
    }
}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

STATIC_URL = "/static/"
MEDIA_ROOT = BASE_DIR / "media"
MEDIA_URL = "/media/"

WAGTAIL_SITE_NAME = "wagtail-nanovod tests"
WAGTAILADMIN_BASE_URL = "http://testserver"

# Wagtail's own tasks run at once; our background refreshes are only queued, so a
# test runs them when it means to (tests.conftest.run_queued_refreshes).
TASKS = {
    "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"},
    "refresh": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"},
}

# Tests point this at a fake bintu per test; a made-up key, never a real one.
WAGTAIL_NANOVOD = {"API_KEY": "made-up-settings-key", "TASK_BACKEND": "refresh"}
