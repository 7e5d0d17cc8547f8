"""The VodStream snippet, a nanoStream stream registered by an editor, and the database
copy of what we know about a stream.

Both a snippet and a stream shown by its id alone (:class:`StreamSnapshot`) keep their
snapshot in the same columns (:class:`StoredSnapshot`), so a page renders from its own
rows even when bintu and the cache are both gone. What those columns mean, and how an
answer changes them, is :mod:`wagtail_nanovod.snapshot`'s to say; this module stores.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
from datetime import UTC, datetime

from django import forms
from django.db import models
from django.utils.translation import gettext_lazy as _
from wagtail.fields import StreamField
from wagtail.images import get_image_model_string
from wagtail.search import index

from .captions import CaptionBlock, Track, tracks_of
from .conf import DEFAULTS, nanovod_settings
from .exceptions import ConfigurationError, InvalidStreamId
from .parsing import Stream, stream_id_from_text
from .playback import AUTO_REGION, Playback, playback
from .snapshot import (
    LIVE,
    PROCESSING,
    READY,
    UNAVAILABLE,
    UNVERIFIED,
    UPCOMING,
    Snapshot,
    grace_over,
    state_of,
)
from .state_answers import streams_changed

logger = logging.getLogger(__name__)

STREAM_ID_HELP = _(
    "The stream's ID in nanoStream Cloud, a UUID such as 1dec3bbc-758b-4879-a202-7ae877d511ba, "
    "or the address of the stream's page in the nanoStream dashboard."
)


def region_choices() -> list[tuple[str, str]]:
    """``auto`` and the configured regions, read at call time."""
    names = {"eu": _("Europe"), "us": _("North America"), "au": _("Australia")}
    try:
        regions = nanovod_settings.REGIONS
    except ConfigurationError:
        # Django's model checks call this; the settings check names the problem (E001).
        regions = DEFAULTS["REGIONS"]
    if not isinstance(regions, dict):
        regions = DEFAULTS["REGIONS"]  # E003 names it
    return [(AUTO_REGION, _("Automatic (from the recording URL)"))] + [
        (code, names.get(code, code.upper())) for code in regions
    ]


class StreamIdFormField(forms.UUIDField):
    """A stream ID as an editor gives it: the ID, or the stream's dashboard URL."""

    def to_python(self, value):
        if isinstance(value, str) and value.strip():
            # What is neither an ID nor a dashboard URL is left to the UUID field, whose
            # error says what an ID looks like.
            with contextlib.suppress(InvalidStreamId):
                value = stream_id_from_text(value)
        return super().to_python(value)


class StreamIdField(models.UUIDField):
    """A UUID field that reads dashboard URLs and says what a stream ID looks like."""

    def formfield(self, **kwargs):
        kwargs.setdefault("form_class", StreamIdFormField)
        kwargs.setdefault(
            "error_messages",
            {
                "invalid": _(
                    "This is not a nanoStream stream ID. A stream ID is a UUID: 32 hex "
                    "digits in groups of 8-4-4-4-12, such as "
                    "1dec3bbc-758b-4879-a202-7ae877d511ba; the address of the stream's "
                    "page in the nanoStream dashboard works too."
                )
            },
        )
        return super().formfield(**kwargs)


STATUS_CHOICES = [
    (READY, _("Ready")),
    (UPCOMING, _("Upcoming")),
    (LIVE, _("Live")),
    (PROCESSING, _("Processing")),
    (UNAVAILABLE, _("Unavailable")),
    (UNVERIFIED, _("Not verified")),
]


