"""Points in a recording as editors type them: seconds (``90``) or ``h:mm:ss`` (``1:30``,
``0:01:30``), kept as whole seconds."""

from __future__ import annotations

import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from wagtail import blocks

_CLOCK = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2})$")


def parse_offset(text: str) -> int:
    """Whole seconds from ``90``, ``1:30`` or ``1:02:03``; ValueError for anything else."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    found = _CLOCK.match(text)
    if not found:
        raise ValueError(text)
    hours, minutes, seconds = (int(part or 0) for part in found.groups())
    if minutes >= 60 or seconds >= 60:
        raise ValueError(text)
    return hours * 3600 + minutes * 60 + seconds


def format_offset(seconds: int) -> str:
    """``h:mm:ss``, or ``m:ss`` under an hour: how an editor reads a point in a video."""
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class TimeOffsetField(forms.CharField):
    """A point in a recording, typed as seconds or h:mm:ss."""

    default_error_messages = {
        "invalid": _("Type seconds (such as 90) or h:mm:ss (such as 1:30 or 1:02:03)."),
    }

    def prepare_value(self, value):
        return format_offset(value) if isinstance(value, int) else value

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        try:
            return parse_offset(value)
        except ValueError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None


class TimeOffsetBlock(blocks.FieldBlock):
    """A point in a recording; stored as whole seconds (as the old integer block was)."""

    def __init__(self, required=False, help_text=None, **kwargs):
        self.field = TimeOffsetField(required=required, help_text=help_text)
        super().__init__(**kwargs)

    def to_python(self, value):
        if value in (None, ""):
            return None
        return value if isinstance(value, int) else parse_offset(str(value))

    def get_prep_value(self, value):
        return value

    class Meta:
        icon = "time"
