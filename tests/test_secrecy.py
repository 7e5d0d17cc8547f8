"""The key never reaches an error reporter that records the local variables of every frame.

Error trackers such as Sentry walk an exception and the exceptions it was raised from
(``__cause__``, else ``__context__`` unless suppressed) and record each frame's local
variables: mappings and sequences item by item, anything else by its ``repr``. This
walks our errors the same way and searches what it would record.
"""

import socket

import pytest

from wagtail_nanovod.client import BintuClient
from wagtail_nanovod.conf import nanovod_settings
from wagtail_nanovod.exceptions import BintuError
from wagtail_nanovod.testing import Fault

from .conftest import TEST_KEY


def recorded(value, depth=0) -> str:
    """What an error tracker records of one local variable."""
    if depth > 6:
        return ""
    if isinstance(value, dict) or (hasattr(value, "items") and callable(value.items)):
        try:
            items = list(value.items())
        except Exception:
            return repr(value)
        return " ".join(recorded(k, depth + 1) + recorded(v, depth + 1) for k, v in items)
    if isinstance(value, list | tuple | set | frozenset):
        return " ".join(recorded(item, depth + 1) for item in value)
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return repr(value)


def everything_recorded(error: BaseException) -> str:
    texts = []
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        texts += [str(error), repr(error)]
        tb = error.__traceback__
        while tb is not None:
            texts += [recorded(tb.tb_frame.f_locals)]
            tb = tb.tb_next
        error = error.__cause__ if error.__suppress_context__ else error.__context__
    return "\n".join(texts)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(
    "how",
    ["connection-refused", "hang", "dropped-connection", "500", "garbled"],
)
def test_no_frame_of_a_failed_call_holds_the_key(how, bintu, settings):
    settings.WAGTAIL_NANOVOD = {**settings.WAGTAIL_NANOVOD, "TIMEOUT": 0.5, "RETRIES": 0}
    stream_id = bintu.add_stream()
    if how == "connection-refused":
        settings.WAGTAIL_NANOVOD = {
            **settings.WAGTAIL_NANOVOD,
            "API_URL": f"http://127.0.0.1:{_closed_port()}",
        }
    elif how == "hang":
        bintu.inject(Fault.hang())
    elif how == "dropped-connection":
        bintu.inject(Fault.drop_connection())
    elif how == "500":
        bintu.inject(Fault.status(500))
    else:
        bintu.inject(Fault.garbled("playout.web", "none"))
    from wagtail_nanovod.parsing import parse_stream

    with pytest.raises(BintuError) as raised:
        parse_stream(BintuClient().stream_info(stream_id), expected_id=stream_id)
    text = everything_recorded(raised.value)
    assert "stream_info" in text or stream_id in text  # the walk saw our frames
    assert TEST_KEY not in text


def test_the_key_is_masked_wherever_it_is_shown_but_sent_as_itself(bintu):
    key = nanovod_settings.API_KEY
    # "%s" as logging formats its arguments.
    for shown in (repr(key), str(key), f"{key}", "%s" % key, f"{key!r}", repr({"k": key})):  # noqa: UP031
        assert TEST_KEY not in shown
    assert key == TEST_KEY  # it compares as the key
    BintuClient().stream_info(bintu.add_stream())
    assert bintu.requests[-1].headers["X-BINTU-APIKEY"] == TEST_KEY  # and is sent as itself


@pytest.mark.parametrize("how", ["connection-refused", "hang", "403", "not-json"])
def test_no_frame_of_a_failed_token_request_holds_the_key(how, bintu, settings):
    settings.WAGTAIL_NANOVOD = {**settings.WAGTAIL_NANOVOD, "TIMEOUT": 0.5}
    if how == "connection-refused":
        url = f"http://127.0.0.1:{_closed_port()}/api/v1/splay"
        settings.WAGTAIL_NANOVOD = {**settings.WAGTAIL_NANOVOD, "TOKEN_URL": url}
    elif how == "hang":
        bintu.inject(Fault.hang(), service="token")
    elif how == "403":
        bintu.inject(Fault.status(403, {"success": False, "message": TEST_KEY}), service="token")
    else:
        bintu.inject(Fault.malformed_json(), service="token")
    with pytest.raises(BintuError) as raised:
        BintuClient().playback_token("a-group", domain="example.com", expires_at=2_000_000_000)
    text = everything_recorded(raised.value)
    assert "playback_token" in text or "a-group" in text  # the walk saw our frames
    assert TEST_KEY not in text
    bintu.release()