class StoredSnapshot(models.Model):
    """The columns a snapshot is kept in, the same for a snippet and a bare stream id.

    Written only through :meth:`keep`, never by editors. The answer is JSON kept as
    text, decoded only when read: a page whose players are remembered never needs it.
    """

    snapshot_json = models.TextField(blank=True, editable=False)
    synced_at = models.DateTimeField(_("last synced"), null=True, blank=True, editable=False)
    fresh_until = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.CharField(max_length=32, blank=True, editable=False)
    last_error_at = models.DateTimeField(null=True, blank=True, editable=False)
    failures = models.PositiveSmallIntegerField(default=0, editable=False)
    no_recording_since = models.DateTimeField(null=True, blank=True, editable=False)
    # Derived from the snapshot on every change, so listings filter and sort in SQL.
    status = models.CharField(
        _("state"), max_length=16, choices=STATUS_CHOICES, default=UNVERIFIED, editable=False
    )
    recording_count = models.PositiveIntegerField(_("recordings"), default=0, editable=False)
    bintu_tags = models.TextField(_("nanoStream tags"), blank=True, editable=False)

    SNAPSHOT_FIELDS = [
        "snapshot_json",
        "synced_at",
        "fresh_until",
        "last_error",
        "last_error_at",
        "failures",
        "no_recording_since",
        "status",
        "recording_count",
        "bintu_tags",
    ]

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        if kwargs.get("update_fields") is None or kwargs["update_fields"]:
            streams_changed(self._state.db)

    def delete(self, *args, **kwargs):
        using = self._state.db
        deleted = super().delete(*args, **kwargs)
        streams_changed(using)
        return deleted

    @property
    def stream_id_str(self) -> str:
        # Remembered while stream_id is the same object: str(UUID) costs a microsecond,
        # and a render asks for each stream's several times.
        value = self.stream_id
        known = self.__dict__.get("_stream_id_str")
        if known is None or known[0] is not value:
            known = self.__dict__["_stream_id_str"] = (value, str(value))
        return known[1]

    @property
    def snapshot(self) -> Snapshot:
        """What these columns say, memoised per instance (a player reads it often)."""
        if "_snapshot" not in self.__dict__:
            self.__dict__["_snapshot"] = Snapshot(
                stream_id=self.stream_id_str,
                stream=self._stored_stream(),
                fetched_at=_timestamp(self.synced_at),
                fresh_until=_timestamp(self.fresh_until) or 0.0,
                error=self.last_error,
                error_at=_timestamp(self.last_error_at),
                failures=self.failures,
                no_recording_since=_timestamp(self.no_recording_since),
            )
        return self.__dict__["_snapshot"]

    def _stored_stream(self) -> Stream | None:
        # Decoded on every read: a page whose players are remembered, and a stale page
        # whose refreshes are queued, never read it; a process-local memo of parsed
        # answers did not pay for itself in the benchmark.
        if not self.snapshot_json:
            return None
        try:
            return Stream.from_dict(json.loads(self.snapshot_json))
        except (ValueError, TypeError, KeyError):
            # A row damaged outside the package: treated as never fetched, and fetched.
            logger.warning("Ignoring an unreadable snapshot of stream %s", self.stream_id)
            return None

    def keep(self, snapshot: Snapshot) -> None:
        """Put ``snapshot`` in the columns (not saved). The caller has merged it
        (:func:`wagtail_nanovod.snapshot.newest`): this stores, it does not decide."""
        stream = snapshot.stream
        self.snapshot_json = json.dumps(stream.to_dict(), separators=(",", ":")) if stream else ""
        self.synced_at = _datetime(snapshot.fetched_at)
        self.fresh_until = _datetime(snapshot.fresh_until)
        self.last_error = snapshot.error
        self.last_error_at = _datetime(snapshot.error_at)
        self.failures = snapshot.failures
        self.no_recording_since = _datetime(snapshot.no_recording_since)
        self.status = state_of(snapshot)[0]
        self.recording_count = len(stream.recordings) if stream else 0
        self.bintu_tags = " ".join(stream.tags) if stream else ""
        self.__dict__["_snapshot"] = snapshot

    def refresh_from_db(self, *args, **kwargs) -> None:
        self.__dict__.pop("_snapshot", None)  # the columns it was read from may change
        super().refresh_from_db(*args, **kwargs)

    def is_fresh(self, now: datetime) -> bool:
        """Whether the stored snapshot needs no news now (no JSON decoded)."""
        return self.fresh_until is not None and self.fresh_until > now

    def is_known(self) -> bool:
        """Whether bintu ever answered for this stream (no JSON decoded)."""
        return bool(self.snapshot_json or self.last_error)

    def last_news(self) -> float | None:
        """When bintu last answered, with a stream or a failure (no JSON decoded)."""
        # Remembered while both columns hold the same objects (a stale page asks for
        # every stream's on every view).
        synced, failed = self.synced_at, self.last_error_at
        known = self.__dict__.get("_last_news")
        if known is None or known[0] is not synced or known[1] is not failed:
            times = [t.timestamp() for t in (synced, failed) if t]
            known = self.__dict__["_last_news"] = (synced, failed, max(times, default=None))
        return known[2]


