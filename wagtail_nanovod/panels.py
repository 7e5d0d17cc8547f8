"""The read-only panel of the snippet's edit view: what nanoStream last told us."""

from __future__ import annotations

from django.contrib.admin.utils import quote
from django.urls import reverse
from wagtail.admin.panels import Panel

from .badges import badge
from .columns import whole_seconds
from .models import region_choices
from .playback import played_from
from .player import PlayerOptions, render_player
from .reasons import describe_reason
from .snapshot import playable_recordings, state_of


class StreamStatusPanel(Panel):
    """State, recordings, a player preview and the ingest URLs of the stream being edited.

    Reads the snapshot only: opening the edit view never waits on bintu. On the
    create view there is no snapshot yet, and the panel says so.
    """

    class BoundPanel(Panel.BoundPanel):
        template_name = "wagtail_nanovod/admin/stream_panel.html"

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            stream = self.instance
            if stream is None or stream.pk is None:
                return context
            snapshot = stream.snapshot
            state, reason = state_of(snapshot)
            region_names = dict(region_choices())
            recordings = []
            # Where each plays from, with the region set on the snippet applied, as the
            # player does; the ones this site may not play are left out, as it does.
            for recording in playable_recordings(snapshot.stream):
                code = played_from(recording.url, stream.region)[1]
                recordings.append({"recording": recording, "region": region_names.get(code, code)})
            context.update(
                saved=True,
                stream=stream,
                state=state,
                badge=badge(state, stream.stream_id_str),
                # A failed check is said once, by last_error, not again as the reason.
                reason=describe_reason(reason) if reason and reason != stream.last_error else "",
                last_error=describe_reason(stream.last_error) if stream.last_error else "",
                recordings=recordings,
                synced_at=whole_seconds(stream.synced_at),
                last_error_at=whole_seconds(stream.last_error_at),
                player=render_player(stream, PlayerOptions()),
                ingest=snapshot.stream.ingest_urls() if snapshot.stream else None,
                refresh_url=reverse(
                    type(stream).snippet_viewset.get_url_name("refresh"), args=[quote(stream.pk)]
                ),
            )
            return context
