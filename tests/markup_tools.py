"""The markup checkers sites use, run as they are: the W3C Nu Html Checker and axe-core.

Both come from npm into ``tests/tools/node_modules`` (``npm ci --prefix tests/tools``,
which ``.ci/run`` does), the checker on Debian's Java. Missing, they skip the tests that
need them (fail them under ``CI=true``), as the other services do.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.services import missing, require

TOOLS = Path(__file__).resolve().parent / "tools" / "node_modules"
VNU_JAR = TOOLS / "vnu-jar" / "build" / "dist" / "vnu.jar"
AXE_JS = TOOLS / "axe-core" / "axe.min.js"
INSTALL = "npm ci --prefix tests/tools"


def nu_errors(documents: dict[str, str], tmp_path: Path) -> list[str]:
    """The W3C Nu checker's errors for HTML documents (name to markup), one JVM for all,
    each as "name:line: message: extract"."""
    java = require("java")
    if not VNU_JAR.exists():
        missing("the W3C Nu Html Checker (vnu-jar)", INSTALL)
    files = {}
    for name, html in documents.items():
        path = tmp_path / (name.strip("/").replace("/", "_") or "index")
        path = path.with_suffix(".html")
        path.write_text(html)
        files[path] = name
    result = subprocess.run(
        [str(java), "-jar", str(VNU_JAR), "--format", "json", "--exit-zero-always",
         "--stdout", *files],
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    return [
        f"{_name(files, m.get('url', ''))}:{m.get('lastLine')}: {m['message']}: "
        f"{(m.get('extract') or '').strip()}"
        for m in json.loads(result.stdout)["messages"]
        if m.get("type") == "error"
    ]


def _name(files: dict[Path, str], url: str) -> str:
    for path, name in files.items():
        if url.endswith(path.name):
            return name
    return url


def axe_source() -> str:
    """axe-core's script, to evaluate in a page (through the DevTools protocol, which a
    page's Content-Security-Policy does not govern)."""
    if not AXE_JS.exists():
        missing("axe-core", INSTALL)
    return AXE_JS.read_text()


# Every rule of WCAG 2.0 to 2.2, A and AA, and axe's best practices, on the whole page or
# on the elements that match `include`.
AXE_RUN = """async ([include]) => {
    const context = include ? {include: [...document.querySelectorAll(include)]} : document;
    const result = await axe.run(context, {resultTypes: ["violations"]});
    return result.violations.map(v => ({
        id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.map(n => n.target.join(" ") + " " + n.html.slice(0, 160)),
    }));
}"""


def axe_violations(page, include: str | None = None) -> list[dict]:
    """axe-core's violations on ``page`` (a Playwright page), or within ``include``."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source())
    return page.evaluate(AXE_RUN, [include])
