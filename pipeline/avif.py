"""Animated AVIF through Pillow's libavif (AV1): alpha kept. Opt-in: add "avif" to formats.

Pillow offers no loop count for AVIF; libavif writes the sequence to repeat forever.
"""
from __future__ import annotations

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
