"""A second Wagtail site, a partner of the example site's, that embeds its recordings.

It knows nothing of wagtail_nanovod (and imports nothing from it): it is any Wagtail
site, embedding with Wagtail's own ``wagtail.embeds`` and its oEmbed finder, configured
with the example site's oEmbed endpoint as a provider, as a site's developer would
configure any video platform's. ``tests/test_partner_embed.py`` runs it as a subprocess
beside the example site::

    PARTNER_SITE_DATABASE=/tmp/partner.sqlite3 \\
    PARTNER_SITE_PROVIDER=http://127.0.0.1:8000 \\
    python -m tests.partner_site 127.0.0.1:8001

Then ``/?url=<a page URL of the example site>`` shows that page's recording in an iframe.
"""
