"""Admin views of the VodStream snippet: save then verify, refresh now, import from nanoStream.

Nothing here waits on bintu before a row is saved: a save is committed first and
checked after, and a failed check is a message to the editor, never an error page.
"""

from __future__ import annotations

import contextlib

from django.contrib.admin.utils import quote
from django.db import IntegrityError, transaction
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.generic import TemplateView, View
from wagtail.admin import messages
from wagtail.admin.views.generic.base import BaseOperationView, WagtailAdminTemplateMixin
from wagtail.admin.views.generic.permissions import PermissionCheckedMixin
from wagtail.admin.widgets.button import HeaderButton
from wagtail.log_actions import log
from wagtail.snippets.views import snippets as snippet_views

from .badges import render_badge
from .conf import nanovod_settings
from .exceptions import InvalidStreamId
from .forms import ImportFilterForm, ImportForm
from .models import VodStream
from .org_streams import list_streams
from .parsing import normalize_stream_id
from .reasons import describe_reason
from .resolver import refresh_in_background, refresh_snippet
from .snapshot import LIVE, READY, Snapshot, is_active, state_of


def report_outcome(request, stream: VodStream, outcome: Snapshot, *, saved: bool) -> None:
    """Tell the editor what bintu said about ``stream`` just now, as a Django message.

    ``saved`` words it for a save (the row is stored whatever bintu said) rather than
    for a refresh.
    """
    values = {"title": stream.title, "stream_id": stream.stream_id_str}
    if outcome.error == "not_found":
        messages.warning(
            request,
            _(
                "nanoStream does not know the stream ID %(stream_id)s of '%(title)s'. "
                "Check the ID on the stream's page in the nanoStream dashboard."
            )
            % values,
        )
        return
    if outcome.error:
        values["reason"] = describe_reason(outcome.error)
        if saved:
            text = _("'%(title)s' saved, not verified yet: %(reason)s; it will be checked again.")
        else:
            text = _("'%(title)s' could not be checked: %(reason)s; the last known state is kept.")
        messages.warning(request, text % values)
        return
    state, reason = state_of(outcome)
    values["state"] = stream.get_status_display()
    if state in (READY, LIVE):
        count = stream.recording_count
        values["count"] = count
        messages.success(
            request,
            ngettext(
                "'%(title)s' verified with nanoStream: %(state)s, %(count)s recording.",
                "'%(title)s' verified with nanoStream: %(state)s, %(count)s recordings.",
                count,
            )
            % values,
        )
    elif reason:
        values["reason"] = describe_reason(reason)
        messages.warning(
            request, _("'%(title)s' verified, but there is nothing to play: %(reason)s.") % values
        )
    else:
        messages.warning(
            request,
            _(
                "'%(title)s': nanoStream is still processing the recording; "
                "it will be checked again."
            )
            % values,
        )


class VerifyOnSaveMixin:
    """Asks bintu about the stream after every save, and says what it answered."""

    def save_instance(self):
        instance = self.form.instance
        if "stream_id" in self.form.changed_data:
            # The snapshot describes the stream that was here before: a failed check
            # must not keep it as the last good answer of the new id.
            instance.forget_snapshot()
        return super().save_instance()

    def save_action(self):
        # After the save's transaction, so bintu (up to TIMEOUT seconds) holds no lock;
        # a failure is recorded in the snapshot, not raised.
        outcome = refresh_snippet(self.object)
        response = super().save_action()
        report_outcome(self.request, self.object, outcome, saved=True)
        return response


def register_stream(stream_id: str, title: str, user, *, check: bool = True):
    """A new snippet for a stream, checked with bintu first (within ``TIMEOUT``; a failure
    saves it unverified) unless ``check`` is off, and logged as created by ``user``:
    ``(snippet, what bintu said)``; ``(None, None)`` if it was registered meanwhile."""
    snippet = VodStream(stream_id=stream_id, title=title)
    # Not saved yet, so this only fills in the snapshot fields.
    outcome = refresh_snippet(snippet) if check else None
    try:
        with transaction.atomic():
            snippet.save()
    except IntegrityError:  # registered meanwhile: another editor, or a double click
        return None, None
    log(instance=snippet, action="wagtail.create", user=user)
    return snippet, outcome


