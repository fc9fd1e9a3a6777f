"""The `thumbnails` and `frames` tasks: one sub-task per frame sequence for each.

`thumbnails` makes `X-thumb.png`, `X-thumb.webp` and the srcset widths of every gallery
frame, from one decode of the frame; `frames` copies the frames themselves, losslessly
re-compressed.

Why not one sub-task per file: a site of 5,000 frames would have 15,000 of them, and doit's
bookkeeping (~0.3 ms a sub-task on a no-op run) would make a no-op run take seconds.
Grouping the files of one sequence keeps the common rebuild precise: when frames change
content, doit hands each action those that `changed`, and the action redoes only their
outputs. doit tells no more than that: when a target is missing it names every source as
changed, and when an `uptodate` check fails (settings, outputs written over, the list of
targets after frames were added or removed) none, and then all its files are redone:
changing WebP quality also redoes the PNG thumbnails (~60 ms a frame), but never the frame
copies, which are a task of their own.
"""
from __future__ import annotations

import os
import posixpath
from pathlib import Path

from doit.exceptions import TaskFailed
from .uptodate import FolderListing, outputs_as_written, section_values, settings_changed

from .. import versions
from ..catalog import FRAME_NAME, Reference
from ..plan import FRAME_COPY, OutputPlan, frame_listings, thumbnail_format, thumbnail_outputs
from ..problems import PipelineError, Problem
from ..imageroot import ImageRoot
from ..verify import frame_problem


def run_thumbnails(frames: list[Reference], settings, sources: ImageRoot, left: frozenset[str],
                   changed: list[str]):
    """doit action: write the thumbnails of the `frames` (gallery references: a path relative
    to the image root, and the page line that lists it) whose source changed or whose
    outputs are missing; not those in `left`, which another maker writes (see
    `plan.output_plan`).

    Every frame is attempted; the sources that cannot be read fail the task together, each
    with verification's `page:line: code: message` (an output that cannot be written: with
    the page line and the system's error).
    """
    from .. import thumbnails  # numpy and Pillow: only where an action runs

    options = settings.thumbnails

    def make(source: Path, outputs):
        thumbnails.make_thumbnails(source, outputs, webp_quality=options.webp_quality, min_ssim=options.min_ssim)
    return _run_batch(_thumbnail_jobs(frames, settings, left), changed, make, sources)


def run_frame_copies(frames: list[Reference], settings, sources: ImageRoot, changed: list[str]):
    """doit action: copy the gallery `frames` (as for `run_thumbnails`) that changed into the
    bundle, losslessly re-compressed."""
    from .. import pngcopy

    def make(source: Path, outputs):
        pngcopy.copy_frame(source, Path(outputs[0][0]), settings.frames.level)
    return _run_batch(_frame_jobs(frames, settings), changed, make, sources)


def _thumbnail_jobs(frames: list[Reference], settings,
                    left: frozenset[str]) -> list[tuple[Reference, str, list[tuple[str, int, str]]]]:
    """(frame, source, [(target, width, format), ...]) of each frame, without the outputs in
    `left`. Worked out where the action runs: held for every sequence while doit runs, they
    took 5 MiB at 250 animations."""
    source_dir, images = _folders(settings)
    jobs = [(frame, source_dir + frame.path,
             [(images + o.path, o.width, thumbnail_format(o.path))
              for o in thumbnail_outputs(frame.path, settings) if o.path not in left])
            for frame in frames]
    return [job for job in jobs if job[2]]


def _frame_jobs(frames: list[Reference], settings) -> list[tuple[Reference, str, list[tuple[str]]]]:
    """(frame, source, [(target,)]) of each frame, as `_thumbnail_jobs`."""
    source_dir, images = _folders(settings)
    return [(frame, source_dir + frame.path, [(images + frame.path,)]) for frame in frames]


def _folders(settings) -> tuple[str, str]:
    """The image root and `<build>/images`, each with a final slash: names from
    frame_listings are safe and relative, so they are joined as strings, 15,000 times."""
    return f"{settings.images_dir}/", f"{settings.build_dir / 'images'}/"


def _run_batch(jobs, changed, make, sources: ImageRoot):
    """Run `make(source, outputs)` for the jobs to redo: every job when nothing changed (the
    task runs because its settings did), else those whose source changed or whose outputs
    are missing. Each source is first checked as verify checks it (never opened when unsafe;
    a bomb refused unread), and what fails is collected, naming the page line of the frame."""
    redo = set(changed)
    failures = []
    for frame, source, outputs in jobs:
        # a source gone since the last run is not among the changed (doit no longer depends
        # on it), but it must fail all the same
        if redo and source not in redo and os.path.exists(source) and all(os.path.exists(o[0]) for o in outputs):
            continue
        problem = frame_problem(frame.path, frame.page, frame.line, sources)
        if problem:
            failures.append(str(problem))
            continue
        try:
            make(Path(source), outputs)
        except OSError as exc:
            if exc.filename and exc.filename != source:  # writing an output, not reading the frame
                failures.append(f"{frame.page}:{frame.line}: '{frame.path}': {exc}")
            else:
                failures.append(_undecodable(frame, exc))
        except PipelineError as exc:  # a file the writer refuses (verify lets none through): its words
            text = str(exc).removeprefix(f"{source}: ")
            failures.append(str(Problem(frame.page, frame.line, frame.path, "unreadable", f"'{frame.path}': {text}")))
        except (ValueError, SyntaxError) as exc:  # Pillow's decode errors
            failures.append(_undecodable(frame, exc))
    return TaskFailed("\n".join(failures)) if failures else None


