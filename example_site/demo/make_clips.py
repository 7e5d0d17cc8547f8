"""Make the demo recordings in ``clips/``: one short H.264 MP4 and one poster JPEG per region.

The files are committed, so running the example site needs none of this. To regenerate
them (only PyAV and numpy are needed, in any scratch environment)::

    python3 -m venv /tmp/avenv && /tmp/avenv/bin/pip install av numpy
    /tmp/avenv/bin/python example_site/demo/make_clips.py

Each clip is 5 s of 640x360 at 20 fps: the region's colour, its code in large block
letters, a second counter and a square that moves, so a playing video is easy to tell
from a still one. H.264 main profile, yuv420p, no audio, ``+faststart`` (the moov box
first) so a browser starts playing before the whole file is in.
"""

from pathlib import Path

import av
import numpy as np

CLIPS = Path(__file__).resolve().parent / "clips"
WIDTH, HEIGHT, FPS, SECONDS = 640, 360, 20, 5
REGIONS = {"eu": (0x1F, 0x4E, 0x9C), "us": (0xB2, 0x22, 0x34), "au": (0x00, 0x7A, 0x4D)}
WHITE = (0xFF, 0xFF, 0xFF)

# A 5x7 block font, just the characters the clips show.
FONT = {
    "A": ".###. #...# #...# ##### #...# #...# #...#",
    "E": "##### #.... #.... ####. #.... #.... #####",
    "S": ".#### #.... #.... .###. ....# ....# ####.",
    "U": "#...# #...# #...# #...# #...# #...# .###.",
    "0": ".###. #...# #..## #.#.# ##..# #...# .###.",
    "1": "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.",
    "2": ".###. #...# ....# ...#. ..#.. .#... #####",
    "3": "####. ....# ....# .###. ....# ....# ####.",
    "4": "...#. ..##. .#.#. #..#. ##### ...#. ...#.",
    "5": "##### #.... ####. ....# ....# #...# .###.",
}


def draw_text(frame: np.ndarray, text: str, x: int, y: int, scale: int) -> None:
    """Draw *text* in white with its top left corner at (x, y), each font dot scale px."""
    for char in text:
        for row, line in enumerate(FONT[char].split()):
            for col, dot in enumerate(line):
                if dot == "#":
                    top, left = y + row * scale, x + col * scale
                    frame[top : top + scale, left : left + scale] = WHITE
        x += 6 * scale


def frame_at(index: int, color: tuple[int, int, int], code: str) -> np.ndarray:
    """Frame *index* of a region's clip, as an RGB array."""
    frame = np.empty((HEIGHT, WIDTH, 3), np.uint8)
    frame[:] = color
    scale = 20  # two letters of 5x7 dots: 220x140 px
    draw_text(frame, code.upper(), (WIDTH - 11 * scale) // 2, 70, scale)
    draw_text(frame, str(index // FPS), 16, 16, 5)
    # A square crossing the frame once per clip, and a progress bar under it.
    progress = index / (FPS * SECONDS - 1)
    left = int(progress * (WIDTH - 40))
    frame[262:302, left : left + 40] = WHITE
    frame[HEIGHT - 12 :, : int(progress * WIDTH)] = WHITE
    return frame


def write_clip(path: Path, color: tuple[int, int, int], code: str) -> None:
    """Encode a region's clip as H.264 in an MP4 with the moov box first."""
    with av.open(str(path), "w", options={"movflags": "+faststart"}) as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        # One thread keeps the output the same from run to run; a keyframe every 2 s
        # lets a player seek (the demo starts one clip at 2 s).
        stream.options = {"profile": "main", "preset": "slow", "crf": "30", "threads": "1"}
        stream.codec_context.gop_size = 2 * FPS
        for index in range(FPS * SECONDS):
            frame = av.VideoFrame.from_ndarray(frame_at(index, color, code), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())


def write_poster(path: Path, color: tuple[int, int, int], code: str) -> None:
    """Save the frame at 1 s as a JPEG, for the snippet's poster."""
    with av.open(str(path), "w", format="image2") as container:
        stream = container.add_stream("mjpeg", rate=1)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuvj420p"
        stream.codec_context.qmax = stream.codec_context.qmin = 4  # good quality, ~10 KB
        frame = av.VideoFrame.from_ndarray(frame_at(FPS, color, code), format="rgb24")
        container.mux(stream.encode(frame))
        container.mux(stream.encode())


def check(path: Path) -> str:
    """Decode the clip back and describe it; fails loudly if it is not what we meant."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        frames = sum(1 for _ in container.decode(video))
        assert video.codec_context.name == "h264", video.codec_context.name
        assert not container.streams.audio
        assert frames == FPS * SECONDS, frames
        seconds = float(video.duration * video.time_base)
    head = path.read_bytes()[:64]
    assert head[4:8] == b"ftyp" and b"moov" in path.read_bytes()[:4096], "not faststart"
    return f"{path.name}: h264, {frames} frames, {seconds:.1f} s, {path.stat().st_size} bytes"


def main() -> None:
    CLIPS.mkdir(exist_ok=True)
    for code, color in REGIONS.items():
        write_clip(CLIPS / f"{code}.mp4", color, code)
        write_poster(CLIPS / f"{code}.jpg", color, code)
        print(check(CLIPS / f"{code}.mp4"), f"+ poster {(CLIPS / f'{code}.jpg').stat().st_size}")


if __name__ == "__main__":
    main()
