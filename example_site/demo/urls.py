import re

from django.conf import settings
from django.conf.urls.static import static
from django.contrib.staticfiles.views import serve as serve_static
from django.urls import include, path, re_path
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.documents import urls as wagtaildocs_urls

from demo import views

urlpatterns = [
    path("admin/", include(wagtailadmin_urls)),
    path("documents/", include(wagtaildocs_urls)),
    # The player's state endpoint and player fragments: before Wagtail's catch-all.
    path("nanovod/", include("wagtail_nanovod.urls")),
    path("demo/live-event/restart/", views.restart_lifecycle, name="demo-lifecycle-restart"),
    # Browsers ask for it whatever the page links: a 404 in every log otherwise.
    path("favicon.ico", serve_static, {"path": "demo/favicon.ico", "insecure": True}),
    # The player's script and the offline H5Live stand-in, whatever DEBUG says: runserver
    # serves static files only with DEBUG on, and this local demo has no other server.
    re_path(
        rf"^{re.escape(settings.STATIC_URL.lstrip('/'))}(?P<path>.*)$",
        serve_static,
        {"insecure": True},
    ),
    *static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT),
    path("", include(wagtail_urls)),
]
