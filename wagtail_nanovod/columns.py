"""Columns of the admin's tables of streams (the listing, the chooser)."""

from __future__ import annotations

from wagtail.admin.ui.tables import Column, DateColumn

from .badges import badge
from .snapshot import playable_thumbnail


class StateColumn(Column):
    """A stream's state as its badge (:mod:`wagtail_nanovod.badges`)."""

    cell_template_name = "wagtail_nanovod/admin/state_cell.html"

    def get_cell_context_data(self, instance, parent_context):
        context = super().get_cell_context_data(instance, parent_context)
        context["badge"] = badge(instance.status, instance.stream_id_str)
        return context


class ThumbnailColumn(Column):
    """The stream's poster, else nanoStream's thumbnail, small; no query of its own.

    A poster rendition already made (the player's, say) comes with the row's
    prefetched renditions; without one, the original image is shown scaled down, so a
    page of rows never costs a query per row.
    """

    cell_template_name = "wagtail_nanovod/admin/thumbnail_cell.html"

    def get_cell_context_data(self, instance, parent_context):
        context = super().get_cell_context_data(instance, parent_context)
        context["thumbnail_url"] = thumbnail_url(instance)
        return context


def thumbnail_url(stream) -> str:
    """A small picture of a stream for the admin: its poster, else nanoStream's thumbnail."""
    poster = stream.poster
    if poster is not None:
        renditions = list(poster.renditions.all())  # prefetched (for_listing)
        smallest = min(renditions, key=lambda rendition: rendition.width, default=None)
        return smallest.url if smallest is not None else poster.file.url
    return playable_thumbnail(stream.snapshot.stream)


class LatestRecordingColumn(Column):
    """When the newest recording was made, from the stored snapshot (no query)."""

    cell_template_name = "wagtailadmin/tables/date_cell.html"

    def get_value(self, instance):
        stream = instance.snapshot.stream
        latest = stream.latest_recording if stream is not None else None
        return whole_seconds(latest.created_at if latest is not None else None)


class WholeSecondsDateColumn(DateColumn):
    """Wagtail's DateColumn, its value to the second (see :func:`whole_seconds`)."""

    def get_value(self, instance):
        return whole_seconds(super().get_value(instance))


def whole_seconds(moment):
    """A moment to show in the admin, to the second: Wagtail's date templates write it
    in <time datetime>, where six digits of a second are invalid HTML (the W3C checker)."""
    return moment.replace(microsecond=0) if moment is not None else None
