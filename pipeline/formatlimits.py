"""The frame sizes each animation format can hold, so that verify can say so before a build
and an encoder is never handed frames it fails on with a traceback or a crash.

Measured with the encoders the pipeline runs: GIF stores sizes in 16 bits; libwebp takes at
most 16383 px a side; x264 16384; SVT-AV1 (4.2, in imageio-ffmpeg's ffmpeg) 16384 wide and
8704 high, and on frames of at most 8x8 px it corrupts its own memory and ffmpeg aborts
(every such size tried but 2x2 did: all of them are refused, rather than trust that one).
Videos are measured after their padding to even sizes.
"""
from __future__ import annotations

FORMAT_NAMES = {"gif": "GIF", "webp": "WebP", "webm": "WebM", "mp4": "MP4", "avif": "AVIF"}


def size_problem(fmt: str, codec: str, width: int, height: int) -> str | None:
    """Why frames of `width` x `height` cannot be written as `fmt` (for WebM, in `codec`),
    or None when they can."""
    size = f"{width}x{height}"
    if fmt in ("webm", "mp4"):
        width, height = width + width % 2, height + height % 2
    name = FORMAT_NAMES.get(fmt, fmt)
    largest = {"gif": (65535, 65535), "webp": (16383, 16383), "mp4": (16384, 16384)}.get(fmt)
    if fmt == "webm" and codec == "av1":
        largest = (16384, 8704)
        if width <= 8 and height <= 8:
            return (f"frames of {size} px are too small for {name} in AV1: SVT-AV1 fails on frames of "
                    "at most 8x8 px; render them larger, or set [webm] codec = \"vp9\"")
    if largest and (width > largest[0] or height > largest[1]):
        return (f"frames of {size} px are too large for {name}, which holds at most "
                f"{largest[0]}x{largest[1]} px; render them smaller")
    return None
