"""The built wheel, installed outside the checkout, runs a site: templates, migrations ship.

Run by ``python3 dev.py test``: builds the wheel, installs it into a
fresh virtual environment in a temporary directory, and there runs ``manage.py check``,
``migrate`` and a page render of a one-file site against a fake bintu. Anything missing
from the package (a template, a migration, a static file) fails here, not on a user's site.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SITE = """
import sys
import django
from django.conf import settings

settings.configure(
    SECRET_KEY="wheel-smoke",
    INSTALLED_APPS=[
        "wagtail_nanovod", "wagtail.snippets", "wagtail.images", "wagtail.documents",
        "wagtail.admin", "wagtail.users", "wagtail", "taggit", "modelcluster",
        "django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions",
        "django.contrib.messages", "django.contrib.staticfiles",
    ],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3"}},
    TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}],
    STATIC_URL="/static/",
    ROOT_URLCONF=__name__,
    USE_TZ=True,
    WAGTAIL_NANOVOD={"TASK_BACKEND": "default"},
)
urlpatterns = []
django.setup()

from django.core.management import call_command
from django.template import Context, Template
from wagtail_nanovod import __file__ as installed_at
from wagtail_nanovod.testing import FakeBintu

assert "site-packages" in installed_at, installed_at
call_command("check", fail_level="ERROR")
call_command("migrate", verbosity=0)
call_command("makemigrations", "wagtail_nanovod", check=True, dry_run=True)
with FakeBintu(api_key="made-up-wheel-key") as bintu:
    stream_id = bintu.add_stream()
    bintu.add_recording(stream_id, region="us")
    settings.WAGTAIL_NANOVOD = {**bintu.settings(), "TASK_BACKEND": "default"}
    html = Template("{% load wagtail_nanovod_tags %}{% nanovod_player sid %}").render(
        Context({"sid": stream_id})
    )
assert 'data-nanovod-state="ready"' in html and 'data-nanovod-region="us"' in html, html
print("wheel smoke: check, migrate and a render of the installed package passed")
"""


def run(command: list[str], cwd: Path) -> None:
    result = subprocess.run(command, cwd=cwd, check=False)
    if result.returncode:
        sys.exit(result.returncode)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="nanovod-wheel-") as tmp:
        work = Path(tmp)
        dist = work / "dist"
        build = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dist)]
        run([*build, str(ROOT)], ROOT)
        (wheel,) = dist.glob("wagtail_nanovod-*.whl")
        venv.create(work / "venv", with_pip=True)
        python = str(work / "venv" / "bin" / "python")
        install = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        run([*install, str(wheel)], work)
        (work / "site.py").write_text(SITE)
        # Run from the temporary directory: the checkout must not be importable.
        run([python, "site.py"], work)


if __name__ == "__main__":
    main()
