"""The public endpoints of the player script and of embeds; include them before
Wagtail's own URLs::

path("nanovod/", include("wagtail_nanovod.urls")),
"""

from django.urls import path

from . import embed_views, public_views

app_name = "wagtail_nanovod"

urlpatterns = [
    path("state/", public_views.stream_states, name="state"),
    path("player/<str:token>/", public_views.player_markup, name="player"),
    path("embed/<int:page_id>/<str:token>/", embed_views.embed_page, name="embed"),
    path("oembed/", embed_views.oembed, name="oembed"),
]
