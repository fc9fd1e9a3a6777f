"""Build one animation file: load the frame sequence, hand it to that format's encoder.

Every encoder module has the same interface, `write_<fmt>(frames, target, settings, timing,
matte)`, named in the table below. WebM and MP4 asked for together are written by
`video.write_videos` in one go. (What their bytes depend on, for the
up-to-date checks, is in `versions`.)
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from . import avif, gif, video, webp
from .atomic import remove_outputs
from .catalog import Animation
from .frames import load_sequence, parse_colour
from .formatlimits import size_problem
from .problems import PipelineError, Problem
from .settings import Settings
from .timing import timing_for
from .imageroot import ImageRoot


ENCODERS: dict[str, Callable] = {
    "gif": gif.write_gif,
    "webp": webp.write_webp,
    "webm": video.write_webm,
    "mp4": video.write_mp4,
    "avif": avif.write_avif,
}


def encode_animation(animation: Animation, outputs: list[tuple[str, Path]], settings: Settings) -> None:
    """Write `animation` in each (format, target) of `outputs`, from one load of its frames.

    Raises PipelineError with verification's `page:line: code: message` when the sequence
    cannot be read or encoded in a format (its targets are then removed: see
    `atomic.remove_outputs`), or naming the target that could not be written (the others are
    left as they were).
    """
    images = ImageRoot(settings.images_dir, max_pixels=settings.verify.max_pixels)
    try:
        frames = load_sequence(animation, images)
        height, width = frames[0].shape[:2]
        for fmt, _ in outputs:
            problem = size_problem(fmt, settings.webm.codec, width, height)
            if problem:  # what verify reports too
                raise PipelineError(str(Problem(animation.page, animation.line, animation.name, "unencodable", problem)))
    except PipelineError:
        remove_outputs(target for _, target in outputs)  # made from frames that make them no more
        raise
    timing = timing_for(len(frames), settings.animation)
    matte = parse_colour(settings.animation.matte)
    videos = [(fmt, Path(target), getattr(settings, fmt)) for fmt, target in outputs if fmt in video.FORMATS]
    if len(videos) > 1:  # WebM and MP4 from one ffmpeg: the frames piped and converted once
        outputs = [(fmt, target) for fmt, target in outputs if fmt not in video.FORMATS]
        _writing(", ".join(str(v[1]) for v in videos), video.write_videos, frames, videos, timing, matte)
    for fmt, target in outputs:
        _writing(target, ENCODERS[fmt], frames, Path(target), getattr(settings, fmt), timing, matte)


def _writing(target: object, write: Callable, *args) -> None:
    """`write(*args)`, an OSError turned into a PipelineError naming `target`."""
    try:
        write(*args)
    except OSError as exc:  # disk full, ffmpeg missing, ...: name the file being written
        raise PipelineError(f"{target}: {exc}") from exc
