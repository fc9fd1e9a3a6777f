"""Animated WebP through Pillow's libwebp: alpha kept, opaque sequences stored without it."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .atomic import atomic_path
from .frames import images_in_play_order
from .settings import WebpSettings
from .timing import Timing


def write_webp(frames: list[np.ndarray], target: Path, settings: WebpSettings, timing: Timing,
               matte: tuple[int, int, int]) -> None:
    """Encode RGBA `frames` (shown in `timing.order`) as an animated WebP at `target`.

    `matte` is unused: WebP keeps the alpha channel, the page shows through.
    """
    images = images_in_play_order(frames, timing.order)
    with atomic_path(target) as temporary:
        images[0].save(
            temporary, "WEBP", save_all=True, append_images=images[1:],
            duration=timing.durations(), loop=timing.loop,
            lossless=settings.lossless, quality=settings.quality, method=settings.method,
            alpha_quality=settings.alpha_quality,
            minimize_size=settings.minimize_size,
        )
