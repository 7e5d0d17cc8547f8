"""Forms of the admin's import view: which streams to list, which of them to import."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .exceptions import InvalidStreamId
from .parsing import normalize_stream_id

#: Streams asked of bintu per listing, and the most one import may create: each
#: import asks bintu once per stream while an editor waits.
MAX_STREAMS = 50

STATE_CHOICES = [
    ("", _("Any state")),
    ("created", _("Created (never live)")),
    ("live", _("Live")),
    ("ended", _("Ended")),
]


class ImportFilterForm(forms.Form):
    """The GET parameters that narrow the organisation's stream list."""

    tag = forms.CharField(
        label=_("Tag"),
        required=False,
        max_length=200,
        help_text=_("Only streams with this nanoStream tag, such as event:keynote."),
    )
    state = forms.ChoiceField(label=_("State"), choices=STATE_CHOICES, required=False)

    def list_kwargs(self) -> dict:
        """Keyword arguments for ``BintuClient.list_streams``; call after ``is_valid()``."""
        tag = self.cleaned_data.get("tag", "").strip()
        state = self.cleaned_data.get("state", "")
        return {
            "tags": [tag] if tag else [],
            "states": [state] if state else [],
            "quantity": MAX_STREAMS,
        }


class StreamIdsField(forms.MultipleChoiceField):
    """Ticked stream ids: any stream id is a valid choice, bintu decides whether it exists."""

    default_error_messages = {
        "invalid_choice": _("%(value)s is not a nanoStream stream ID."),
    }

    def valid_value(self, value) -> bool:
        try:
            normalize_stream_id(value)
        except InvalidStreamId:
            return False
        return True

    def clean(self, value) -> list[str]:
        ids = [normalize_stream_id(stream_id) for stream_id in super().clean(value)]
        return list(dict.fromkeys(ids))


class ImportForm(forms.Form):
    """The POST of the import view: the streams to make snippets of."""

    stream = StreamIdsField(
        error_messages={"required": _("Tick the streams to import.")},
    )

    def clean_stream(self) -> list[str]:
        ids = self.cleaned_data["stream"]
        if len(ids) > MAX_STREAMS:
            raise forms.ValidationError(
                _("Import at most %(count)s streams at once."), params={"count": MAX_STREAMS}
            )
        return ids
