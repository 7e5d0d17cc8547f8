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

import threading

from django.db import connections, router
from django.db.models.signals import post_delete, post_save, pre_delete
from wagtail.images import get_image_model

from .models import VodStream, new_row_version

#: Rows remembered per process, at most; the oldest is forgotten first. A row is a few
#: kilobytes (its snapshot's JSON mostly), so this stays within a few megabytes.
ROWS_MEMO_SIZE = 2048

_rows: dict[tuple[str, object], VodStream] = {}
_VERSION_COLUMN = VodStream._meta.get_field("row_version").column
_writing = threading.Lock()


def streams_for_render(pks) -> dict[object, VodStream]:
    """The streams with these primary keys that exist, by primary key, each a copy of
    its own: their posters and poster renditions loaded, their captions left out
    (``VodStream.caption_tracks`` loads them for the whole page at once)."""
    alias = router.db_for_read(VodStream)
    found, missing = {}, []
    for pk, version in _versions(alias, pks):
        row = _rows.get((alias, pk))
        if row is not None and row.row_version == version:
            found[pk] = _copy(row)
        else:
            missing.append(pk)
    if missing:
        loaded = VodStream.objects.using(alias).for_render().order_by().in_bulk(missing)
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


def _versions(alias: str, pks) -> list[tuple[object, int]]:
    """(primary key, row_version) of the rows with these primary keys.

    In SQL of our own: building and compiling the ORM's query cost a page of one player
    eight times what the database takes to answer it (93 µs against 12 in the benchmark),
    more than the simplest snippet block's whole render. Two columns of this package's
    own table, the database the router reads from, standard SQL, values converted by the
    primary key field as the ORM would.
    """
    if not pks:
        return []
    connection = connections[alias]
    meta = VodStream._meta
    quote = connection.ops.quote_name
    values = [meta.pk.get_db_prep_value(pk, connection) for pk in pks]
    # As many parameters per query as the database takes (SQLite: 999 in old builds).
    size = connection.features.max_query_params or len(values) or 1
    rows: list[tuple[object, int]] = []
    with connection.cursor() as cursor:
        for start in range(0, len(values), size):
            chunk = values[start : start + size]
            cursor.execute(
                f"SELECT {quote(meta.pk.column)}, {quote(_VERSION_COLUMN)} "  # noqa: S608
                f"FROM {quote(meta.db_table)} "
                f"WHERE {quote(meta.pk.column)} IN ({', '.join(['%s'] * len(chunk))})",
                chunk,
            )
            rows.extend(cursor.fetchall())
    return rows


def _copy(row: VodStream) -> VodStream:
    # By hand: copy.copy goes through pickling's __reduce__, several times slower on a
    # page of fifty. The poster (with its renditions) is shared and only read: a missing
    # rendition is made on an instance of its own (see player.rendition_url).
    clone = type(row).__new__(type(row))
    clone.__dict__.update(row.__dict__)
    state = clone._state = type(row._state)()
    state.db = row._state.db
    state.adding = False
    state.fields_cache = dict(row._state.fields_cache)
    return clone


def _renew_rows_showing(image_id) -> None:
    """The rows whose poster is this image are new rows to a render: a remembered row
    holds its poster and the poster's renditions. Not a state change: the state
    endpoint's answers stay (the base manager skips VodStreamQuerySet.update)."""
    VodStream._base_manager.filter(poster_id=image_id).update(row_version=new_row_version())


def _image_changed(sender, instance, **kwargs) -> None:
    _renew_rows_showing(instance.pk)


def _rendition_changed(sender, instance, **kwargs) -> None:
    # Made, replaced or deleted (a purge, a new file): the remembered list is wrong.
    _renew_rows_showing(instance.image_id)


def connect_signals() -> None:
    """Called by the app's ``ready()``, once the image model is known."""
    image_model = get_image_model()
    rendition_model = image_model.get_rendition_model()
    post_save.connect(_image_changed, sender=image_model, dispatch_uid="nanovod-poster-saved")
    pre_delete.connect(_image_changed, sender=image_model, dispatch_uid="nanovod-poster-gone")
    for signal, uid in ((post_save, "saved"), (post_delete, "deleted")):
        signal.connect(
            _rendition_changed, sender=rendition_model, dispatch_uid=f"nanovod-rendition-{uid}"
        )
