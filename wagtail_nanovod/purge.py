"""Purging the pages that show a stream from the front-end cache when what it plays changes.

A CDN in front of the site would otherwise keep serving "processing" for hours after
the recording appeared. The pages come from Wagtail's reference index (kept up to date
as pages are saved); the purge goes through ``wagtail.contrib.frontend_cache``, so every
backend configured in ``WAGTAILFRONTENDCACHE`` works, and nothing happens without one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import partial

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Model
from wagtail.contrib.frontend_cache.utils import get_backends, purge_pages_from_cache
from wagtail.models import Page, ReferenceIndex

from .conf import nanovod_settings

logger = logging.getLogger(__name__)


def pages_showing(streams: Iterable[Model]) -> list[Page]:
    """The live pages that use these streams, as their specific classes (two queries)."""
    page_ids = (
        ReferenceIndex.get_references_to_in_bulk(list(streams))
        .filter(base_content_type=ContentType.objects.get_for_model(Page))
        .values_list("object_id", flat=True)
        .distinct()
    )
    # The index keeps object ids as text: a list, not a subquery comparing text to integers.
    return list(Page.objects.live().filter(pk__in=list(page_ids)).specific())


def purge_pages_showing(streams: Iterable[Model]) -> None:
    """Purge the live pages that use these streams from the front-end cache.

    Runs once the transaction commits, so the cache cannot fetch a page again before
    the new snapshot is there to read. Does nothing where ``PURGE_FRONTEND_CACHE`` is
    off or ``WAGTAILFRONTENDCACHE`` configures no backend; never raises.
    """
    streams = list(streams)
    if streams and nanovod_settings.PURGE_FRONTEND_CACHE:
        transaction.on_commit(partial(_purge, streams))


def _purge(streams: list[Model]) -> None:
    try:
        # No backend, no purge and no query. Wagtail's purge task asks the same, but on
        # the task backend, where a mistake in the setting can go unseen: here it is logged.
        if not get_backends():
            return
        pages = pages_showing(streams)
        if pages:
            purge_pages_from_cache(pages)
    except Exception as exc:
        # The refresh this follows has succeeded and must stand; a stale cache is the
        # lesser harm. Only the exception's type: a backend's message may hold its token.
        logger.warning(
            "Could not purge the pages showing stream(s) %s from the front-end cache: %s",
            ", ".join(str(getattr(stream, "stream_id", stream.pk)) for stream in streams),
            type(exc).__name__,
        )
