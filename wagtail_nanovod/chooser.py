"""The block's stream chooser: streams told apart at a glance, found by title, tag, ID or a
pasted dashboard URL, filtered by state.

A page of results costs a fixed number of queries (the count, the rows with their
posters, the posters' renditions) and never asks bintu: what the rows show comes from
their stored snapshots.
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from wagtail.admin.ui.tables import Column
from wagtail.snippets.views.chooser import (
    ChooseResultsView,
    ChooseView,
    SnippetChooserViewSet,
)

from .columns import LatestRecordingColumn, StateColumn, ThumbnailColumn
from .models import STATUS_CHOICES


class StreamFilterForm(forms.Form):
    """The chooser's search box and state filter (the names Wagtail's chooser script uses)."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        widget=forms.TextInput(
            attrs={"placeholder": _("Title, tag, stream ID or dashboard address")}
        ),
    )
    state = forms.ChoiceField(
        label=_("State"),
        required=False,
        choices=[("", _("Any state")), *STATUS_CHOICES],
        widget=forms.Select(attrs={"data-chooser-modal-search-filter": True}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.is_searching = False
        self.is_filtering_by_collection = False
        self.search_query = None

    def filter(self, objects):
        query = self.cleaned_data.get("q", "").strip()
        if query:
            objects = objects.search(query)
            self.is_searching = True
            self.search_query = query
        state = self.cleaned_data.get("state")
        if state:
            objects = objects.filter(status=state)
            self.is_searching = True
            self.search_query = self.search_query or dict(STATUS_CHOICES).get(state)
        return objects


class StreamChooseMixin:
    filter_form_class = StreamFilterForm

    def get_object_list(self):
        return self.model_class.objects.for_listing()

    @property
    def columns(self):
        return [
            ThumbnailColumn("thumbnail", label=_("Picture"), width="5rem"),
            self.title_column,
            StateColumn("status", label=_("State")),
            Column("short_id", label=_("Stream ID"), accessor=_short_id),
            Column("recording_count", label=_("Recordings")),
            LatestRecordingColumn("latest", label=_("Latest recording")),
        ]


def _short_id(stream) -> str:
    """The first group of the stream ID: enough to tell streams apart on a screen."""
    return stream.stream_id_str.split("-", 1)[0]


class StreamChooseView(StreamChooseMixin, ChooseView):
    pass


class StreamChooseResultsView(StreamChooseMixin, ChooseResultsView):
    pass


class StreamChooserViewSet(SnippetChooserViewSet):
    choose_view_class = StreamChooseView
    choose_results_view_class = StreamChooseResultsView