class CreateView(VerifyOnSaveMixin, snippet_views.CreateView):
    """The snippet's create view, verified with bintu once saved."""


class EditView(VerifyOnSaveMixin, snippet_views.EditView):
    """The snippet's edit view, verified with bintu once saved."""

    def get(self, request, *args, **kwargs):
        refresh_changing([self.object])
        return super().get(request, *args, **kwargs)


class IndexView(snippet_views.IndexView):
    """The listing: searched in SQL, with a link to the import view."""

    import_url_name = None

    @cached_property
    def header_buttons(self):
        buttons = super().header_buttons
        if self.import_url_name and self.user_has_permission("add"):
            buttons.append(
                HeaderButton(
                    _("Import from nanoStream"),
                    url=reverse(self.import_url_name),
                    icon_name="download",
                    # After the add button (priority 1000), the page's main action.
                    priority=1100,
                    attrs={"data-nanovod-action": ""},
                )
            )
        return buttons

    def get_base_queryset(self):
        return super().get_base_queryset().for_listing()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # A stream on air shows its real state soon, whether or not anyone visits a page.
        refresh_changing(context.get("object_list") or ())
        return context

    def search_queryset(self, queryset):
        # In SQL, by the model's own rule (VodStreamQuerySet.search), as the chooser does.
        if not self.is_searching:
            return queryset
        return queryset.search(self.search_query)


class StatesView(PermissionCheckedMixin, View):
    """``GET ?id=…``: the current state badge of each stream, for the admin's screens
    (``static/wagtail_nanovod/admin.js``) to keep a changing stream's badge current.

    Stale streams are queued for the same background refresh pages use; the admin never
    waits on bintu here.
    """

    # Whoever may see the streams in the admin at all (as the listing); the viewset hands
    # the view its model, and so its permission policy.
    model = None
    any_permission_required = ["add", "change", "delete", "view"]
    #: More ids than any screen shows.
    MAX_STREAMS = 100

    def get(self, request):
        ids = []
        for value in request.GET.getlist("id")[: self.MAX_STREAMS]:
            with contextlib.suppress(InvalidStreamId):
                ids.append(normalize_stream_id(value))
        streams = list(VodStream.objects.filter(stream_id__in=ids).defer("captions"))
        refresh_changing(streams)
        return JsonResponse(
            {
                "interval": admin_poll_seconds(),
                "badges": {
                    s.stream_id_str: render_badge(s.status, s.stream_id_str) for s in streams
                },
            }
        )


