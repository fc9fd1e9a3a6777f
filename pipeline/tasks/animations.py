"""The `gif`, `webp`, `video` (WebM + MP4) and `avif` tasks: one sub-task per animation file.

Each file depends on its frames and on the settings that shape it alone, so changing WebP
quality rebuilds the .webp files and nothing else.
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from doit.exceptions import TaskFailed
from doit.tools import config_changed

from .. import versions
from ..plan import animation_outputs
from ..problems import PipelineError
from ..safepaths import unsafe_reason
from ..verify import ImageRoot

# Which [animation] settings shape a format: GIF and video are laid over the matte, only
# GIF and WebP store a loop count (AVIF always loops, video loops in the page).
TIMING_KEYS = {
    "gif": ("fps", "bounce", "loop", "matte"),
    "webp": ("fps", "bounce", "loop"),
    "avif": ("fps", "bounce"),
    "webm": ("fps", "bounce", "matte"),
    "mp4": ("fps", "bounce", "matte"),
}


def run_encode(animation, fmt: str, target: Path, settings):
    """doit action: write one animation file; a sequence that cannot be read fails the task
    with verification's `page:line: code: message`."""
    from .. import encode  # the encoders (numpy, Pillow, ffmpeg): only where an action runs

    try:
        encode.encode_animation(animation, fmt, target, settings)
    except PipelineError as exc:
        return TaskFailed(str(exc))
    except OSError as exc:  # disk full, ffmpeg missing, ...: name the file it was writing
        return TaskFailed(f"{target}: {exc}")
    return None


def animation_tasks(site, formats: tuple[str, ...], sources: ImageRoot):
    """Sub-tasks for the `formats` among those configured, one per output file.

    `sources` is the image root, listed once (its `files`) for every format's generator.
    """
    settings = site.settings
    wanted = [f for f in settings.animation.formats if f in formats]
    if not wanted:
        return
    shaping = {fmt: _shaping(settings, fmt, versions.encoder(fmt, settings.build_dir)) for fmt in wanted}
    source_dir, output_dir = str(settings.images_dir), str(settings.build_dir / "images")
    seen = set()
    for animation in site.catalog.animations:
        if not animation.frames or unsafe_reason(animation.name) is not None:
            continue
        frames = [f.image_url for f in animation.frames]
        # only frames that exist: a missing one fails the action with the verify message
        # (a missing file_dep would fail with doit's own), and a failed task runs again
        present = [path for f, path in ((f, os.path.join(source_dir, f)) for f in frames)
                   if f in sources.files or unsafe_reason(f) is None and os.path.isfile(path)]
        for output in animation_outputs(animation, settings):
            if output.kind not in wanted or output.path in seen:
                continue
            seen.add(output.path)
            target = os.path.join(output_dir, output.path)
            yield {
                "name": f"images/{output.path}",
                "actions": [(run_encode, [animation, output.kind, Path(target), settings])],
                "file_dep": present,
                "targets": [target],
                "uptodate": [config_changed({**shaping[output.kind], "frames": frames})],
                "clean": True,
            }


def _shaping(settings, fmt: str, version: str) -> dict:
    """The settings that shape one format's files, and the encoder's version."""
    timing = {key: getattr(settings.animation, key) for key in TIMING_KEYS[fmt]}
    return {"format": fmt, fmt: dataclasses.asdict(getattr(settings, fmt)), "animation": timing,
            "encoder": version}
