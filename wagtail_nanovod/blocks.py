"""The StreamField block: a chosen VodStream snippet and how to play it."""

from __future__ import annotations

from datetime import UTC, datetime

from django.core.exceptions import ValidationError
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from wagtail import blocks
from wagtail.blocks.struct_block import StructBlockValidationError
from wagtail.fields import StreamField
from wagtail.images.blocks import ImageChooserBlock
from wagtail.snippets.blocks import SnippetChooserBlock

from .captions import CaptionBlock, tracks_of
from .models import VodStream
from .playback import playback
from .player import (
    POSTER_SRCSET,
    TEMPLATE,
    PlayerOptions,
    base_url_of,
    block_environment,
    player_context,
    published_page_id,
    render_block_player,
    stylesheet_link,
)
from .render_rows import streams_for_render
from .resolver import RenderBatch
from .snapshot import is_active, playable_recordings
from .times import TimeOffsetBlock, format_offset

#: Defaults of these types can be shared by all the values of a page.
_IMMUTABLE = (type(None), str, int, float, bool)
_NO_DEFAULT = object()


class VodStreamChooserBlock(SnippetChooserBlock):
    """Chooses a VodStream; all of a page's streams load in one query, posters included."""

    def __init__(self, **kwargs):
        super().__init__(VodStream, **kwargs)

    def bulk_to_python(self, values):
        # Wagtail hands every VOD block of a StreamField to this at once: one query for
        # the page (two when this process does not remember some of its rows), then one
        # resolver pass for all when the first is rendered. The same stream twice on a
        # page shares one instance.
        found = streams_for_render([value for value in values if value is not None])
        RenderBatch(found.values())
        return [found.get(value) for value in values]


class PosterChooserBlock(ImageChooserBlock):
    """An image chooser whose images arrive with their poster rendition, in bulk."""

    @cached_property
    def _queryset(self):
        return self.target_model.objects.prefetch_renditions(
            *(spec for spec, _width in POSTER_SRCSET)
        )

    def bulk_to_python(self, values):
        found = self._queryset.in_bulk([value for value in values if value is not None])
        return [found.get(value) for value in values]


