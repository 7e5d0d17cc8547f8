"""The partner site's one page: a URL of the example site, embedded by ``{% embed %}``."""

from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET


@require_GET
def embed_page(request):
    """The page with the embed of ``?url=``, asked of the configured provider.

    The URL comes from the query so that one running site can show several; only URLs
    of the example site are embedded (the finder's pattern), so nothing else is fetched.
    """
    return render(request, "partner/embed.html", {"url": request.GET.get("url", "")})


urlpatterns = [path("", embed_page)]
