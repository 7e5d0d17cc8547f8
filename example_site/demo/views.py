"""Demo-only views: replaying the offline "Live event" (see demo/lifecycle.py)."""

from django.http import Http404
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from demo import lifecycle
from wagtail_nanovod.models import VodStream
from wagtail_nanovod.resolver import refresh_snippet


@require_POST
def restart_lifecycle(request):
    """Play the live event from the start again, then back to the page it was pressed on."""
    driver = lifecycle.current()
    if driver is None:
        # A real bintu (or manage.py runserver without run.py): nothing here to replay.
        raise Http404("Only the offline demo can replay its live event.")
    driver.restart()
    # The snapshot says "ready", a settled state the page no longer polls for: ask
    # the fake at once, so the page the visitor comes back to is upcoming again (the
    # fetch stores the answer in every row of the stream).
    stream = VodStream.objects.filter(stream_id=driver.stream_id).first()
    if stream is not None:
        refresh_snippet(stream)
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = "/"
    return redirect(target)