class VodBlock(blocks.StructBlock):
    """A recording of a nanoStream stream, played from the region it is stored in."""

    stream = VodStreamChooserBlock(label=_("Stream"))
    recording = blocks.IntegerBlock(
        label=_("Recording number"),
        required=False,
        min_value=1,
        help_text=_("Empty: the latest recording. Otherwise the number nanoStream gave it."),
    )
    caption = blocks.CharBlock(label=_("Caption"), required=False, max_length=500)
    autoplay = blocks.BooleanBlock(
        label=_("Autoplay"),
        required=False,
        help_text=_("Starts muted: browsers do not autoplay sound."),
    )
    loop = blocks.BooleanBlock(label=_("Loop"), required=False)
    controls = blocks.BooleanBlock(label=_("Show controls"), required=False, default=True)
    start_time = TimeOffsetBlock(
        label=_("Start at"), help_text=_("Seconds (90) or h:mm:ss (1:30). Empty: the start.")
    )
    end_time = TimeOffsetBlock(
        label=_("End at"),
        help_text=_("With a start, a clip: playback stops here. Empty: the end."),
    )
    poster = PosterChooserBlock(
        label=_("Poster"),
        required=False,
        help_text=_("Replaces the stream's poster on this page only."),
    )
    poster_priority = blocks.BooleanBlock(
        label=_("Load the poster first"),
        required=False,
        help_text=_(
            "For the first player of a page, when its poster is the largest image at the "
            "top: browsers fetch it before other images."
        ),
    )
    captions = blocks.ListBlock(
        CaptionBlock(),
        # Empty, not ListBlock's one blank item: captions are optional.
        default=[],
        label=_("Captions"),
        help_text=_("Subtitles on this page only; without any, the stream's own are used."),
    )
    click_to_load = blocks.ChoiceBlock(
        label=_("Click to load"),
        required=False,
        choices=[
            ("", _("As the site is set")),
            ("on", _("Load nothing from nanoStream until the visitor clicks")),
            ("off", _("Load the player at once")),
        ],
        help_text=_("Privacy: with click to load, visitors see the poster and a play button."),
    )

    class Meta:
        icon = "media"
        label = _("Recorded stream")
        template = TEMPLATE

    @cached_property
    def _conversion_plan(self) -> list[tuple[str, blocks.Block, bool, object]]:
        # (name, child, whether its stored value is already its Python value, the
        # default to share between values: only an immutable one, else _NO_DEFAULT)
        plan = []
        for name, child in self.child_blocks.items():
            plain = (
                type(child).bulk_to_python is blocks.Block.bulk_to_python
                and type(child).to_python is blocks.Block.to_python
            )
            default = child.get_default()
            immutable = isinstance(default, _IMMUTABLE) and not callable(child.meta.default)
            shared = default if immutable else _NO_DEFAULT
            plan.append((name, child, plain, shared))
        return plan

    def bulk_to_python(self, values):
        # StructBlock's own version asks every child to convert its list of values, even
        # an empty list, and builds a default per missing key; most children here store
        # plain values (numbers, text, booleans) that need no conversion. On a page of
        # fifty embeds that generic pass cost as much as rendering them, and on a page of
        # one it was the difference to the simplest snippet block.
        values = list(values)
        plan = self._conversion_plan
        converted = {}
        for name, child, plain, _default in plan:
            if not plain:
                present = [value[name] for value in values if name in value]
                if present:
                    values_of = list(child.bulk_to_python(present))
                    if len(values_of) != len(present):
                        raise ValueError(
                            f"{type(child).__name__}.bulk_to_python returned "
                            f"{len(values_of)} values for {len(present)}"
                        )
                    converted[name] = iter(values_of)
        value_class = self.meta.value_class
        result = []
        for value in values:
            item = {}
            for name, child, plain, default in plan:
                if name in value:
                    item[name] = value[name] if plain else next(converted[name])
                else:
                    item[name] = child.get_default() if default is _NO_DEFAULT else default
            result.append(value_class(self, item))
        return result

    def clean(self, value):
        value = super().clean(value)
        problems = {}
        problem = recording_problem(value.get("stream"), value.get("recording"))
        if problem:
            problems["recording"] = ValidationError(problem)
        for name, message in clip_problems(
            value.get("stream"),
            value.get("recording"),
            value.get("start_time"),
            value.get("end_time"),
        ).items():
            problems[name] = ValidationError(message)
        if problems:
            raise StructBlockValidationError(block_errors=problems)
        return value

    def options(self, value) -> PlayerOptions:
        """The editor's choices for this embed."""
        return PlayerOptions(
            caption=value.get("caption") or "",
            autoplay=bool(value.get("autoplay")),
            loop=bool(value.get("loop")),
            controls=bool(value.get("controls")),
            start_time=value.get("start_time"),
            end_time=value.get("end_time"),
            recording_index=value.get("recording"),
            poster=value.get("poster"),
            tracks=tracks_of(value.get("captions")),
            click_to_load={"on": True, "off": False}.get(value.get("click_to_load") or ""),
            priority=bool(value.get("poster_priority")),
        )

    def render(self, value, context=None):
        # The player of a stream whose snapshot has not changed is the same markup:
        # remembered, unless a subclass renders differently (see render_block_player).
        # The stylesheet comes with the first player of a page, outside what is remembered.
        if type(self).get_context is VodBlock.get_context and self.meta.template == TEMPLATE:
            shared = block_environment(context)
            html = render_block_player(
                value.get("stream"),
                self.options(value),
                base_url=shared.base_url,
                page_id=shared.page_id,
                secure_playback=shared.secure_playback,
            )
        else:
            html = super().render(value, context=context)
        link = stylesheet_link(context)
        return link + html if link else html  # most players: no copy of their markup

    def get_context(self, value, parent_context=None):
        context = super().get_context(value, parent_context=parent_context)
        context.update(
            player_context(
                value.get("stream"),
                self.options(value),
                base_url=base_url_of(parent_context),
                page_id=published_page_id(parent_context),
            )
        )
        return context

    def get_api_representation(self, value, context=None):
        """The resolved playback, for headless front ends: URLs, state, region, metadata."""
        stream = value.get("stream")
        # No live player here, so no secure playback token to ask for.
        player = player_context(stream, self.options(value), live_token="")
        shown = player["playback"]
        recording = shown.recording
        return {
            "stream_id": stream.stream_id_str if stream else None,
            "title": player["title"],
            "state": shown.state,
            "reason": shown.reason,
            "region": shown.region or None,
            "url": shown.url or None,
            "alternate_urls": list(shown.alternate_urls),
            "poster": player["poster_url"] or None,
            "caption": player["caption"],
            "autoplay": player["autoplay"],
            "muted": player["muted"],
            "loop": player["loop"],
            "controls": player["controls"],
            "start_time": value.get("start_time"),
            "end_time": value.get("end_time"),
            "recording": None
            if recording is None
            else {
                "index": recording.index,
                "created_at": recording.created_at.isoformat() if recording.created_at else None,
                "duration": recording.duration,
                "size": recording.size,
                "name": recording.name,
                "rendition_id": recording.rendition_id,
            },
        }


