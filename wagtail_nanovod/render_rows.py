"""The snippet rows a page's players need, remembered per process while unchanged.

A page of players asks the database for its streams' ``row_version`` only: a small
integer column, cheaper than the whole rows (a snapshot's JSON, the poster's join and
every timestamp). Whole rows load only for what this process does not remember at
that version, all in one more query; a warm page costs one query however many
players it has.

Each render gets its own copy of a remembered row: a render keeps what it learns in
its instances (a fresher snapshot, decoded captions), and two requests must not share
that.
"""

from __future__ import annotations

import functools
import threading

from django.db.models.signals import post_save, pre_delete
from wagtail.images import get_image_model

from .models import VodStream

#: Rows remembered per process, at most; the oldest is forgotten first. A row is a few
#: kilobytes (its snapshot's JSON mostly), so this stays within a few megabytes.
ROWS_MEMO_SIZE = 2048

_rows: dict[tuple[str, object], VodStream] = {}
_writing = threading.Lock()


def streams_for_render(pks) -> dict[object, VodStream]:
    """The streams with these primary keys that exist, by primary key, each a copy of
    its own: their posters and poster renditions loaded, their captions left out
    (``VodStream.caption_tracks`` loads them for the whole page at once)."""
    versions = _versions().filter(pk__in=pks)
    alias = versions.db
    found, missing = {}, []
    for pk, version in versions:
        row = _rows.get((alias, pk))
        if row is not None and row.row_version == version:
            found[pk] = _copy(row)
        else:
            missing.append(pk)
    if missing:
        loaded = VodStream.objects.for_render().order_by().in_bulk(missing)
        with _writing:
            for pk, row in loaded.items():
                _rows.pop((alias, pk), None)
                if len(_rows) >= ROWS_MEMO_SIZE:
                    del _rows[next(iter(_rows))]
                # What every render asks of a row, worked out once for all its copies.
                row.stream_id_str, row.last_news()
                _rows[(alias, pk)] = row
        found.update((pk, _copy(row)) for pk, row in loaded.items())
    return found


@functools.cache
def _versions():
    # Built once: the clones of building it again cost a page of one player a tenth of
    # its render. Never evaluated itself, only filtered (which copies it).
    return VodStream.objects.order_by().values_list("pk", "row_version")


def _copy(row: VodStream) -> VodStream:
    # By hand: copy.copy goes through pickling's __reduce__, several times slower on a
    # page of fifty. The poster (with its renditions) is shared: nothing writes to it.
    clone = VodStream.__new__(VodStream)
    clone.__dict__.update(row.__dict__)
    state = clone._state = type(row._state)()
    state.db = row._state.db
    state.adding = False
    state.fields_cache = dict(row._state.fields_cache)
    return clone


def _poster_changed(sender, instance, **kwargs) -> None:
    # A remembered row holds its poster and the poster's renditions: an edited or
    # deleted image makes the rows showing it new rows.
    VodStream.objects.filter(poster_id=instance.pk).update()


def connect_signals() -> None:
    """Called by the app's ``ready()``, once the image model is known."""
    image_model = get_image_model()
    post_save.connect(_poster_changed, sender=image_model, dispatch_uid="nanovod-poster-saved")
    pre_delete.connect(_poster_changed, sender=image_model, dispatch_uid="nanovod-poster-gone")
