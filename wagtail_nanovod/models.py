"""The VodStream snippet: a nanoStream stream registered by an editor, and its snapshot.

The snapshot is the last good answer from bintu plus the last failure, kept in the
database so that a page renders from its own rows even when bintu and the cache
are both gone.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime

from django import forms
from django.db import models
from django.utils.translation import gettext_lazy as _
from wagtail.fields import StreamField
from wagtail.images import get_image_model_string
from wagtail.search import index

from . import purge, resolver
from .captions import CaptionBlock, Track, tracks_of
from .conf import DEFAULTS, nanovod_settings
from .exceptions import ConfigurationError
from .parsing import Stream
from .playback import (
    AUTO_REGION,
    LIVE,
    PROCESSING,
    READY,
    UNAVAILABLE,
    UNVERIFIED,
    UPCOMING,
    Playback,
    playback,
    stream_state,
)
from .resolver import ResolvedStream
from .tasks import schedule_refresh

# Parsed snapshots by (stream id, synced_at); bounded, oldest out first.
_parsed_snapshots: dict[tuple, Stream] = {}
PARSED_SNAPSHOTS_SIZE = 4096

STREAM_ID_HELP = _(
    "The stream's id in nanoStream Cloud, a UUID such as 1dec3bbc-758b-4879-a202-7ae877d511ba "
    "(the dashboard shows it on the stream's page)."
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


class StreamIdField(models.UUIDField):
    """A UUID field whose form error says what a stream id looks like."""

    def formfield(self, **kwargs):
        kwargs.setdefault("form_class", forms.UUIDField)
        kwargs.setdefault(
            "error_messages",
            {
                "invalid": _(
                    "This is not a nanoStream stream id. A stream id is a UUID: 32 hex "
                    "digits in groups of 8-4-4-4-12, such as "
                    "1dec3bbc-758b-4879-a202-7ae877d511ba."
                )
            },
        )
        return super().formfield(**kwargs)


class VodStreamQuerySet(models.QuerySet):
    """Queries for streams, and the one call that brings many of them up to date."""

    def for_render(self):
        """What a player needs in the same query: the poster, and its renditions.

        Captions are left out: few streams have any, and decoding a StreamField per row
        cost a page of fifty players a third of its render. ``has_captions`` says which
        rows need theirs, loaded together (see :meth:`RenderBatch.load_captions`).
        """
        return (
            self.select_related("poster").prefetch_related("poster__renditions").defer("captions")
        )


class VodStream(index.Indexed, models.Model):
    """A nanoStream Cloud stream whose recordings editors put on pages."""

    STATUS_CHOICES = [
        (READY, _("Ready")),
        (UPCOMING, _("Upcoming")),
        (LIVE, _("Live")),
        (PROCESSING, _("Processing")),
        (UNAVAILABLE, _("Unavailable")),
        (UNVERIFIED, _("Not verified")),
    ]

    stream_id = StreamIdField(_("stream id"), unique=True, help_text=STREAM_ID_HELP)
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

    # The snapshot: written by the resolver's outcome, never by editors. JSON kept as
    # text, decoded only when read: a page of fifty players whose markup is remembered
    # (player.render_block_player) never needs it.
    snapshot_json = models.TextField(blank=True, editable=False)
    synced_at = models.DateTimeField(_("last synced"), null=True, blank=True, editable=False)
    fresh_until = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.CharField(max_length=32, blank=True, editable=False)
    last_error_at = models.DateTimeField(null=True, blank=True, editable=False)
    failures = models.PositiveSmallIntegerField(default=0, editable=False)
    # Derived from the snapshot on every change, so listings filter and sort in SQL.
    status = models.CharField(
        _("state"), max_length=16, choices=STATUS_CHOICES, default=UNVERIFIED, editable=False
    )
    recording_count = models.PositiveIntegerField(_("recordings"), default=0, editable=False)
    bintu_tags = models.TextField(_("nanoStream tags"), blank=True, editable=False)

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
        verbose_name = _("nanoStream recording")
        verbose_name_plural = _("nanoStream recordings")
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs):
        if "captions" in self.__dict__:  # not when saved with captions deferred
            self.has_captions = bool(len(self.captions.raw_data))
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "has_captions"}
        super().save(*args, **kwargs)

    @property
    def stream_id_str(self) -> str:
        return str(self.stream_id)

    # -- the snapshot, as the resolver sees it ------------------------------------------

    @property
    def snapshot(self) -> dict | None:
        """The last good answer as plain data (``Stream.to_dict()``), or None."""
        return json.loads(self.snapshot_json) if self.snapshot_json else None

    @snapshot.setter
    def snapshot(self, value: dict | None) -> None:
        self.snapshot_json = json.dumps(value, separators=(",", ":")) if value else ""

    def to_resolved(self) -> ResolvedStream:
        """The snapshot as a :class:`ResolvedStream`."""
        return ResolvedStream(
            stream_id=self.stream_id_str,
            stream=self._parsed_snapshot(),
            fetched_at=_timestamp(self.synced_at),
            fresh_until=_timestamp(self.fresh_until) or 0.0,
            error=self.last_error,
            error_at=_timestamp(self.last_error_at),
            failures=self.failures,
        )

    def _parsed_snapshot(self) -> Stream | None:
        # A snapshot is written only with a new synced_at, and a Stream is immutable:
        # parsed once per process and version, not once per view of a stale page.
        if not self.snapshot_json:
            return None
        key = (self.stream_id, self.synced_at)
        stream = _parsed_snapshots.get(key)
        if stream is None:
            stream = Stream.from_dict(self.snapshot)
            if len(_parsed_snapshots) >= PARSED_SNAPSHOTS_SIZE:
                _parsed_snapshots.pop(next(iter(_parsed_snapshots)), None)
            _parsed_snapshots[key] = stream
        return stream

    def apply(self, resolved: ResolvedStream) -> None:
        """Take the resolver's outcome into the snapshot fields (not saved).

        A failure with no answer of its own keeps the snapshot's last good answer:
        whatever path a failure takes, it never erases what a page can show.
        """
        if resolved.stream is None and resolved.error and self.snapshot_json:
            resolved = replace(
                resolved,
                stream=Stream.from_dict(self.snapshot),
                fetched_at=_timestamp(self.synced_at),
            )
        stream = resolved.stream
        self.snapshot = stream.to_dict() if stream else None
        self.synced_at = _datetime(resolved.fetched_at)
        self.fresh_until = _datetime(resolved.fresh_until)
        self.last_error = resolved.error
        self.last_error_at = _datetime(resolved.error_at)
        self.failures = resolved.failures
        self.status = stream_state(resolved)[0]
        self.recording_count = len(stream.recordings) if stream else 0
        self.bintu_tags = " ".join(stream.tags) if stream else ""
        self.__dict__["resolved"] = resolved

    def forget_snapshot(self) -> None:
        """Drop the snapshot (not saved): it described another stream id."""
        self.apply(ResolvedStream(self.stream_id_str))

    SNAPSHOT_FIELDS = [
        "snapshot_json",
        "synced_at",
        "fresh_until",
        "last_error",
        "last_error_at",
        "failures",
        "status",
        "recording_count",
        "bintu_tags",
    ]

    @property
    def resolved(self) -> ResolvedStream:
        """The snapshot, memoised per instance (the player reads it several times)."""
        if "resolved" not in self.__dict__:
            self.__dict__["resolved"] = self.to_resolved()
        return self.__dict__["resolved"]

    def make_current(self) -> None:
        """Bring this stream, and those loaded with it, up to date for showing (once)."""
        batch = self.__dict__.get("_render_batch")
        if batch is not None:
            batch.bring_up_to_date()

    def playback(self, *, recording_index: int | None = None) -> Playback:
        """What the player shows for this stream, with the editor's region applied."""
        self.make_current()
        return playback(self.resolved, region=self.region, recording_index=recording_index)

    def what_it_plays(self) -> tuple:
        """What a page shows of this stream, to compare before and after a refresh.

        The player's version (state, reason, URL played) and the recordings, from which
        a block may have chosen one by its index.
        """
        shown = playback(self.resolved, region=self.region)
        return (shown.version, tuple(recording.url for recording in shown.recordings))

    def render_key(self) -> tuple:
        """Everything of this row that the player's markup depends on, for memoising it.

        The snapshot changes only with a fetch (``synced_at``) or a failure recorded
        beside it (``last_error``, which can make a stream unavailable).
        """
        return (
            self.pk,
            self.stream_id,
            self.synced_at,
            self.last_error,
            self.status,
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

    def refresh_from_bintu(self) -> ResolvedStream:
        """Ask bintu now; the outcome reaches this instance and (by the resolver's
        signal) every saved row of this stream. A failure keeps the last good answer.
        """
        outcome = resolver.refresh(self.stream_id_str, known=self.to_resolved())
        self.apply(outcome)
        return outcome


class StreamSnapshot(models.Model):
    """The last answer for a stream shown by its id alone (the template tag), no snippet.

    Snippets keep their own snapshot; this keeps the same promise for bare ids: a
    cache flush or a restart loses nothing a page could show.
    """

    stream_id = models.UUIDField(unique=True, editable=False)
    #: :meth:`ResolvedStream.to_cache` of the last outcome, merged like a snippet's.
    data = models.JSONField(editable=False)
    updated_at = models.DateTimeField(auto_now=True, editable=False)

    class Meta:
        verbose_name = _("stream snapshot")

    def __str__(self) -> str:
        return str(self.stream_id)

    def to_resolved(self) -> ResolvedStream | None:
        return ResolvedStream.from_cache(str(self.stream_id), self.data)

    def apply(self, resolved: ResolvedStream) -> None:
        """Take an outcome in (not saved); a failure keeps the last good answer."""
        known = self.to_resolved() if self.data else None
        if resolved.stream is None and resolved.error and known and known.stream:
            resolved = replace(resolved, stream=known.stream, fetched_at=known.fetched_at)
        self.data = resolved.to_cache()


def resolve_bare_id(stream_id: str) -> ResolvedStream:
    """A stream without a snippet, for showing it now: snapshot row, cache, bintu.

    Like :func:`bring_up_to_date` for one id: stale is served and refreshed in the
    background; the row is written when the outcome is news.
    """
    row = StreamSnapshot.objects.filter(stream_id=stream_id).first()
    known = row.to_resolved() if row else None
    resolution = resolver.resolve_many([stream_id], known={stream_id: known} if known else {})
    outcome = resolution[stream_id]
    if outcome is not known and (outcome.stream is not None or outcome.error):
        row = row or StreamSnapshot(stream_id=stream_id)
        row.apply(outcome)
        row.save()
    if resolution.to_refresh:
        schedule_refresh(resolution.to_refresh)
    return outcome


class RenderBatch:
    """Streams loaded together (a StreamField's), brought up to date together when the
    first of them is shown, and not before: saving or editing a page asks nothing of bintu.
    """

    def __init__(self, streams: Iterable[VodStream]) -> None:
        self.streams = list(streams)
        self.done = False
        self.captions_loaded = False
        for stream in self.streams:
            stream.__dict__["_render_batch"] = self

    def bring_up_to_date(self) -> None:
        if not self.done:
            self.done = True
            bring_up_to_date(self.streams)

    def load_captions(self) -> None:
        """The deferred captions of every stream here that has some, in one query."""
        if self.captions_loaded:
            return
        self.captions_loaded = True
        wanted = [s for s in self.streams if s.has_captions and "captions" not in s.__dict__]
        if wanted:
            found = dict(
                VodStream.objects.filter(pk__in=[s.pk for s in wanted]).values_list(
                    "pk", "captions"
                )
            )
            for stream in wanted:
                stream.captions = found.get(stream.pk, [])


def bring_up_to_date(streams: Iterable[VodStream]) -> None:
    """Resolve many snippets at once, for showing them now.

    Fresh snapshots cost nothing; the rest cost one cache read together. Stale ones
    are shown as they are and refreshed in the background; never-fetched ones get
    one bounded attempt together. Snapshots are stored by :func:`store_snapshots`.
    """
    now = datetime.now(UTC)
    by_id: dict[str, list[VodStream]] = {}
    for stream in streams:
        # A fresh row needs nothing, not even its snapshot parsed: the common case.
        if stream.fresh_until is not None and stream.fresh_until > now:
            continue
        by_id.setdefault(stream.stream_id_str, []).append(stream)
    if not by_id:
        return
    if all(group[0].snapshot_json or group[0].last_error for group in by_id.values()) and (
        resolver.refresh_pending(
            by_id, fetched_at={sid: _last_news(group[0]) for sid, group in by_id.items()}
        )
    ):
        # Stale, and already being refreshed (or bintu is down): shown as they are.
        return
    # A snippet bintu never answered for knows nothing: it is "never seen", and gets
    # the bounded first attempt rather than a background refresh.
    known = {
        stream_id: group[0].resolved
        for stream_id, group in by_id.items()
        if group[0].resolved.stream is not None or group[0].resolved.error
    }
    outcome = resolver.resolve_many(by_id, known=known)
    for stream_id, group in by_id.items():
        if outcome[stream_id] is not known.get(stream_id):
            for stream in group:
                stream.apply(outcome[stream_id])
    if outcome.to_refresh:
        schedule_refresh(outcome.to_refresh)


def store_snapshots(sender, outcomes: dict[str, ResolvedStream], **kwargs) -> None:
    """Receiver of :data:`resolver.stream_resolved`: keep each snippet's snapshot.

    A few queries for any number of streams; rows are read afresh so that a snapshot
    is merged into what is stored, not into what some request had in memory.
    """
    rows = list(VodStream.objects.filter(stream_id__in=list(outcomes)))
    played = {row.pk: row.what_it_plays() for row in rows}
    for row in rows:
        row.apply(outcomes[row.stream_id_str])
    if rows:
        VodStream.objects.bulk_update(rows, VodStream.SNAPSHOT_FIELDS)
        # Pages in a front-end cache show what the stream played: purge them if that changed.
        purge.purge_pages_showing(row for row in rows if row.what_it_plays() != played[row.pk])
    # Bare ids have a row once a page showed them; background refreshes update it.
    bare = list(StreamSnapshot.objects.filter(stream_id__in=list(outcomes)))
    for snapshot in bare:
        snapshot.apply(outcomes[str(snapshot.stream_id)])
    if bare:
        StreamSnapshot.objects.bulk_update(bare, ["data", "updated_at"])


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


def _last_news(stream: VodStream) -> float | None:
    """When bintu last answered for this row, with a stream or a failure."""
    times = [_timestamp(t) for t in (stream.synced_at, stream.last_error_at) if t]
    return max(times, default=None)


def _timestamp(value: datetime | None) -> float | None:
    return value.timestamp() if value else None


def _datetime(value: float | None) -> datetime | None:
    return datetime.fromtimestamp(value, tz=UTC) if value else None
