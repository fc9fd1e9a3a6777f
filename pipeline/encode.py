"""Build one animation file: load the frame sequence, hand it to that format's encoder.

Every encoder module has the same interface, `write_<fmt>(frames, target, settings, timing,
matte)`, and an `encoder_version()`; this table is the one place they are named.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, NamedTuple

from . import avif, gif, video, webp
from .catalog import Animation
from .frames import load_sequence, parse_colour
from .settings import Settings
from .timing import timing_for
from .verify import ImageRoot


class Encoder(NamedTuple):
    write: Callable
    version: Callable[[], str]


ENCODERS = {
    "gif": Encoder(gif.write_gif, gif.encoder_version),
    "webp": Encoder(webp.write_webp, webp.encoder_version),
    "webm": Encoder(video.write_webm, video.encoder_version),
    "mp4": Encoder(video.write_mp4, video.encoder_version),
    "avif": Encoder(avif.write_avif, avif.encoder_version),
}


def encoder_version(fmt: str) -> str:
    return ENCODERS[fmt].version()


def encode_animation(animation: Animation, fmt: str, target: Path, settings: Settings) -> None:
    """Write `animation` as `fmt` at `target`.

    Raises PipelineError with verification's `page:line: code: message` when the sequence
    cannot be read; the target is then left as it was.
    """
    images = ImageRoot(settings.images_dir, max_pixels=settings.verify.max_pixels)
    frames = load_sequence(animation, images)
    timing = timing_for(len(frames), settings.animation)
    matte = parse_colour(settings.animation.matte)
    ENCODERS[fmt].write(frames, Path(target), getattr(settings, fmt), timing, matte)
