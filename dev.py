#!/usr/bin/env python3
"""The two commands of this repository, on nothing but Python 3.11+.

    python3 dev.py example     run the example site on http://127.0.0.1:8000
    python3 dev.py test        lint, migration check and the whole test suite,
                               on every supported Wagtail version
    python3 dev.py bench       the benchmark against the alternatives (bench/)

Each Wagtail version gets its own virtual environment under ``.venv/``, made and
filled on first use and refilled when ``pyproject.toml`` changes. Anything after
``--`` goes to pytest (``python3 dev.py test --wagtail 8.0 -- -k client``), or to
the benchmark.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
# Wagtail version -> pip requirement; the last one is what the example site runs on.
WAGTAIL_VERSIONS = {"7.4": "wagtail>=7.4,<7.5", "8.0": "wagtail>=8.0,<8.1"}


def environment(wagtail: str, extras: str = "test") -> Path:
    """The virtual environment for one Wagtail version, installed and up to date."""
    requirement = WAGTAIL_VERSIONS[wagtail]
    suffix = "" if extras == "test" else "-" + extras.replace(",", "-")
    home = ROOT / ".venv" / f"wagtail-{wagtail}{suffix}"
    python = home / "bin" / "python"
    stamp = home / ".installed"
    wanted = hashlib.sha256(
        (ROOT / "pyproject.toml").read_bytes() + requirement.encode() + extras.encode()
    ).hexdigest()
    if stamp.exists() and stamp.read_text() == wanted and python.exists():
        return python
    print(f"Installing the {wagtail} environment in {home.relative_to(ROOT)} ...", flush=True)
    if not python.exists():
        venv.create(home, with_pip=True)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    run([*pip, "--upgrade", "pip"])
    run([*pip, "--editable", f".[{extras}]", requirement])
    stamp.write_text(wanted)
    return python


def run(command: list[str], **kwargs) -> None:
    """Run a command in the repository; stop with its exit code if it fails."""
    result = subprocess.run(command, cwd=ROOT, check=False, **kwargs)
    if result.returncode:
        sys.exit(result.returncode)


def test(versions: list[str], pytest_args: list[str]) -> None:
    """Lint once, then the migration check and the suite on each Wagtail version, then
    the built wheel on the newest (skipped when pytest arguments narrow the run)."""
    for position, wagtail in enumerate(versions):
        python = environment(wagtail)
        if position == 0:
            run([str(python), "-m", "ruff", "check", "."])
            run([str(python), "-m", "ruff", "format", "--check", "."])
        print(f"\n=== Wagtail {wagtail} ===", flush=True)
        # Migrations are made on the oldest Wagtail; every version must find nothing to add.
        check_migrations = [str(python), "-m", "django", "makemigrations", "--check", "--dry-run"]
        run(check_migrations, env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"})
        run(
            check_migrations,
            env={
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "demo.settings",
                "PYTHONPATH": "example_site",
            },
        )
        run([str(python), "-m", "pytest", *pytest_args])
        if position == len(versions) - 1 and not pytest_args:
            # Once: the wheel, installed outside the checkout, must run a site by itself.
            run([str(python), "tests/wheel/smoke.py"])


def example(address: str) -> None:
    """Run the example site (see example_site/run.py for what it sets up).

    This process becomes the site's (exec): Ctrl-C or SIGTERM to its process id reach
    run.py, which stops the web server, the worker and the fake bintu it started.
    """
    python = environment(list(WAGTAIL_VERSIONS)[-1])
    os.chdir(ROOT)
    sys.stdout.flush()
    os.execv(python, [str(python), "example_site/run.py", address])  # noqa: S606 (no shell wanted)


def bench(bench_args: list[str]) -> None:
    """Run the benchmark on the newest Wagtail, with wagtailmedia to compare against."""
    python = environment(list(WAGTAIL_VERSIONS)[-1], extras="test,bench")
    run([str(python), "bench/run.py", *bench_args])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    test_parser = commands.add_parser("test", help="lint and run the test suite")
    test_parser.add_argument(
        "--wagtail",
        choices=list(WAGTAIL_VERSIONS),
        action="append",
        help="only this Wagtail version (repeatable); default: all supported",
    )
    example_parser = commands.add_parser("example", help="run the example site")
    example_parser.add_argument("address", nargs="?", default="127.0.0.1:8000")
    commands.add_parser("bench", help="run the benchmark (arguments after -- go to it)")

    argv = sys.argv[1:]
    pytest_args = []
    if "--" in argv:
        pytest_args = argv[argv.index("--") + 1 :]
        argv = argv[: argv.index("--")]
    args = parser.parse_args(argv)
    if args.command == "test":
        test(args.wagtail or list(WAGTAIL_VERSIONS), pytest_args)
    elif args.command == "bench":
        bench(pytest_args)
    else:
        example(args.address)


if __name__ == "__main__":
    main()