def new_row_version() -> int:
    """A fresh ``row_version``: random, not a counter, so two processes writing the same
    row at once can never leave one number on two different contents."""
    return random.getrandbits(62)


class StoredSnapshotQuerySet(models.QuerySet):
    """Writes that every process must hear of: the state endpoint's remembered answers
    end with them (:mod:`wagtail_nanovod.state_answers`). ``save()`` and ``delete()`` of
    an instance tell it too (:class:`StoredSnapshot`)."""

    def update(self, **kwargs):
        # bulk_update comes through here too.
        updated = super().update(**kwargs)
        streams_changed(self.db)
        return updated

    def bulk_create(self, *args, **kwargs):
        created = super().bulk_create(*args, **kwargs)
        streams_changed(self.db)
        return created

    def delete(self):
        deleted = super().delete()
        streams_changed(self.db)
        return deleted


class VodStreamQuerySet(StoredSnapshotQuerySet):
    """Queries for streams."""

    def update(self, **kwargs):
        # Every write gets a new row_version, so a process that remembers a row knows
        # it changed (see render_rows).
        kwargs.setdefault("row_version", new_row_version())
        return super().update(**kwargs)

    #: What an editor's search looks in.
    SEARCH_FIELDS = ("title", "stream_id", "bintu_tags", "description")

    def search(self, text: str):
        """Streams matching what an editor typed or pasted, in SQL: a stream ID or the
        address of its dashboard page finds that stream; otherwise every word must be in
        the title, the stream ID (whole or part), a tag or the description.

        Not through a search backend: none finds a fragment of a UUID, and a registry
        of streams is small enough for SQL.
        """
        text = (text or "").strip()
        if not text:
            return self
        with contextlib.suppress(InvalidStreamId):
            return self.filter(stream_id=stream_id_from_text(text))
        queryset = self
        for word in text.split():
            match = models.Q()
            for field in self.SEARCH_FIELDS:
                match |= models.Q(**{f"{field}__icontains": word})
            queryset = queryset.filter(match)
        return queryset

    def for_listing(self):
        """What a row of the listing or the chooser needs, in a fixed number of queries:
        the poster with its renditions, no captions."""
        return (
            self.select_related("poster").prefetch_related("poster__renditions").defer("captions")
        )

    def for_render(self):
        """What a player needs in the same query: the poster, and its renditions.

        Captions are left out: few streams have any, and decoding a StreamField per row
        cost a page of fifty players a third of its render. ``has_captions`` says which
        rows need theirs, loaded together (``load_captions`` of the render batch).
        """
        return (
            self.select_related("poster").prefetch_related("poster__renditions").defer("captions")
        )