def recording_problem(stream: VodStream | None, number: int | None) -> str:
    """Why ``number`` is not a recording this stream has: "" if it is, or if nobody can
    tell yet (see :func:`_numbers`)."""
    numbers, certain = _numbers(stream)
    if number is None or number in numbers or not certain:
        return ""
    if not numbers:
        return _("This stream has no recordings yet: leave the number empty to play the latest.")
    return _("This stream has no recording %(number)s. Its recordings: %(numbers)s.") % {
        "number": number,
        "numbers": ", ".join(map(str, numbers)),
    }


def clip_problems(
    stream: VodStream | None, number: int | None, start: int | None, end: int | None
) -> dict[str, str]:
    """What is wrong with a clip's start and end, by field: an end that is not after the
    start, a point past the recording's end when bintu told its duration."""
    problems = {}
    if end is not None and end <= (start or 0):
        problems["end_time"] = _("The end must come after the start (%(start)s).") % {
            "start": format_offset(start or 0)
        }
    answer = stream.snapshot if stream is not None else None
    recording = playback(answer, recording_index=number).recording if answer else None
    duration = recording.duration if recording is not None else None
    if duration:
        for name, point in (("start_time", start), ("end_time", end)):
            if point is not None and point > duration and name not in problems:
                problems[name] = _("The recording is %(duration)s long: this is past its end.") % {
                    "duration": format_offset(round(duration))
                }
    return problems


def unchecked_recordings(page) -> list[tuple[VodStream, int]]:
    """The (stream, recording number) pairs on a page that nobody can confirm yet."""
    found = []
    for field in page._meta.get_fields():
        if isinstance(field, StreamField):
            for value in _vod_values(field.stream_block, getattr(page, field.name)):
                stream, number = value.get("stream"), value.get("recording")
                if stream is None or number is None:
                    continue
                numbers, certain = _numbers(stream)
                if number not in numbers and not certain:
                    found.append((stream, number))
    return found


def _numbers(stream: VodStream | None) -> tuple[list[int], bool]:
    """The recording numbers a stream has, as far as we know, and whether that is all:
    not while bintu has not answered, the answer is stale, the stream is about to change
    (a recording may be on its way) or its answer left the recordings out."""
    answer = stream.snapshot.stream if stream is not None else None
    if answer is None:
        return [], False
    numbers = sorted({r.index for r in playable_recordings(answer) if r.index})
    certain = (
        stream.is_fresh(datetime.now(UTC))
        and not is_active(stream.status)
        and answer.recordings_said
    )
    return numbers, certain


def _vod_values(block, value):
    """The values of the VodBlocks in a block's value, however deeply nested."""
    if value is None:
        return
    if isinstance(block, VodBlock):
        yield value
    elif isinstance(block, blocks.StreamBlock):
        for child in value:
            yield from _vod_values(child.block, child.value)
    elif isinstance(block, blocks.StructBlock):
        for name, child_block in block.child_blocks.items():
            yield from _vod_values(child_block, value.get(name))
    elif isinstance(block, blocks.ListBlock):
        for item in value:
            yield from _vod_values(block.child_block, item)
