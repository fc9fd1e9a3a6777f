"""The `gif`, `webp`, `video` (WebM + MP4) and `avif` tasks: one sub-task per animation.

Each sub-task depends on the animation's frames and on the settings that shape its format
alone, so changing WebP quality rebuilds the .webp files and nothing else. The `video`
sub-task writes WebM and MP4 together from one load of the frames: half the sub-tasks doit
has to check on every run, at the price of redoing both when the settings of one change.
"""
from __future__ import annotations

import posixpath
from pathlib import Path

from doit.exceptions import TaskFailed
from .naming import reading, subtask_name
from .uptodate import FolderListing, outputs_as_written, reading_limit, section_values, settings_changed

from .. import versions
from ..plan import ANIMATION, OutputPlan, animation_outputs, built_animations
from ..problems import PipelineError
from ..imageroot import ImageRoot

# Which [animation] settings shape a format: GIF and video are laid over the matte, only
# GIF and WebP store a loop count (AVIF always loops, video loops in the page).
TIMING_KEYS = {
    "gif": ("fps", "bounce", "loop", "matte"),
    "webp": ("fps", "bounce", "loop"),
    "avif": ("fps", "bounce"),
    "webm": ("fps", "bounce", "matte"),
    "mp4": ("fps", "bounce", "matte"),
}



def run_encode(animation, outputs: list[tuple[str, Path]], settings):
    """doit action: write one animation's files, each (format, target) of `outputs`; a
    sequence that cannot be read fails the task with verification's `page:line: code: message`."""
    from .. import encode  # the encoders (numpy, Pillow, ffmpeg): only where an action runs

    try:
        encode.encode_animation(animation, outputs, settings)
    except PipelineError as exc:
        return TaskFailed(str(exc))
    except OSError as exc:  # disk full, ffmpeg missing, ...: name the file it was writing
        return TaskFailed(f"{exc.filename or outputs[0][1]}: {exc}")
    return None


def animation_tasks(site, formats: tuple[str, ...], sources: ImageRoot, outputs: OutputPlan,
                    listing: FolderListing):
    """Sub-tasks for the `formats` among those configured: one per animation, writing its
    files in those formats (one file for `gif`, WebM and MP4 together for `video`).

    `sources` is the image root, listed once (its `files`) for every format's generator;
    `outputs` the site's `plan.output_plan`: a file that another maker claimed first is left
    to it (verify reports the clash); `listing` the build's folders, as `outputs_as_written`
    reads them.
    """
    settings = site.settings
    wanted = [f for f in settings.animation.formats if f in formats]
    if not wanted:
        return
    shaping = {fmt: _shaping(settings, fmt, versions.encoder(fmt, settings.build_dir)) for fmt in wanted}
    output_dir = f"{settings.build_dir / 'images'}/"
    for animation in built_animations(site.catalog):
        made = [o for o in animation_outputs(animation, settings)
                if o.kind in wanted and outputs.makes(o.path, (ANIMATION, animation.name))]
        if not made:
            continue  # every file is another maker's (verify reports the clash)
        frames = [f.image_url for f in animation.frames]
        targets = [output_dir + o.path for o in made]
        yield {
            "name": subtask_name("images/", _name(made)),
            "actions": [(run_encode, [animation, [(o.kind, Path(t)) for o, t in zip(made, targets)], settings])],
            "file_dep": sources.present(frames),
            "targets": targets,
            "uptodate": [settings_changed({**{o.kind: shaping[o.kind] for o in made}, "frames": frames,
                                           **reading_limit(settings)}),
                         outputs_as_written(listing)],
            "clean": True,
            "meta": reading(frames[0]),
        }


def _name(outputs) -> str:
    """`muscles/gif/X.gif`, or `muscles/gif/X.webm+mp4` for a sub-task writing both."""
    if len(outputs) == 1:
        return outputs[0].path
    stem = posixpath.splitext(outputs[0].path)[0]
    return stem + "." + "+".join(posixpath.splitext(o.path)[1][1:] for o in outputs)


def _shaping(settings, fmt: str, version: str) -> dict:
    """The settings that shape one format's files, and the encoder's version."""
    timing = {key: getattr(settings.animation, key) for key in TIMING_KEYS[fmt]}
    return {"format": fmt, fmt: section_values(getattr(settings, fmt)), "animation": timing, "encoder": version}
