"""The block's stream chooser: streams told apart at a glance, found by title, tag, ID or a
pasted dashboard URL, filtered by state; and the organisation's streams that are not
registered yet, each registered and chosen in one step.

A page of results costs a fixed number of queries (the count, the rows with their
posters, the posters' renditions) and never asks bintu: what the rows show comes from
their stored snapshots. The list of unregistered streams is bintu's stream list, kept a
minute (:mod:`wagtail_nanovod.org_streams`); when bintu cannot list them the chooser
says why and works for the registered ones.
"""

from __future__ import annotations

from django import forms
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from wagtail.admin.modal_workflow import render_modal_workflow
from wagtail.admin.ui.tables import Column
from wagtail.snippets.views.chooser import (
    ChooseResultsView,
    ChooseView,
    SnippetChooserViewSet,
    SnippetCreateView,
)

from .columns import LatestRecordingColumn, StateColumn, ThumbnailColumn
from .exceptions import InvalidStreamId
from .forms import STATE_CHOICES
from .models import STATUS_CHOICES, VodStream
from .org_streams import list_streams
from .parsing import normalize_stream_id
from .snapshot import playable_thumbnail
from .views import register_stream

#: The chooser's own parameters for the "from nanoStream" list (the search box and the
#: state filter belong to the registered streams).
TAG_PARAM = "nanostream_tag"
STATE_PARAM = "nanostream_state"


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
            ThumbnailColumn("thumbnail", label=_("Picture")),
            self.title_column,
            StateColumn("status", label=_("State")),
            Column("short_id", label=_("Stream ID"), accessor=_short_id),
            Column("recording_count", label=_("Recordings")),
            LatestRecordingColumn("latest", label=_("Latest recording")),
        ]


def _short_id(stream) -> str:
    """The end of the stream ID: enough to tell streams apart on a screen (IDs made one
    after another may share their start; random ones differ all along)."""
    return "…" + stream.stream_id_str[-8:]


class StreamChooseView(StreamChooseMixin, ChooseView):
    template_name = "wagtail_nanovod/admin/chooser.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if self.can_create():
            context["from_nanostream"] = from_nanostream(self.request)
        return context


class StreamChooseResultsView(StreamChooseMixin, ChooseResultsView):
    pass


class RegisterStreamForm(forms.Form):
    """One row of the "from nanoStream" list: the stream, and the title the editor gives it."""

    stream_id = forms.CharField(widget=forms.HiddenInput)
    title = forms.CharField(label=_("Title"), max_length=255)

    def clean_stream_id(self) -> str:
        try:
            return normalize_stream_id(self.cleaned_data["stream_id"])
        except InvalidStreamId as exc:
            raise forms.ValidationError(str(exc)) from None


class StreamRegisterView(SnippetCreateView):
    """POST of a "from nanoStream" row: register the stream (checked with bintu within
    ``TIMEOUT``; saved unverified if bintu cannot answer) and choose it. A stream
    registered meanwhile by someone else is chosen as it is."""

    def get_creation_form_class(self):
        # Not the viewset's creation form (it has none: no "Create" tab in the chooser).
        return RegisterStreamForm

    def save_form(self, form):
        stream_id = form.cleaned_data["stream_id"]
        existing = VodStream.objects.filter(stream_id=stream_id).first()
        if existing is not None:
            return existing
        title = form.cleaned_data["title"].strip()
        stream, _outcome = register_stream(stream_id, title, self.request.user)
        return stream or VodStream.objects.get(stream_id=stream_id)

    def get_reshow_creation_form_response(self):
        html = render_to_string(
            "wagtail_nanovod/admin/_from_nanostream_rows.html",
            {"from_nanostream": from_nanostream(self.request, invalid=self.form)},
            self.request,
        )
        return render_modal_workflow(
            self.request,
            None,
            None,
            None,
            json_data={"step": "reshow_creation_form", "htmlFragment": html},
        )


def from_nanostream(request, invalid: RegisterStreamForm | None = None) -> dict:
    """The chooser's list of the organisation's streams that are not registered yet."""
    params = request.GET if request.method == "GET" else request.POST
    tag = params.get(TAG_PARAM, "").strip()[:200]
    state = params.get(STATE_PARAM, "")
    if state not in dict(STATE_CHOICES):
        state = ""
    streams, error = list_streams(
        tags=[tag] if tag else [], states=[state] if state else [], cached=True
    )
    registered = {
        str(sid)
        for sid in VodStream.objects.filter(stream_id__in=[s.id for s in streams]).values_list(
            "stream_id", flat=True
        )
    }
    rows = []
    for stream in streams:
        if stream.id in registered:
            continue
        if invalid is not None and invalid.data.get("stream_id") == stream.id:
            form = invalid
        else:
            form = RegisterStreamForm(
                initial={"stream_id": stream.id, "title": stream.title_from_tags},
                auto_id=f"nanovod-{stream.id}-%s",
            )
        # Every row's field is "Title": which stream it titles is the name beside it.
        form.fields["title"].widget.attrs["aria-describedby"] = f"nanovod-{stream.id}-name"
        rows.append({"stream": stream, "form": form, "thumbnail": playable_thumbnail(stream)})
    choose_url = reverse(VodStream.snippet_viewset.chooser_viewset.get_url_name("choose"))
    # The "key:value" tags of the streams listed, as filters (titles are no filter).
    tags = sorted(
        {
            tag
            for s in streams
            for tag in s.tags
            if ":" in tag and tag.split(":", 1)[0].strip().lower() not in ("title", "name")
        }
    )
    return {
        "rows": rows,
        "error": error,
        "tag": tag,
        "state": state,
        "states": [(value, label, value == state) for value, label in STATE_CHOICES],
        "tags": tags[:12],
        "choose_url": choose_url,
        "register_url": reverse(VodStream.snippet_viewset.chooser_viewset.get_url_name("create")),
        "tag_param": TAG_PARAM,
        "state_param": STATE_PARAM,
    }


class StreamChooserViewSet(SnippetChooserViewSet):
    choose_view_class = StreamChooseView
    choose_results_view_class = StreamChooseResultsView
    create_view_class = StreamRegisterView
    create_action_label = _("Register and choose")
