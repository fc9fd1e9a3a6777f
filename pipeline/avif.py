"""Animated AVIF through Pillow's libavif (AV1): alpha kept. Opt-in: add "avif" to formats.

Pillow offers no loop count for AVIF; libavif writes the sequence to repeat forever.
"""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from .atomic import atomic_path
from .frames import images_in_play_order
from .settings import AvifSettings
from .timing import Timing


def write_avif(frames: list[np.ndarray], target: Path, settings: AvifSettings, timing: Timing,
               matte: tuple[int, int, int]) -> None:
    """Encode RGBA `frames` (shown in `timing.order`) as an animated AVIF at `target`.

    `matte` is unused: AVIF keeps the alpha channel.
    """
    images = images_in_play_order(frames, timing.order)
    with atomic_path(target) as temporary:
        images[0].save(temporary, "AVIF", save_all=True, append_images=images[1:],
                       duration=timing.durations(), quality=settings.quality, speed=settings.speed)
        temporary.write_bytes(without_times(temporary.read_bytes()))


# boxes that hold others, down to those with times, and the boxes with times (ISO 14496-12)
_CONTAINERS = {b"moov", b"trak", b"mdia"}
_TIMED = {b"mvhd", b"tkhd", b"mdhd"}


def without_times(data: bytes) -> bytes:
    """`data`, an AVIF sequence, with the creation and modification times libavif stamps in
    its movie, track and media headers set to 0 ("unknown"): otherwise the same frames give
    other bytes a second later, and so do the asset manifest and bundle.zip."""
    out = bytearray(data)
    pending = [(0, len(out))]
    while pending:
        position, end = pending.pop()
        while position + 8 <= end:
            size, kind = struct.unpack_from(">I4s", out, position)
            header = 8
            if size == 1:  # a 64-bit size follows
                size, header = struct.unpack_from(">Q", out, position + 8)[0], 16
            elif size == 0:  # to the end
                size = end - position
            if size < header or position + size > end:
                break  # not a box: leave the rest as it is
            body = position + header
            if kind in _CONTAINERS:
                pending.append((body, position + size))
            elif kind in _TIMED and size >= header + 4:
                width = 8 if out[body] == 1 else 4  # version 1: 64-bit times
                if size >= header + 4 + 2 * width:
                    out[body + 4:body + 4 + 2 * width] = bytes(2 * width)
            position += size
    return bytes(out)
