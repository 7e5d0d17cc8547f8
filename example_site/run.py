"""Run the example site in one go: bintu (fake or real), migrations, demo content, server.

Called by ``python3 dev.py example``. Without ``NANOVOD_API_KEY`` it starts the fake
bintu from ``wagtail_nanovod.testing`` on free ports of 127.0.0.1, seeded with the
demo streams and their clips (``demo/clips/``), so everything plays offline, and
plays a live event on it (``demo/lifecycle.py``): upcoming, live, processing, then
its recording, timed by ``NANOVOD_DEMO_LIFECYCLE`` ("20,45,25" seconds by default).
With the key it talks to the real bintu, where the made-up demo ids are simply not
found.
"""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo.settings")


def main(address: str) -> None:
    # Line by line, so what is printed here and what is logged keep their order in a pipe.
    sys.stdout.reconfigure(line_buffering=True)
    # Stopped with SIGTERM (the tests, a process manager), Python would end at once and skip
    # the finally below, leaving the worker running: exit as on Ctrl-C instead.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    os.environ["EXAMPLE_SITE_ADDRESS"] = address
    fake = live_event = None
    if os.environ.get("NANOVOD_API_KEY"):
        print("NANOVOD_API_KEY is set: using the real bintu.")
    else:
        from demo import lifecycle
        from demo.streams import LIFECYCLE, seed

        from wagtail_nanovod.testing import FakeBintu

        fake = FakeBintu(api_key="made-up-demo-key").start()
        seed(fake)
        # Upcoming for load_demo to find; its clock starts once the content is there.
        live_event = lifecycle.install(fake, LIFECYCLE.stream_id)
        # Read by demo/settings.py; new ports on every run, which load_demo catches up with.
        os.environ["NANOVOD_FAKE_BINTU"] = json.dumps(fake.settings())
        print(f"No NANOVOD_API_KEY: using a fake bintu at {fake.api_url}.")
        hosts = ", ".join(f"{region} {url}" for region, url in fake.region_urls.items())
        print(f"Recordings are served by one fake host per region: {hosts}.")
        print(f"Secure playback tokens come from a fake token service at {fake.token_url}.")

    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)
    call_command("load_demo")
    if live_event:
        live_event.start()
        print(
            f"The live event at http://{address}/live-event/ starts now: "
            f"{live_event.timeline.describe()}."
        )
    # The task worker, as a site runs it beside its web servers: stale streams are
    # refreshed there while pages keep rendering from their snapshots.
    worker = subprocess.Popen(
        # No reloader (DEBUG turns it on): its parent would pass terminate() on to nobody.
        [sys.executable, str(HERE / "manage.py"), "db_worker", "--interval", "1", "--no-reload"],
        cwd=HERE,
        env=os.environ.copy(),
    )
    print(
        f"Open http://{address}/ (admin: http://{address}/admin/). Ctrl-C, or SIGTERM to "
        f"process {os.getpid()}, stops the site, its worker and the fake bintu."
    )
    try:
        # No reloader: it would start a second process without the fake bintu.
        call_command("runserver", address, use_reloader=False)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        if live_event:
            live_event.stop()
        if fake:
            fake.stop()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:8000")
