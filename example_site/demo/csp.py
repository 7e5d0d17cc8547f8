"""A strict Content-Security-Policy on the example's pages, as a media portal may send.

Built from the package's settings the way the README says a site should: its own origin,
the VOD hosts (``REGIONS``) for video and posters, and the origin of
``H5LIVE_SCRIPT_URL`` for live players. No 'unsafe-inline' anywhere. Not on the Wagtail
admin, whose own pages this example does not vouch for.
"""

from urllib.parse import urlsplit

from wagtail_nanovod.conf import nanovod_settings


def policy() -> str:
    vod = sorted({_origin(url) for url in nanovod_settings.REGIONS.values()})
    player = _origin(nanovod_settings.H5LIVE_SCRIPT_URL)
    sources = {
        "default-src": ["'self'"],
        "script-src": ["'self'", *([player] if player else [])],
        "style-src": ["'self'"],
        "img-src": ["'self'", *vod],
        "media-src": ["'self'", *vod],
        "connect-src": ["'self'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'self'"],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in sources.items())


def _origin(url: str) -> str:
    """scheme://host[:port] of an absolute URL; "" for a path on this site."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not request.path.startswith(("/admin/", "/django-admin/")):
            response.setdefault("Content-Security-Policy", policy())
        return response
