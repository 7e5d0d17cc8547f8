"""Columns of the admin's tables of streams (the listing, the chooser)."""

from __future__ import annotations

from wagtail.admin.ui.tables import Column

from .badges import badge


class StateColumn(Column):
    """A stream's state as its badge (:mod:`wagtail_nanovod.badges`)."""

    cell_template_name = "wagtail_nanovod/admin/state_cell.html"

    def get_cell_context_data(self, instance, parent_context):
        context = super().get_cell_context_data(instance, parent_context)
        context["badge"] = badge(instance.status)
        return context
