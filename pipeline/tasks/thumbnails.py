"""The `thumbnails` task: `X-thumb.png`, `X-thumb.webp` and the srcset widths of every gallery
frame, from one decode of the frame; one sub-task per frame sequence (see `batch`). Changing
WebP quality also redoes the PNG thumbnails (~60 ms a frame), but never the frame copies,
which are a task of their own (`frames`).
"""
from __future__ import annotations

from pathlib import Path

from .. import versions
from ..catalog import Reference
from ..imageroot import ImageRoot
from ..plan import FRAME_COPY, OutputPlan, thumbnail_format, thumbnail_outputs
from .batch import folders, leaving, run_batch, source_root
from .naming import reading, subtask_name
from .uptodate import FolderListing, outputs_as_written, reading_limit, settings_changed


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
    return run_batch(_thumbnail_jobs(frames, settings, left), changed, make, sources)


def _thumbnail_jobs(frames: list[Reference], settings,
                    left: frozenset[str]) -> list[tuple[Reference, str, list[tuple[str, int, str]]]]:
    """(frame, source, [(target, width, format), ...]) of each frame, without the outputs in
    `left`. Worked out where the action runs: held for every sequence while doit runs, they
    took 5 MiB at 250 animations."""
    source_dir, images = folders(settings)
    jobs = [(frame, source_dir + frame.path,
             [(images + o.path, o.width, thumbnail_format(o.path))
              for o in thumbnail_outputs(frame.path, settings) if o.path not in left])
            for frame in frames]
    return [job for job in jobs if job[2]]


def thumbnail_tasks(site, groups: dict[str, list[Reference]], sources: ImageRoot, outputs: OutputPlan,
                    listing: FolderListing):
    """One sub-task per frame sequence, writing every thumbnail of its frames (PNG, WebP,
    srcset widths) from one decode of each frame, but those another maker claimed first
    (verify reports the clash). `groups` are `gallery_sequences(site)`, `sources` the image
    root, listed once for every generator, `outputs` the site's `plan.output_plan` and
    `listing` the build's folders, as `outputs_as_written` reads them."""
    settings = site.settings
    options = settings.thumbnails
    images = folders(settings)[1]
    shaping = {"width": options.width, "widths": list(options.widths), "min_ssim": options.min_ssim,
               "webp_quality": options.webp_quality, "encoder": versions.encoder("thumbnails", settings.build_dir),
               **reading_limit(settings)}
    for pattern, frames in groups.items():
        made = [(frame, o) for frame in frames for o in thumbnail_outputs(frame.path, settings)]
        left = frozenset(o.path for frame, o in made if not outputs.makes(o.path, (FRAME_COPY, frame.path)))
        yield {
            "name": subtask_name("images/", pattern),  # `thumbnails:images/X-*.png`: the thumbnails of that sequence
            "actions": [(run_thumbnails, [frames, settings, source_root(settings), left])] if len(left) < len(made) else [],
            "file_dep": sources.present([frame.path for frame in frames]),
            "targets": [images + o.path for _, o in made if o.path not in left],
            "uptodate": [settings_changed(leaving(shaping, left)), outputs_as_written(listing)],
            "clean": True,
            "meta": reading(frames[0].path),
        }
