"""The public endpoints of the player script; include them before Wagtail's own URLs::

path("nanovod/", include("wagtail_nanovod.urls")),
"""

from django.urls import path

from . import public_views

app_name = "wagtail_nanovod"

urlpatterns = [
    path("state/", public_views.stream_states, name="state"),
    path("player/<str:token>/", public_views.player_markup, name="player"),
]
