"""The `thumbnails` and `frames` tasks: one sub-task per frame sequence and kind of output.

`thumbnails` makes `X-thumb.png`, `X-thumb.webp` and the srcset widths of every gallery
frame; `frames` copies the frames themselves, losslessly re-compressed.

Why not one sub-task per file: a site of 5,000 frames would have 15,000 of them, and doit's
bookkeeping alone (~100 µs a task) would make a no-op run take seconds. Grouping the files of
one sequence keeps the rebuild precise all the same: doit hands each action the frames that
`changed`, and the action redoes only their outputs (plus any that are missing). When a
sub-task runs with nothing changed, its settings changed, and everything is redone. Each kind
(PNG, WebP, each srcset width) is its own sub-task, so changing WebP quality rebuilds WebP only.
"""
from __future__ import annotations

import os
import posixpath
from pathlib import Path

from doit.exceptions import TaskFailed
from doit.tools import config_changed

from .. import versions
from ..catalog import FRAME_NAME
from ..plan import frame_outputs, thumbnail_format, thumbnail_outputs
from ..problems import PipelineError
from ..verify import ImageRoot


def run_thumbnails(jobs: list[tuple[str, str]], width: int, kind: str, webp_quality: int,
                   min_ssim: float, sources: ImageRoot, changed: list[str]):
    """doit action: write the thumbnails of the `jobs` (source, target) whose source changed.

    Every job is attempted; the sources that cannot be read fail the task together.
    """
    from .. import thumbnails  # numpy and Pillow: only where an action runs

    def make(source: Path, target: Path):
        thumbnails.make_thumbnail(source, target, width, kind=kind, webp_quality=webp_quality,
                                  min_ssim=min_ssim)
    return _run_batch(jobs, changed, make, sources)


def run_frame_copies(jobs: list[tuple[str, str]], sources: ImageRoot, changed: list[str]):
    """doit action: copy the gallery frames that changed into the bundle, losslessly re-compressed."""
    from .. import pngcopy

    return _run_batch(jobs, changed, pngcopy.copy_frame, sources)


def _run_batch(jobs, changed, make, sources: ImageRoot):
    """Run `make` for the jobs to redo. Each source is first checked as verify checks it (never
    opened when unsafe; a bomb refused unread), and what fails is collected, naming the file."""
    redo = set(changed)
    failures = []
    for source, target in jobs:
        if redo and source not in redo and Path(target).exists():
            continue
        check, message = sources.check(os.path.relpath(source, sources.root))
        if check.problem or not check.exists:
            failures.append(message or f"'{source}' does not exist")
            continue
        try:
            make(Path(source), Path(target))
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


def thumbnail_tasks(site):
    settings = site.settings
    options = settings.thumbnails
    source_dir, images = str(settings.images_dir), str(settings.build_dir / "images")
    encoder = versions.encoder("thumbnails", settings.build_dir)
    for pattern, frames in sequences(frame_outputs(site.catalog)).items():
        # frames of one sequence share their extension, so each has the same kinds of output
        for outputs in zip(*(thumbnail_outputs(frame, settings) for frame in frames)):
            width = outputs[0].width
            fmt = thumbnail_format(outputs[0].path)
            shaping = {"width": width, "encoder": encoder}
            shaping.update({"png": {"min_ssim": options.min_ssim},
                            "webp": {"quality": options.webp_quality}}.get(fmt, {}))
            jobs = [(os.path.join(source_dir, o.sources[0]), os.path.join(images, o.path)) for o in outputs]
            yield {
                "name": f"images/{_pattern_of(pattern, outputs[0].path, frames[0])}",
                "actions": [(run_thumbnails, [jobs, width, fmt, options.webp_quality, options.min_ssim,
                                              _source_root(settings)])],
                "file_dep": [source for source, _ in jobs],
                "targets": [target for _, target in jobs],
                "uptodate": [config_changed(shaping)],
                "clean": True,
            }


def frame_tasks(site):
    settings = site.settings
    source_dir, images = str(settings.images_dir), str(settings.build_dir / "images")
    encoder = versions.encoder("frame-copy", settings.build_dir)
    for pattern, frames in sequences(frame_outputs(site.catalog)).items():
        jobs = [(os.path.join(source_dir, frame), os.path.join(images, frame)) for frame in frames]
        yield {
            "name": f"images/{pattern}",
            "actions": [(run_frame_copies, [jobs, _source_root(settings)])],
            "file_dep": [source for source, _ in jobs],
            "targets": [target for _, target in jobs],
            "uptodate": [config_changed({"encoder": encoder})],
            "clean": True,
        }


def _source_root(settings) -> ImageRoot:
    return ImageRoot(settings.images_dir, max_pixels=settings.verify.max_pixels)


def _pattern_of(pattern: str, first_output: str, first_frame: str) -> str:
    """The sub-task name: the sequence pattern with the output's suffix, e.g. `X-*-thumb.webp`."""
    stem = posixpath.splitext(first_frame)[0]
    return pattern.rpartition(".")[0] + first_output[len(stem):] if "*" in pattern else first_output
