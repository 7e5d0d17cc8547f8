"""A site that did not include wagtail_nanovod.urls: players render, nothing polls."""

from django.urls import include, path
from wagtail import urls as wagtail_urls

urlpatterns = [path("", include(wagtail_urls))]
