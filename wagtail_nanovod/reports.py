"""The "Broken videos" admin report: streams with nothing to play or a failed check,
and where they are used.

Reads the snapshots only, never bintu: the report shows what pages show now. Where a
stream is used comes from Wagtail's reference index, which is kept up to date as
pages and snippets are saved.
"""

from __future__ import annotations

from collections import defaultdict

from django.contrib.admin.utils import quote
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from wagtail.admin.admin_url_finder import AdminURLFinder
from wagtail.admin.ui.tables import Column, TitleColumn
from wagtail.admin.views.reports import ReportView
from wagtail.models import ReferenceIndex

from .columns import WholeSecondsDateColumn
from .models import VodStream
from .reasons import describe_reason
from .snapshot import UNAVAILABLE, state_of


def broken_streams():
    """Streams a visitor cannot watch, or whose last check with bintu failed.

    A stream whose recording is being processed is on its way, not broken: it comes
    here once the processing grace period is over without a recording.
    """
    return VodStream.objects.filter(Q(status=UNAVAILABLE) | ~Q(last_error=""))


def describe_problem(stream: VodStream) -> str:
    """What is wrong with ``stream``, in an editor's words."""
    if stream.last_error == "not_found":
        # Not capitalised: it starts with the brand name, which is spelt "nanoStream".
        return describe_reason("not_found")
    problems = []
    if stream.last_error:
        problems.append(_("the last check failed: %s") % describe_reason(stream.last_error))
    if stream.status == UNAVAILABLE:
        reason = state_of(stream.snapshot)[1]
        # Without a snapshot the reason is the failure itself, already said above.
        if reason != stream.last_error:
            problems.append(describe_reason(reason))
        else:
            problems.append(_("nothing to play"))
    return capfirst("; ".join(problems))


def usages(streams: list[VodStream], user) -> dict[str, list[dict]]:
    """By stream pk (a string, as the index keeps it), what uses the stream: pages mostly,
    as ``{"label", "edit_url"}``.

    One query for the references and one per kind of object using them, rather than
    one per object as iterating ``ReferenceIndex.get_grouped_references_to()`` costs.
    ``edit_url`` is empty where ``user`` may not edit the object.
    """
    references = list(
        ReferenceIndex.get_references_to_in_bulk(streams)
        .values_list("to_object_id", "base_content_type_id", "object_id")
        .distinct()
    )
    wanted = defaultdict(set)
    for _stream_pk, content_type_id, object_id in references:
        wanted[content_type_id].add(object_id)
    objects = {}
    for content_type_id, object_ids in wanted.items():
        model = ContentType.objects.get_for_id(content_type_id).model_class()
        if model is None:
            continue  # a model since removed; its rows are gone from the index at next rebuild
        for obj in model._default_manager.filter(pk__in=object_ids):
            objects[content_type_id, str(obj.pk)] = obj
    finder = AdminURLFinder(user)
    found = defaultdict(list)
    for stream_pk, content_type_id, object_id in references:
        obj = objects.get((content_type_id, object_id))
        if obj is not None:
            found[stream_pk].append({"label": str(obj), "edit_url": finder.get_edit_url(obj)})
    for items in found.values():
        items.sort(key=lambda item: item["label"].lower())
    return found


class UsedOnColumn(Column):
    """The objects using a stream, each linked to its edit view where the user may edit it."""

    cell_template_name = "wagtail_nanovod/admin/used_on_cell.html"


def edit_url(stream: VodStream) -> str:
    """The snippet's edit view."""
    return reverse(VodStream.snippet_viewset.get_url_name("edit"), args=[quote(stream.pk)])


class BrokenStreamsReportView(ReportView):
    """Lists the broken streams with their problem and the pages that show them."""

    page_title = gettext_lazy("Broken videos")
    header_icon = "media"
    index_url_name = "wagtail_nanovod_broken_videos"
    index_results_url_name = "wagtail_nanovod_broken_videos_results"
    permission_required = "change"
    default_ordering = "title"
    no_results_message = gettext_lazy(
        "No broken videos: every stream has something to play and its last check succeeded."
    )
    columns = [
        TitleColumn("title", label=gettext_lazy("Stream"), get_url=edit_url, sort_key="title"),
        Column("stream_id", label=gettext_lazy("Stream ID"), sort_key="stream_id"),
        Column("problem", label=gettext_lazy("Problem")),
        WholeSecondsDateColumn(
            "last_error_at", label=gettext_lazy("Last failed check"), sort_key="last_error_at"
        ),
        UsedOnColumn("used_on", label=gettext_lazy("Used on")),
    ]

    export_filename = "broken-videos"
    list_export = ["title", "stream_id", "problem", "last_error_at", "used_on_labels"]
    export_headings = {
        "title": gettext_lazy("Stream"),
        "stream_id": gettext_lazy("Stream ID"),
        "problem": gettext_lazy("Problem"),
        "last_error_at": gettext_lazy("Last failed check"),
        "used_on_labels": gettext_lazy("Used on"),
    }

    @cached_property
    def permission_policy(self):
        # The snippet's own policy: whoever may change streams may see what is wrong with them.
        return VodStream.snippet_viewset.permission_policy

    def get_base_queryset(self):
        return broken_streams()

    def decorate_paginated_queryset(self, object_list):
        # The table holds this same list: what is set on its rows here shows in the cells.
        used_on = usages(list(object_list), self.request.user)
        for stream in object_list:
            stream.problem = describe_problem(stream)
            stream.used_on = used_on.get(str(stream.pk), [])
            stream.used_on_labels = [item["label"] for item in stream.used_on]
        return object_list
