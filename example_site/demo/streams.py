"""The demo streams: what the fake bintu serves and what the demo pages show.

Fixed ids, so a database from an earlier run still matches the fake of this one.
"""

DEMO_STREAMS = [
    # (stream id, title, state, region of its recording or None, what it shows)
    ("6f1d2a6e-1c9a-4c55-9d3e-0a1b2c3d4e01", "Keynote (stored in Europe)", "ended", "eu"),
    ("6f1d2a6e-1c9a-4c55-9d3e-0a1b2c3d4e02", "Panel (stored in North America)", "ended", "us"),
    ("6f1d2a6e-1c9a-4c55-9d3e-0a1b2c3d4e03", "Workshop (stored in Australia)", "ended", "au"),
    ("6f1d2a6e-1c9a-4c55-9d3e-0a1b2c3d4e04", "Closing talk (recording processing)", "ended", None),
    ("6f1d2a6e-1c9a-4c55-9d3e-0a1b2c3d4e05", "Live from the main stage", "live", None),
    # Not known to bintu at all: deleted, or a typo in the id.
    ("6f1d2a6e-1c9a-4c55-9d3e-0a1b2c3d4e06", "A stream bintu does not know", None, None),
]


def seed(bintu) -> None:
    """Register the demo streams and their recordings with a running FakeBintu."""
    for stream_id, title, state, region in DEMO_STREAMS:
        if state is None:
            continue
        bintu.add_stream(stream_id, state=state, tags=["demo", f"title:{title}"])
        if region:
            bintu.add_recording(stream_id, region=region)
