"""``crowd_seed``: migrate the crowd's database and register its streams, synced once.

Run by bench/crowd.py with ``benchsite.crowd_settings``, before the server starts; the
streams themselves were added to the fake bintu in the bench's own process.
"""

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from wagtail_nanovod.models import VodStream
from wagtail_nanovod.resolver import refresh_snippet


class Command(BaseCommand):
    help = "Migrate, then register each stream as a snippet and sync it, as an editor's save does."

    def add_arguments(self, parser):
        parser.add_argument("stream_ids", nargs="+", metavar="STREAM_ID")

    def handle(self, *args, stream_ids, **options):
        call_command("migrate", interactive=False, verbosity=0)
        for n, stream_id in enumerate(stream_ids):
            snippet = VodStream.objects.create(stream_id=stream_id, title=f"Talk {n}")
            refresh_snippet(snippet)
            # A warm event: the crowd must never be the first to ask about a stream.
            if not snippet.is_known():
                raise CommandError(f"stream {stream_id}: bintu's answer was not stored")