class VodStream(index.Indexed, StoredSnapshot):
    """A nanoStream Cloud stream whose recordings editors put on pages."""

    STATUS_CHOICES = STATUS_CHOICES

    stream_id = StreamIdField(_("stream ID"), unique=True, help_text=STREAM_ID_HELP)
    title = models.CharField(_("title"), max_length=255)
    description = models.TextField(_("description"), blank=True)
    region = models.CharField(
        _("storage region"),
        max_length=16,
        choices=region_choices,
        default=AUTO_REGION,
        help_text=_(
            "Where the recordings are stored. Automatic reads it from the recording URL; "
            "a region set here moves playback to that region's host."
        ),
    )
    poster = models.ForeignKey(
        get_image_model_string(),
        verbose_name=_("poster"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Shown before playback; replaces the thumbnail from nanoStream."),
    )
    captions = StreamField(
        [("track", CaptionBlock())],
        blank=True,
        verbose_name=_("captions"),
        help_text=_("Subtitles for every page showing this stream, as WebVTT documents."),
    )
    # Kept by save(), so that a page learns which streams have captions without
    # loading them.
    has_captions = models.BooleanField(default=False, editable=False)
    # New with every write of the row (save, update, bulk_update): what a render needs to
    # know whether the copy of the row it remembers is still the row.
    row_version = models.BigIntegerField(default=new_row_version, editable=False)

    objects = VodStreamQuerySet.as_manager()

    search_fields = [
        index.SearchField("title"),
        index.SearchField("description"),
        index.SearchField("bintu_tags"),
        index.AutocompleteField("title"),
        index.FilterField("status"),
        index.FilterField("region"),
        index.FilterField("stream_id"),
    ]

    class Meta:
        # "stream", not "nanoStream stream": Wagtail capitalises the first letter of
        # these in titles and messages, and the product is spelt "nanoStream".
        verbose_name = _("stream")
        verbose_name_plural = _("streams")
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs):
        if kwargs.get("update_fields") is not None and not kwargs["update_fields"]:
            return super().save(*args, **kwargs)  # Django writes nothing: neither do we
        also = {"row_version"}
        self.row_version = new_row_version()
        if "captions" in self.__dict__:  # not when saved with captions deferred
            self.has_captions = bool(len(self.captions.raw_data))
            also.add("has_captions")
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], *also}
        super().save(*args, **kwargs)

    def forget_snapshot(self) -> None:
        """Drop the snapshot (not saved): it described another stream id."""
        self.keep(Snapshot(self.stream_id_str))

    def make_current(self) -> None:
        """Bring this stream, and those loaded with it, up to date for showing (once)."""
        batch = self.__dict__.get("_render_batch")
        if batch is not None:
            batch.bring_up_to_date()

    def playback(self, *, recording_index: int | None = None) -> Playback:
        """What the player shows for this stream, with the editor's region applied."""
        self.make_current()
        return playback(self.snapshot, region=self.region, recording_index=recording_index)

    def render_key(self) -> tuple:
        """Everything of this row that the player's markup depends on, for memoising it.

        The snapshot changes only with a fetch (``synced_at``) or a failure recorded
        beside it (``last_error``, which can make a stream unavailable). The end of the
        processing grace period changes the state without either, so it is in the key
        too (bintu may be down when it comes).
        """
        return (
            self.pk,
            # Any write of the row, and a change of its poster's renditions (render_rows).
            self.row_version,
            self.stream_id,
            self.synced_at,
            self.last_error,
            self.status,
            self.status == PROCESSING and grace_over(_timestamp(self.no_recording_since)),
            self.region,
            self.title,
            self.description,
            image_key(self.poster) if self.poster_id else None,
            self.caption_tracks,
        )

    @property
    def caption_tracks(self) -> tuple[Track, ...]:
        """The ``<track>`` elements of this stream's captions (documents load only if any)."""
        if "caption_tracks" not in self.__dict__:
            tracks = ()
            if self.has_captions:
                batch = self.__dict__.get("_render_batch")
                if batch is not None:
                    batch.load_captions()
                tracks = tracks_of(child.value for child in self.captions)
            self.__dict__["caption_tracks"] = tracks
        return self.__dict__["caption_tracks"]


class StreamSnapshot(StoredSnapshot):
    """What we know of a stream shown by its id alone (the template tag), no snippet.

    The same promise as a snippet's: a cache flush or a restart loses nothing a page
    could show.
    """

    stream_id = models.UUIDField(unique=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True, editable=False)

    objects = StoredSnapshotQuerySet.as_manager()

    class Meta:
        verbose_name = _("stream snapshot")

    def __str__(self) -> str:
        return str(self.stream_id)


def image_key(image) -> tuple:
    """What a rendition of an image depends on: the file and the focal point."""
    return (
        image.pk,
        image.file.name,
        image.focal_point_x,
        image.focal_point_y,
        image.focal_point_width,
        image.focal_point_height,
    )


def _timestamp(value: datetime | None) -> float | None:
    return value.timestamp() if value else None


def _datetime(value: float | None) -> datetime | None:
    return datetime.fromtimestamp(value, tz=UTC) if value else None
