"""The demo streams: what the fake bintu serves and what the demo pages show.

Fixed ids, so a database from an earlier run still matches the fake of this one.
"""

from dataclasses import dataclass
from pathlib import Path

CLIPS = Path(__file__).resolve().parent / "clips"


@dataclass(frozen=True)
class DemoStream:
    """One demo stream: how bintu knows it, and how the editor registered it."""

    stream_id: str
    title: str
    description: str
    #: bintu's state of the stream; None: bintu does not know the id at all.
    state: str | None
    #: The region storing its one recording (a clip in clips/), or None.
    recording: str | None = None
    #: The snippet's storage region ("auto": read it from the recording URL).
    region: str = "auto"
    #: False: in bintu, but no snippet yet, for an editor to register or import.
    registered: bool = True
    #: The clip whose frame is its poster, when that is not its recording's.
    poster_clip: str | None = None

    @property
    def poster(self) -> Path | None:
        """A frame of its clip, uploaded as the snippet's poster."""
        clip = self.poster_clip or self.recording
        return CLIPS / f"{clip}.jpg" if clip else None


EU, US, AU, PROCESSING, LIVE, MISSING, UNREGISTERED, LIFECYCLE, HALLWAY = DEMO_STREAMS = [
    DemoStream(
        "6f1d2a6e-1c9a-4c55-9d3e-0a1b2c3d4e01",
        "Keynote",
        "Opening keynote, streamed from Frankfurt: the recording is stored in Europe.",
        "ended",
        recording="eu",
    ),
    DemoStream(
        "6f1d2a6e-1c9a-4c55-9d3e-0a1b2c3d4e02",
        "Panel",
        "Panel discussion, streamed from New York: the recording is stored in North America.",
        "ended",
        recording="us",
    ),
    DemoStream(
        "6f1d2a6e-1c9a-4c55-9d3e-0a1b2c3d4e03",
        "Workshop",
        "Workshop, streamed from Sydney: the recording is stored in Australia, but bintu "
        "hands out the European URL, so the editor set the region to Australia.",
        "ended",
        recording="au",
        region="au",
    ),
    DemoStream(
        "6f1d2a6e-1c9a-4c55-9d3e-0a1b2c3d4e04",
        "Closing talk",
        "Ended a moment ago: bintu lists no recording yet while it is being processed.",
        "ended",
    ),
    DemoStream(
        "6f1d2a6e-1c9a-4c55-9d3e-0a1b2c3d4e05",
        "Main stage",
        "On air now: the recording comes after the broadcast.",
        "live",
    ),
    DemoStream(
        "6f1d2a6e-1c9a-4c55-9d3e-0a1b2c3d4e06",
        "Lost stream",
        "An id bintu does not know: the stream was deleted, or the id has a typo.",
        None,
    ),
    DemoStream(
        "6f1d2a6e-1c9a-4c55-9d3e-0a1b2c3d4e07",
        "Q&A",
        "Questions from the audience, streamed from New York: bintu has it, but no editor "
        "has registered it yet (by its id, or under Import from nanoStream).",
        "ended",
        recording="us",
        registered=False,
    ),
    DemoStream(
        "6f1d2a6e-1c9a-4c55-9d3e-0a1b2c3d4e08",
        "Live event",
        "A whole broadcast in under two minutes: upcoming, live, processing, then the "
        "recording, stored in Europe. Offline, demo/lifecycle.py plays bintu's side of it.",
        # Where it starts; demo/lifecycle.py moves it on (and gives it its recording).
        "created",
        poster_clip="eu",
    ),
    DemoStream(
        "6f1d2a6e-1c9a-4c55-9d3e-0a1b2c3d4e09",
        "Hallway chat",
        "Streamed from Sydney, stored in Australia, with no title in nanoStream: an editor "
        "picks it straight from nanoStream in the page editor's chooser and titles it.",
        "ended",
        recording="au",
        registered=False,
    ),
]


def seed(bintu) -> None:
    """Register the demo streams and their recordings with a running FakeBintu."""
    for demo in DEMO_STREAMS:
        if demo.state is None:
            continue
        bintu.add_stream(demo.stream_id, state=demo.state, tags=["demo"])
        if demo.recording:
            url = bintu.add_recording(
                demo.stream_id,
                region=demo.recording,
                content=(CLIPS / f"{demo.recording}.mp4").read_bytes(),
            )
            if demo.region != "auto":
                # bintu may name the default region's host for a file stored elsewhere
                # (the reason the snippet has a region field): serve the EU host's URL,
                # which answers 404, while the file sits on its own region's host.
                path = url.removeprefix(bintu.region_urls[demo.recording])
                payload = bintu.stream_payload(demo.stream_id)
                for item in payload["playout"]["web"]:
                    if item["url"] == url:
                        item["url"] = bintu.region_urls["eu"] + path
                bintu.set_payload(demo.stream_id, payload)