def admin_poll_seconds() -> int:
    """How often the admin's screens ask for news of changing streams: twice per
    ``ACTIVE_FRESH_SECONDS``, so a change shows within that time."""
    return max(2, int(float(nanovod_settings.ACTIVE_FRESH_SECONDS) // 2))


def refresh_changing(streams) -> None:
    """Queue refreshes of the streams on an admin screen that are about to change."""
    refresh_in_background(s for s in streams if is_active(s.status))


class RefreshView(PermissionCheckedMixin, BaseOperationView):
    """POST only: ask bintu about one stream now, then back to its edit view."""

    permission_required = "change"

    def perform_operation(self):
        self.outcome = refresh_snippet(self.object)

    def add_success_message(self):
        report_outcome(self.request, self.object, self.outcome, saved=False)


class ImportView(PermissionCheckedMixin, WagtailAdminTemplateMixin, TemplateView):
    """Lists the organisation's streams from bintu; ticked ones become snippets."""

    permission_required = "add"
    model = None
    index_url_name = None
    edit_url_name = None
    template_name = "wagtail_nanovod/admin/import.html"
    page_title = gettext_lazy("Import from nanoStream")
    header_icon = "download"

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {
                "url": reverse(self.index_url_name),
                "label": capfirst(self.model._meta.verbose_name_plural),
            },
            {"url": "", "label": self.get_page_title()},
        ]

    def get_context_data(self, posted=None, **kwargs):
        """``posted``: the ticks and titles of a POST to show again, with what is missing."""
        context = super().get_context_data(**kwargs)
        filter_form = ImportFilterForm(self.request.GET)
        streams, error = [], ""
        if filter_form.is_valid():
            streams, error = list_streams(**filter_form.list_kwargs())
        ids = [stream.id for stream in streams]
        imported = {str(s.stream_id): s for s in VodStream.objects.filter(stream_id__in=ids)}
        rows = []
        for stream in streams:
            snippet = imported.get(stream.id)
            rows.append(
                {
                    "stream": stream,
                    # What the editor typed, if the list comes back; else from the tags.
                    "title": (posted or {})
                    .get("titles", {})
                    .get(stream.id, stream.title_from_tags),
                    "ticked": stream.id in (posted or {}).get("ticked", ()),
                    "missing_title": stream.id in (posted or {}).get("missing", ()),
                    "snippet": snippet,
                    "edit_url": snippet and reverse(self.edit_url_name, args=[quote(snippet.pk)]),
                }
            )
        context.update(filter_form=filter_form, rows=rows, error=error)
        return context

    def post(self, request, *args, **kwargs):
        form = ImportForm(request.POST)
        if not form.is_valid():
            messages.error(request, " ".join(form.errors["stream"]))
            return redirect(request.get_full_path())
        ids = form.cleaned_data["stream"]
        # Every row's title as typed, ticked or not, so that none is lost if the list
        # comes back.
        typed = {
            key.removeprefix("title-"): value.strip()[:255]
            for key, value in request.POST.items()
            if key.startswith("title-")
        }
        titles = {sid: typed.get(sid, "") for sid in ids}
        missing = [sid for sid in ids if not titles[sid]]
        if missing:
            # Nothing imported, nothing lost: the same list again, ticks and titles kept.
            messages.error(
                request,
                ngettext(
                    "Give the ticked stream a title: nanoStream gives it none.",
                    "Give each ticked stream a title: nanoStream gives %(count)s of them none.",
                    len(missing),
                )
                % {"count": len(missing)},
            )
            posted = {"ticked": set(ids), "titles": typed, "missing": set(missing)}
            return self.render_to_response(self.get_context_data(posted=posted))
        created, failed, skipped = self.import_streams(ids, titles)
        if created:
            messages.success(
                request,
                ngettext(
                    "Imported %(count)s stream from nanoStream.",
                    "Imported %(count)s streams from nanoStream.",
                    len(created),
                )
                % {"count": len(created)},
            )
        for reason, titles in failed.items():
            values = {"titles": ", ".join(titles), "reason": describe_reason(reason)}
            if reason == "not_found":
                text = _("nanoStream does not know these streams (any more): %(titles)s.")
            else:
                text = _(
                    "Saved, not verified yet: %(reason)s; they will be checked again: %(titles)s."
                )
            messages.warning(request, text % values)
        if skipped:
            messages.info(
                request,
                ngettext(
                    "%(count)s stream was imported before and was left as it is.",
                    "%(count)s streams were imported before and were left as they are.",
                    skipped,
                )
                % {"count": skipped},
            )
        return redirect(self.index_url_name)

    def import_streams(
        self, stream_ids: list[str], titles: dict[str, str]
    ) -> tuple[list, dict[str, list[str]], int]:
        """A snippet per new stream id, with the editor's title:
        ``(created, titles by failure reason, skipped)``."""
        existing = {
            str(stream_id)
            for stream_id in VodStream.objects.filter(stream_id__in=stream_ids).values_list(
                "stream_id", flat=True
            )
        }
        created, failed, skipped = [], {}, 0
        outage = ""
        for stream_id in stream_ids:
            if stream_id in existing:
                skipped += 1
                continue
            # Once bintu is down, slow or refuses the key, the rest are saved unverified
            # rather than make the editor wait up to TIMEOUT once per stream.
            snippet, outcome = register_stream(
                stream_id, titles[stream_id], self.request.user, check=not outage
            )
            if snippet is None:
                skipped += 1  # imported meanwhile: another editor, or a double click
                continue
            if outcome is not None and outcome.error and outcome.error != "not_found":
                outage = outcome.error
            created.append(snippet)
            if reason := snippet.last_error or (outage if snippet.synced_at is None else ""):
                failed.setdefault(reason, []).append(snippet.title)
        return created, failed, skipped
