"""Registers the VodStream snippet with its own admin menu item, "nanoStream"."""

from django.urls import path
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel
from wagtail.admin.ui.tables import Column, DateColumn, StatusTagColumn
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet

from . import views
from .models import VodStream
from .panels import StreamStatusPanel
from .playback import LIVE, READY


class VodStreamViewSet(SnippetViewSet):
    """Listing, create and edit views of VodStream, plus refresh and import."""

    model = VodStream
    icon = "media"
    menu_label = _("nanoStream")
    menu_name = "nanostream"
    add_to_admin_menu = True
    # A copy would carry another stream's id, which must be unique.
    copy_view_enabled = False

    index_view_class = views.IndexView
    add_view_class = views.CreateView
    edit_view_class = views.EditView

    list_display = [
        "title",
        Column("stream_id", label=_("Stream ID"), sort_key="stream_id"),
        StatusTagColumn(
            "get_status_display",
            label=_("State"),
            sort_key="status",
            primary=lambda stream: stream.status in (READY, LIVE),
        ),
        "region",
        Column("recording_count", label=_("Recordings"), sort_key="recording_count"),
        DateColumn("synced_at", label=_("Last synced"), sort_key="synced_at"),
    ]
    list_filter = ["status", "region"]
    # Searched in SQL by views.IndexView: see there why not with a search backend.
    search_fields = ["title", "stream_id", "bintu_tags", "description"]
    search_backend_name = None

    panels = [
        FieldPanel("stream_id"),
        FieldPanel("title"),
        FieldPanel("description"),
        FieldPanel("region"),
        FieldPanel("poster"),
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

    def get_urlpatterns(self):
        return [
            *super().get_urlpatterns(),
            path(f"refresh/<{self.pk_path_converter}:pk>/", self.refresh_view, name="refresh"),
            path("import/", self.import_view, name="import"),
        ]


register_snippet(VodStreamViewSet)