def _undecodable(frame: Reference, exc: Exception) -> str:
    return str(Problem(frame.page, frame.line, frame.path, "unreadable", f"'{frame.path}' cannot be decoded: {exc}"))


def sequences(frames: list[Reference]) -> dict[str, list[Reference]]:
    """Gallery frames grouped by sequence: `muscles/png/Leg-Soleus-*` -> its frames, in order.

    A frame not named `<base>-<N>.<ext>` is a sequence of its own.
    """
    groups: dict[str, list[Reference]] = {}
    for frame in frames:
        folder, name = posixpath.split(frame.path)
        stem, ext = posixpath.splitext(name)
        match = FRAME_NAME.match(stem)
        key = posixpath.join(folder, f"{match['base']}-*{ext}") if match else frame.path
        groups.setdefault(key, []).append(frame)
    return groups


def gallery_sequences(site) -> dict[str, list[Reference]]:
    """The site's gallery frames grouped by sequence (see `sequences`)."""
    return sequences(frame_listings(site.catalog))


def thumbnail_tasks(site, groups: dict[str, list[Reference]], sources: ImageRoot, outputs: OutputPlan,
                    listing: FolderListing):
    """One sub-task per frame sequence, writing every thumbnail of its frames (PNG, WebP,
    srcset widths) from one decode of each frame, but those another maker claimed first
    (verify reports the clash). `groups` are `gallery_sequences(site)`, `sources` the image
    root, listed once for every generator, `outputs` the site's `plan.output_plan` and
    `listing` the build's folders, as `outputs_as_written` reads them."""
    settings = site.settings
    options = settings.thumbnails
    images = _folders(settings)[1]
    shaping = {"width": options.width, "widths": list(options.widths), "min_ssim": options.min_ssim,
               "webp_quality": options.webp_quality, "encoder": versions.encoder("thumbnails", settings.build_dir)}
    for pattern, frames in groups.items():
        made = [(frame, o) for frame in frames for o in thumbnail_outputs(frame.path, settings)]
        left = frozenset(o.path for frame, o in made if not outputs.makes(o.path, (FRAME_COPY, frame.path)))
        yield {
            "name": f"images/{pattern}",  # `thumbnails:images/X-*.png`: the thumbnails of that sequence
            "actions": [(run_thumbnails, [frames, settings, _source_root(settings), left])] if len(left) < len(made) else [],
            "file_dep": sources.present([frame.path for frame in frames]),
            "targets": [images + o.path for _, o in made if o.path not in left],
            "uptodate": [settings_changed(leaving(shaping, left)), outputs_as_written(listing)],
            "clean": True,
        }


def frame_tasks(site, groups: dict[str, list[Reference]], sources: ImageRoot, outputs: OutputPlan,
                listing: FolderListing):
    """One sub-task per frame sequence, copying its frames, but a frame whose name another
    maker claimed first (a gallery listing its own animation). The arguments as for
    `thumbnail_tasks`."""
    settings = site.settings
    images = _folders(settings)[1]
    # `level` came after builds existed: at its default they stay up to date
    shaping = {"encoder": versions.encoder("frame-copy", settings.build_dir),
               **section_values(settings.frames, added=("level",))}
    for pattern, listed in groups.items():
        frames = [frame for frame in listed if outputs.makes(frame.path, (FRAME_COPY, frame.path))]
        left = [frame.path for frame in listed if frame not in frames]
        yield {
            "name": f"images/{pattern}",
            "actions": [(run_frame_copies, [frames, settings, _source_root(settings)])] if frames else [],
            "file_dep": sources.present([frame.path for frame in frames]),
            "targets": [images + frame.path for frame in frames],
            "uptodate": [settings_changed(leaving(shaping, left)), outputs_as_written(listing)],
            "clean": True,
        }


def leaving(shaping: dict, left) -> dict:
    """A sub-task's settings check, with the files it leaves to another maker (see
    `plan.output_plan`): when a clash comes or goes, the sub-task runs again, so a file it
    gets back is made again even where its record predates `outputs_as_written`. A sub-task
    that leaves every file is still made, with no action, so that its record says so."""
    return {**shaping, "left": sorted(left)} if left else shaping


def _source_root(settings) -> ImageRoot:
    return ImageRoot(settings.images_dir, max_pixels=settings.verify.max_pixels)
