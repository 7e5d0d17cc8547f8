"""The built package, installed outside the checkout, runs a site: nothing is left out.

Run by ``python3 dev.py test``: builds the sdist and, from it, the wheel; installs the
wheel into a fresh virtual environment in a temporary directory; and there runs
``check``, ``migrate`` and a page render of a small site (one page type with a VOD
block) against a fake bintu. A template, a migration or a static file missing from the
package fails here, not on a user's site.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SITE = """
from pathlib import Path

import django
from django.conf import settings

settings.configure(
    SECRET_KEY="wheel-smoke",
    ALLOWED_HOSTS=["*"],
    INSTALLED_APPS=[
        "smokeapp", "wagtail_nanovod", "wagtail.snippets", "wagtail.images",
        "wagtail.documents", "wagtail.admin", "wagtail.users", "wagtail.sites", "wagtail",
        "taggit", "modelcluster", "django.contrib.auth", "django.contrib.contenttypes",
        "django.contrib.sessions", "django.contrib.messages", "django.contrib.staticfiles",
    ],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3"}},
    TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}],
    STATIC_URL="/static/",
    ROOT_URLCONF="smokeapp.urls",
    USE_TZ=True,
    USE_I18N=True,
    WAGTAILADMIN_BASE_URL="http://testserver",
    WAGTAIL_NANOVOD={"TASK_BACKEND": "default"},
)
django.setup()

from django.core.management import call_command
from django.test import Client
from wagtail.models import Page

import wagtail_nanovod
from wagtail_nanovod.models import VodStream
from wagtail_nanovod.testing import FakeBintu

assert "site-packages" in wagtail_nanovod.__file__, wagtail_nanovod.__file__
call_command("makemigrations", "smokeapp", verbosity=0)
call_command("check", fail_level="ERROR")
call_command("migrate", verbosity=0)
call_command("makemigrations", "wagtail_nanovod", check=True, dry_run=True, verbosity=0)
from smokeapp.models import EventPage
from wagtail_nanovod.resolver import refresh_snippet

with FakeBintu(api_key="made-up-wheel-key") as bintu:
    settings.WAGTAIL_NANOVOD = {**bintu.settings(), "TASK_BACKEND": "default"}
    stream_id = bintu.add_stream()
    bintu.add_recording(stream_id, region="us")
    stream = VodStream.objects.create(stream_id=stream_id, title="Smoke")
    refresh_snippet(stream)
    home = Page.get_first_root_node().get_children().first()
    page = home.add_child(
        instance=EventPage(title="Smoke", slug="smoke", body=[("vod", {"stream": stream})])
    )
    response = Client().get(page.url)
    state = Client().get("/nanovod/state/", {"id": stream_id})
html = response.content.decode()
assert response.status_code == 200, response.status_code
assert 'data-nanovod-state="ready"' in html and 'data-nanovod-region="us"' in html, html
assert state.json()["streams"][stream_id]["state"] == "ready", state.content
# The player script ships inside the package (and the state templates with it).
package = Path(wagtail_nanovod.__file__).parent
assert (package / "static" / "wagtail_nanovod" / "nanovod.js").stat().st_size > 1000
assert (package / "templates" / "wagtail_nanovod" / "states" / "upcoming.html").exists()
assert (package / "static" / "wagtail_nanovod" / "nanovod.css").exists()
# German is compiled into the wheel.
assert (package / "locale" / "de" / "LC_MESSAGES" / "django.mo").exists()
from django.utils import translation

with translation.override("de"):
    german = translation.gettext("Ready")
assert german not in ("", "Ready"), german
print("wheel smoke: check, migrate, a page render, the state endpoint and the German "
      "catalogue of the installed package passed")
"""

# The site's one app: a page type with a VOD block, as a user's site would have.
SMOKEAPP = {
    "__init__.py": "",
    "migrations/__init__.py": "",
    "models.py": (
        "from wagtail.fields import StreamField\n"
        "from wagtail.models import Page\n"
        "from wagtail_nanovod.blocks import VodBlock\n\n\n"
        "class EventPage(Page):\n"
        '    body = StreamField([("vod", VodBlock())], blank=True)\n'
    ),
    "urls.py": (
        "from django.urls import include, path\n"
        "from wagtail import urls as wagtail_urls\n\n"
        "urlpatterns = [\n"
        '    path("nanovod/", include("wagtail_nanovod.urls")),\n'
        '    path("", include(wagtail_urls)),\n'
        "]\n"
    ),
    "templates/smokeapp/event_page.html": (
        "{% load wagtailcore_tags %}<main>{% include_block page.body %}</main>"
    ),
}


def run(command: list[str], cwd: Path) -> None:
    result = subprocess.run(command, cwd=cwd, check=False)
    if result.returncode:
        sys.exit(result.returncode)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="nanovod-wheel-") as tmp:
        work = Path(tmp)
        dist = work / "dist"
        # Without --sdist/--wheel, build makes the sdist and then the wheel from it, as a
        # package index's users get it: a file left out of the sdist fails here too.
        run([sys.executable, "-m", "build", "--outdir", str(dist), str(ROOT)], ROOT)
        (wheel,) = dist.glob("wagtail_nanovod-*.whl")
        venv.create(work / "venv", with_pip=True)
        python = str(work / "venv" / "bin" / "python")
        install = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        run([*install, str(wheel)], work)
        for name, text in SMOKEAPP.items():
            path = work / "smokeapp" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        (work / "site.py").write_text(SITE)
        # Run from the temporary directory: the checkout must not be importable.
        run([python, "site.py"], work)


if __name__ == "__main__":
    main()
