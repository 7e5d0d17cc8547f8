"""Subtitles for a recording: WebVTT files uploaded as Wagtail documents.

Used by the snippet (its ``captions`` field) and by the block (captions for one page),
so both validate and render them the same way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from wagtail import blocks
from wagtail.documents.blocks import DocumentChooserBlock

logger = logging.getLogger(__name__)

CAPTIONS = "captions"
SUBTITLES = "subtitles"

# Every WebVTT file starts with this (after an optional byte order mark).
_WEBVTT_SIGNATURE = b"WEBVTT"


@dataclass(frozen=True, slots=True)
class Track:
    """One ``<track>`` element of the player."""

    src: str
    srclang: str
    label: str
    #: The first track is shown by default only if the editor said so.
    default: bool = False
    #: "captions" or "subtitles" as the editor chose; "": by the page's language (see
    #: :func:`kind_of`).
    kind: str = ""


class WebVttChooserBlock(DocumentChooserBlock):
    """A document chooser that accepts WebVTT files only."""

    def clean(self, value):
        value = super().clean(value)
        if value is not None and not is_webvtt(value):
            raise ValidationError(
                _("“%(title)s” is not a WebVTT file. Captions must be a .vtt file.")
                % {"title": value.title}
            )
        return value


def is_webvtt(document) -> bool:
    """Whether a Wagtail document is a WebVTT file: its name ends in .vtt and it says so."""
    if document.file_extension.lower() != "vtt":
        return False
    try:
        with document.open_file() as handle:
            start = handle.read(len(_WEBVTT_SIGNATURE) + 3)
    except OSError:
        logger.warning("Could not read document %s to check it is WebVTT", document.pk)
        return False
    if isinstance(start, str):
        start = start.encode()
    return start.removeprefix(b"\xef\xbb\xbf").startswith(_WEBVTT_SIGNATURE)


class CaptionBlock(blocks.StructBlock):
    """One subtitles file with its language."""

    file = WebVttChooserBlock(label=_("WebVTT file"))
    language = blocks.RegexBlock(
        regex=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$",
        max_length=35,
        label=_("Language"),
        help_text=_("A language tag such as en, de or pt-BR."),
        error_messages={"invalid": _("Use a language tag such as en, de or pt-BR.")},
    )
    label = blocks.CharBlock(
        label=_("Label"),
        max_length=100,
        help_text=_("What visitors see in the player's subtitles menu, such as English."),
    )
    default = blocks.BooleanBlock(
        label=_("Show by default"), required=False, help_text=_("Subtitles on from the start.")
    )
    kind = blocks.ChoiceBlock(
        label=_("Kind"),
        required=False,
        choices=[
            ("", _("Automatic: captions in the page's language, subtitles in another")),
            (CAPTIONS, _("Captions: the dialogue and the sounds, for deaf viewers")),
            (SUBTITLES, _("Subtitles: the dialogue, for viewers who don't understand it")),
        ],
        help_text=_("Screen readers and players tell viewers which it is."),
    )

    class Meta:
        icon = "doc-full"
        label = _("Captions")


def tracks_of(captions) -> tuple[Track, ...]:
    """The ``<track>`` elements for a list of CaptionBlock values (missing files skipped)."""
    tracks = []
    for caption in captions or ():
        document = caption.get("file")
        if document is None:  # deleted since: the rest still play
            continue
        tracks.append(
            Track(
                src=document.url,
                srclang=caption.get("language") or "",
                label=caption.get("label") or "",
                default=bool(caption.get("default")) and not any(t.default for t in tracks),
                kind=caption.get("kind") or "",
            )
        )
    return tuple(tracks)


def tracks_key(tracks: tuple[Track, ...]) -> tuple:
    """What the player's markup depends on, for memoising it."""
    return tuple((t.src, t.srclang, t.label, t.default, t.kind) for t in tracks)


def kind_of(track: Track, page_language: str | None) -> str:
    """The ``kind`` of a track's element: the editor's choice, else captions for a track
    in the page's language (its viewers hear the dialogue in the language they read, so
    a track there is for those who cannot hear it) and subtitles for another."""
    if track.kind in (CAPTIONS, SUBTITLES):
        return track.kind
    same = _primary(track.srclang) == _primary(page_language or "")
    return CAPTIONS if same and track.srclang else SUBTITLES


def _primary(language: str) -> str:
    return language.replace("_", "-").split("-")[0].lower()
