"""The `thumbnails` and `frames` tasks: one sub-task per frame sequence for each.

`thumbnails` makes `X-thumb.png`, `X-thumb.webp` and the srcset widths of every gallery
frame, from one decode of the frame; `frames` copies the frames themselves, losslessly
re-compressed.

Why not one sub-task per file: a site of 5,000 frames would have 15,000 of them, and doit's
bookkeeping (~0.3 ms a sub-task on a no-op run) would make a no-op run take seconds.
Grouping the files of one sequence keeps the rebuild precise all the same: doit hands each
action the frames that `changed`, and the action redoes only their outputs (plus any that
are missing). When a sub-task runs with nothing changed, its settings changed, and all its
files are redone: changing WebP quality also redoes the PNG thumbnails (~60 ms a frame),
but never the frame copies, which are a task of their own.
"""
from __future__ import annotations

import os
import posixpath
from pathlib import Path

from doit.exceptions import TaskFailed
from .uptodate import settings_changed

from .. import versions
from ..catalog import FRAME_NAME
from ..plan import frame_outputs, thumbnail_format, thumbnail_outputs
from ..problems import PipelineError
from ..verify import ImageRoot


def run_thumbnails(jobs: list[tuple[str, list[tuple[str, int, str]]]], webp_quality: int,
                   min_ssim: float, sources: ImageRoot, changed: list[str]):
    """doit action: write the thumbnails of the `jobs` (source, [(target, width, kind), ...])
    whose source changed or whose outputs are missing.

    Every job is attempted; the sources that cannot be read fail the task together.
    """
    from .. import thumbnails  # numpy and Pillow: only where an action runs

    def make(source: Path, outputs):
        thumbnails.make_thumbnails(source, outputs, webp_quality=webp_quality, min_ssim=min_ssim)
    return _run_batch(jobs, changed, make, sources)


def run_frame_copies(jobs: list[tuple[str, list[tuple[str]]]], sources: ImageRoot, changed: list[str]):
    """doit action: copy the gallery frames that changed into the bundle, losslessly re-compressed.
    `jobs` are (source, [(target,)])."""
    from .. import pngcopy

    def make(source: Path, outputs):
        pngcopy.copy_frame(source, Path(outputs[0][0]))
    return _run_batch(jobs, changed, make, sources)


def _run_batch(jobs, changed, make, sources: ImageRoot):
    """Run `make(source, outputs)` for the jobs to redo: every job when nothing changed (the
    task runs because its settings did), else those whose source changed or whose outputs
    are missing. Each source is first checked as verify checks it (never opened when unsafe;
    a bomb refused unread), and what fails is collected, naming the file."""
    redo = set(changed)
    failures = []
    for source, outputs in jobs:
        if redo and source not in redo and all(os.path.exists(o[0]) for o in outputs):
            continue
        check, message = sources.check(os.path.relpath(source, sources.root))
        if check.problem or not check.exists:
            failures.append(message or f"'{source}' does not exist")
            continue
        try:
            make(Path(source), outputs)
        except (PipelineError, OSError, ValueError, SyntaxError) as exc:  # Pillow's decode errors
            text = str(exc)
            failures.append(text if text.startswith(source) else f"{source}: {text}")
    return TaskFailed("\n".join(failures)) if failures else None


def sequences(frames: list[str]) -> dict[str, list[str]]:
    """Frames grouped by sequence: `muscles/png/Leg-Soleus-*` -> its frames, in order.

    A frame not named `<base>-<N>.<ext>` is a sequence of its own.
    """
    groups: dict[str, list[str]] = {}
    for frame in frames:
        folder, name = posixpath.split(frame)
        stem, ext = posixpath.splitext(name)
        match = FRAME_NAME.match(stem)
        key = posixpath.join(folder, f"{match['base']}-*{ext}") if match else frame
        groups.setdefault(key, []).append(frame)
    return groups


def gallery_sequences(site) -> dict[str, list[str]]:
    """The site's gallery frames grouped by sequence (see `sequences`)."""
    return sequences(frame_outputs(site.catalog))


def thumbnail_tasks(site, groups: dict[str, list[str]] | None = None):
    """One sub-task per frame sequence, writing every thumbnail of its frames (PNG, WebP,
    srcset widths) from one decode of each frame. `groups` are `gallery_sequences(site)`,
    when the caller has them already."""
    settings = site.settings
    options = settings.thumbnails
    # names from frame_outputs are safe and relative: joined as strings, 15,000 times
    source_dir, images = f"{settings.images_dir}/", f"{settings.build_dir / 'images'}/"
    shaping = {"width": options.width, "widths": list(options.widths), "min_ssim": options.min_ssim,
               "webp_quality": options.webp_quality, "encoder": versions.encoder("thumbnails", settings.build_dir)}
    for pattern, frames in (groups or gallery_sequences(site)).items():
        jobs = [(source_dir + frame,
                 [(images + o.path, o.width, thumbnail_format(o.path))
                  for o in thumbnail_outputs(frame, settings)])
                for frame in frames]
        yield {
            "name": f"images/{pattern}",  # `thumbnails:images/X-*.png`: the thumbnails of that sequence
            "actions": [(run_thumbnails, [jobs, options.webp_quality, options.min_ssim, _source_root(settings)])],
            "file_dep": [source for source, _ in jobs],
            "targets": [target for _, outputs in jobs for target, _, _ in outputs],
            "uptodate": [settings_changed(shaping)],
            "clean": True,
        }


def frame_tasks(site, groups: dict[str, list[str]] | None = None):
    """One sub-task per frame sequence, copying its frames. `groups` as for `thumbnail_tasks`."""
    settings = site.settings
    source_dir, images = f"{settings.images_dir}/", f"{settings.build_dir / 'images'}/"
    encoder = versions.encoder("frame-copy", settings.build_dir)
    for pattern, frames in (groups or gallery_sequences(site)).items():
        jobs = [(source_dir + frame, [(images + frame,)]) for frame in frames]
        yield {
            "name": f"images/{pattern}",
            "actions": [(run_frame_copies, [jobs, _source_root(settings)])],
            "file_dep": [source for source, _ in jobs],
            "targets": [outputs[0][0] for _, outputs in jobs],
            "uptodate": [settings_changed({"encoder": encoder})],
            "clean": True,
        }


def _source_root(settings) -> ImageRoot:
    return ImageRoot(settings.images_dir, max_pixels=settings.verify.max_pixels)
