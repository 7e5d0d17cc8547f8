"""The crowd's URLs: the bench site's, with the package's public endpoints included as
its README tells a site to (before Wagtail's own).

Kept apart from ``urls.py``: with the endpoints included, every player rendered in
sections 1 to 5 would sign a token for its markup endpoint and cost more than before.
"""

from django.urls import include, path

from .urls import urlpatterns as site_urlpatterns

urlpatterns = [
    path("nanovod/", include("wagtail_nanovod.urls")),
    *site_urlpatterns,
]
