"""Animated WebP through Pillow's libwebp: alpha kept, opaque sequences stored without it."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from .atomic import atomic_path
from .frames import has_alpha
from .settings import WebpSettings
from .timing import Timing


def write_webp(frames: list[np.ndarray], target: Path, settings: WebpSettings, timing: Timing,
               matte: tuple[int, int, int]) -> None:
    """Encode RGBA `frames` (shown in `timing.order`) as an animated WebP at `target`.

    `matte` is unused: WebP keeps the alpha channel, the page shows through.
    """
    mode = "RGBA" if has_alpha(frames) else "RGB"
    images = [Image.fromarray(np.ascontiguousarray(frames[i][..., : len(mode)]), mode) for i in timing.order]
    with atomic_path(target) as temporary:
        images[0].save(
            temporary, "WEBP", save_all=True, append_images=images[1:],
            duration=timing.durations(), loop=timing.loop,
            lossless=settings.lossless, quality=settings.quality, method=settings.method,
            alpha_quality=settings.alpha_quality,
            minimize_size=settings.minimize_size,
        )
