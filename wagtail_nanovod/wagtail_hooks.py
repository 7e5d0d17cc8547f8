"""Registers the VodStream snippet with its own admin menu item, "Streams", and the
"Broken videos" report under Reports.
"""

from django.templatetags.static import static
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin import messages
from wagtail.admin.menu import MenuItem
from wagtail.admin.panels import FieldPanel
from wagtail.admin.ui.tables import Column
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet

from . import reports, views
from .blocks import unchecked_recordings
from .chooser import StreamChooserViewSet
from .columns import StateColumn, ThumbnailColumn, WholeSecondsDateColumn
from .models import VodStream, VodStreamQuerySet
from .panels import StreamStatusPanel
from .player import STYLESHEET


class VodStreamViewSet(SnippetViewSet):
    """Listing, create and edit views of VodStream, plus refresh and import."""

    model = VodStream
    icon = "media"
    menu_label = _("Streams")
    menu_name = "nanostream"
    add_to_admin_menu = True
    # A copy would carry another stream's id, which must be unique.
    copy_view_enabled = False

    index_view_class = views.IndexView
    chooser_viewset_class = StreamChooserViewSet
    add_view_class = views.CreateView
    edit_view_class = views.EditView

    list_display = [
        # The first column is the one Wagtail links to the edit view.
        "title",
        ThumbnailColumn("thumbnail", label=_("Picture")),
        Column("stream_id", label=_("Stream ID"), sort_key="stream_id"),
        StateColumn("status", label=_("State"), sort_key="status"),
        "region",
        Column("recording_count", label=_("Recordings"), sort_key="recording_count"),
        WholeSecondsDateColumn("synced_at", label=_("Last synced"), sort_key="synced_at"),
    ]
    list_filter = ["status", "region"]
    # Searched in SQL by views.IndexView: see there why not with a search backend.
    search_fields = list(VodStreamQuerySet.SEARCH_FIELDS)
    search_backend_name = None

    panels = [
        FieldPanel("stream_id"),
        FieldPanel("title"),
        FieldPanel("description"),
        FieldPanel("region"),
        FieldPanel("poster"),
        FieldPanel("captions"),
        StreamStatusPanel(heading=_("nanoStream"), icon="media"),
    ]

    def get_index_view_kwargs(self, **kwargs):
        return super().get_index_view_kwargs(import_url_name=self.get_url_name("import"), **kwargs)

    @property
    def refresh_view(self):
        return self.construct_view(views.RefreshView, success_url_name=self.get_url_name("edit"))

    @property
    def import_view(self):
        return self.construct_view(views.ImportView)

    @property
    def states_view(self):
        return self.construct_view(views.StatesView)

    def get_urlpatterns(self):
        return [
            *super().get_urlpatterns(),
            path(f"refresh/<{self.pk_path_converter}:pk>/", self.refresh_view, name="refresh"),
            path("import/", self.import_view, name="import"),
            path("states/", self.states_view, name="states"),
        ]


register_snippet(VodStreamViewSet)


class BrokenVideosMenuItem(MenuItem):
    """Shown to those the report lets in: users who may change streams."""

    def is_shown(self, request):
        return VodStream.snippet_viewset.permission_policy.user_has_permission(
            request.user, "change"
        )


@hooks.register("after_create_page")
@hooks.register("after_edit_page")
def warn_of_unchecked_recordings(request, page):
    """A recording number nobody can confirm yet saves, with a word (bintu has not
    answered for its stream, or not lately); one it surely does not have is a form error."""
    for stream, number in unchecked_recordings(page):
        messages.warning(
            request,
            _(
                "Saved. nanoStream has not confirmed yet that '%(title)s' has recording "
                "%(number)s: check the page once it has."
            )
            % {"title": stream.title, "number": number},
        )


@hooks.register("insert_global_admin_js")
def admin_js():
    # Keeps the badges of streams about to change current on every admin screen
    # (listing, edit view, chooser), from the states view above.
    return format_html(
        '<script src="{}" data-nanovod-states-url="{}" data-nanovod-interval="{}" defer></script>',
        static("wagtail_nanovod/admin.js"),
        reverse(VodStream.snippet_viewset.get_url_name("states")),
        views.admin_poll_seconds(),
    )


@hooks.register("insert_global_admin_css")
def admin_css():
    # The player's own stylesheet too: the edit view previews the player.
    return format_html(
        '<link rel="stylesheet" href="{}"><link rel="stylesheet" href="{}">',
        static("wagtail_nanovod/admin.css"),
        static(STYLESHEET),
    )


@hooks.register("register_admin_urls")
def register_report_urls():
    view = reports.BrokenStreamsReportView
    return [
        path(
            "reports/nanostream-broken-videos/",
            view.as_view(),
            name=view.index_url_name,
        ),
        path(
            "reports/nanostream-broken-videos/results/",
            view.as_view(results_only=True),
            name=view.index_results_url_name,
        ),
    ]


@hooks.register("register_reports_menu_item")
def register_report_menu_item():
    return BrokenVideosMenuItem(
        _("Broken videos"),
        reverse(reports.BrokenStreamsReportView.index_url_name),
        name="nanostream-broken-videos",
        icon_name="media",
        # After Wagtail's own reports (700 to 1200).
        order=1300,
    )
