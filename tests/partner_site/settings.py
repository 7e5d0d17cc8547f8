"""Settings of the partner site: the least Django and Wagtail need for ``wagtail.embeds``.

From the environment (set by the test that starts the site):

- ``PARTNER_SITE_DATABASE``: the SQLite file, in a temporary folder of the test;
- ``PARTNER_SITE_PROVIDER``: the example site's base URL (``http://127.0.0.1:<port>``),
  whose oEmbed endpoint this site asks about that site's URLs.
"""

import os
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROVIDER = os.environ["PARTNER_SITE_PROVIDER"].rstrip("/")

# A throwaway test site on 127.0.0.1: never deploy these three lines. DEBUG for the
# tracebacks in the log the test shows when something fails.
SECRET_KEY = "partner-site-not-secret"
DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    # The embed finders, the {% embed %} tag, and the Embed model caching their answers.
    "wagtail.embeds",
    # Wagtail's core, which wagtail.embeds builds on, and what its models need.
    "wagtail",
    "modelcluster",
    "taggit",
    "django.contrib.auth",
    "django.contrib.contenttypes",
]

# Nothing more: one public page, no sessions, no forms, no admin.
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]

ROOT_URLCONF = "tests.partner_site.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [HERE / "templates"],
        # The template tag libraries (wagtailembeds_tags) come from the installed apps.
        "APP_DIRS": False,
    }
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ["PARTNER_SITE_DATABASE"],
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

LANGUAGE_CODE = "en-us"
USE_TZ = True

WAGTAIL_SITE_NAME = "Partner site"

# The example site as an oEmbed provider, as Wagtail's documentation configures a custom
# one: its endpoint, and the URLs it is asked about (any path of the site). Only the
# oEmbed finder, so no other provider (YouTube, Vimeo...) is ever asked.
WAGTAILEMBEDS_FINDERS = [
    {
        "class": "wagtail.embeds.finders.oembed",
        "providers": [
            {
                "endpoint": f"{PROVIDER}/nanovod/oembed/",
                "urls": [f"^{re.escape(PROVIDER)}/.+$"],
            }
        ],
    }
]
