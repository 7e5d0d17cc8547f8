"""A strict Content-Security-Policy on the example's pages, as a media portal may send.

The package's own policy for pages with players (``wagtail_nanovod.csp``, built from
the settings), framed by the site itself only. No 'unsafe-inline' anywhere. Not on the
Wagtail admin, whose own pages this example does not vouch for, and not on the embed
pages, which send their own (framed by any site).
"""

from wagtail_nanovod.csp import player_policy


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not request.path.startswith(("/admin/", "/django-admin/")):
            response.setdefault("Content-Security-Policy", player_policy())
        return response
