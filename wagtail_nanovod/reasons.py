"""Why a stream has nothing to play or could not be checked, in an editor's words.

Shared by the admin views, the panel, the report and the sync command, so each
reason reads the same everywhere. Never includes anything from a request: the key
cannot reach these sentences.
"""

from django.utils.translation import gettext_lazy

# By the reason words of BintuError.reason and snapshot.state_of().
REASONS = {
    "unreachable": gettext_lazy("nanoStream could not be reached"),
    "server_error": gettext_lazy("nanoStream had a server error"),
    "rate_limited": gettext_lazy("nanoStream asked us to slow down"),
    "authentication": gettext_lazy("nanoStream refused the API key"),
    "bad_response": gettext_lazy("nanoStream sent an answer that could not be read"),
    "configuration": gettext_lazy("the nanoStream API key is not configured"),
    "not_found": gettext_lazy("nanoStream does not know this stream ID"),
    "gone": gettext_lazy("the stream was deleted in nanoStream"),
    "no_recording": gettext_lazy("the stream has no recording"),
    "not_recorded": gettext_lazy(
        "the stream ended without a recording; nanoStream records a stream when it is "
        "sent to the /rec/ ingest URL or when the organisation's recording package "
        "(live processing) is switched on for it"
    ),
    "not_playable": gettext_lazy(
        "the recordings nanoStream lists are on hosts this site may not play "
        "(the REGIONS and PLAYBACK_HOSTS settings)"
    ),
    "not_verified": gettext_lazy("not checked with nanoStream yet"),
}


def describe_reason(reason: str) -> str:
    """An editor's words for a reason word; unknown words get a generic phrase."""
    return str(REASONS.get(reason, gettext_lazy("nanoStream answered with an error")))
