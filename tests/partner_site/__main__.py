"""Run the partner site: migrate its database, then serve on the address given.

``python -m tests.partner_site 127.0.0.1:<port>``, from the repository's root.
"""

import os
import signal
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.partner_site.settings")


def main(address: str) -> None:
    # Line by line, so the log the test shows on failure is complete.
    sys.stdout.reconfigure(line_buffering=True)
    # Stopped with SIGTERM by the test: exit as on Ctrl-C.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))

    # Another site: it must not lean on the package under test, not even by accident
    # (the virtualenv has it installed). Any import of it fails from here on.
    sys.modules["wagtail_nanovod"] = None

    import django
    from django.core.management import call_command

    django.setup()
    # wagtail.embeds keeps each answer in its Embed table: the database needs it.
    call_command("migrate", interactive=False, verbosity=0)
    print(f"Partner site at http://{address}/", flush=True)
    # No reloader: its second process would be one the test cannot stop.
    call_command("runserver", address, use_reloader=False)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:8001")
