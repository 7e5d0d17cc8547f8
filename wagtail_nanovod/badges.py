"""How a stream's state looks in the admin: one badge per state, the same in the listing,
the chooser and the edit view.

Wagtail's own status tag (``{% status %}``) in its own styles, told apart by state with
the admin's colour tokens (``static/wagtail_nanovod/admin.css``), and always with its
text: colour is never the only difference.
"""

from __future__ import annotations

from django.template.loader import render_to_string

from .models import STATUS_CHOICES
from .snapshot import LIVE, PROCESSING, READY, UNAVAILABLE, UNVERIFIED, UPCOMING, is_active

#: State to Wagtail status classes; the labels are the model's choices.
BADGES = {
    READY: "w-status--primary nanovod-state--ready",
    LIVE: "w-status--label nanovod-state--live",
    UPCOMING: "nanovod-state--upcoming",
    PROCESSING: "nanovod-state--processing",
    UNAVAILABLE: "w-status--label nanovod-state--unavailable",
    UNVERIFIED: "nanovod-state--unverified",
}
_LABELS = dict(STATUS_CHOICES)


def badge(state: str, stream_id: str = "") -> dict:
    """The context of ``wagtail_nanovod/admin/_state_badge.html`` for one state; with the
    stream ID, the admin script keeps the badge of a changing stream current."""
    if state not in BADGES:
        state = UNVERIFIED
    return {
        "state": state,
        "label": _LABELS[state],
        "classname": f"nanovod-state {BADGES[state]}",
        "stream_id": stream_id if is_active(state) else "",
    }


def render_badge(state: str, stream_id: str = "") -> str:
    return render_to_string(TEMPLATE, {"badge": badge(state, stream_id)})


TEMPLATE = "wagtail_nanovod/admin/_state_badge.html"
