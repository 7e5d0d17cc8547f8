"""German is shipped whole: every string the package marks has a German translation,
compiled. Run with GNU gettext (Debian's ``gettext``), as Django's makemessages is."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.services import require

PACKAGE = Path(__file__).resolve().parents[1] / "wagtail_nanovod"
CATALOGUE = PACKAGE / "locale" / "de" / "LC_MESSAGES"


def _entries(po: str) -> dict[str, str]:
    """msgid -> msgstr of a .po file (plurals: the first form), the header left out; an
    entry marked fuzzy counts as untranslated."""
    entries = {}
    for block in po.split("\n\n"):
        if "#, fuzzy" in block:
            continue
        msgid = _joined(block, "msgid")
        msgstr = _joined(block, "msgstr") or _joined(block, r"msgstr\[0\]")
        if msgid:
            entries[msgid] = msgstr
    return entries


def _joined(block: str, keyword: str) -> str:
    found = re.search(rf'^{keyword} ((?:".*"\n?)+)', block, re.M)
    return "".join(re.findall(r'"(.*)"', found.group(1))) if found else ""


def test_every_marked_string_has_its_german_translation(tmp_path):
    require("xgettext")
    copy = tmp_path / "wagtail_nanovod"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    # What makemessages finds in the code now, merged into the catalogue as it is.
    subprocess.run(
        [sys.executable, "-m", "django", "makemessages", "-l", "de", "--no-location",
         "--no-obsolete"],
        cwd=copy, check=True, capture_output=True, env={"PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    found = _entries((copy / "locale/de/LC_MESSAGES/django.po").read_text())
    assert len(found) > 150
    assert [msgid for msgid, msgstr in found.items() if not msgstr] == []


def test_the_compiled_catalogue_is_the_catalogue(tmp_path):
    msgfmt = require("msgfmt")
    compiled = tmp_path / "django.mo"
    subprocess.run(
        [str(msgfmt), "--check", "-o", str(compiled), str(CATALOGUE / "django.po")], check=True
    )
    assert compiled.read_bytes() == (CATALOGUE / "django.mo").read_bytes()
