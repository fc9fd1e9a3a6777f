"""The `frames` task: the gallery frames themselves copied into `<build>/images`, losslessly
re-compressed; one sub-task per frame sequence (see `batch`)."""
from __future__ import annotations

from pathlib import Path

from .. import versions
from ..catalog import Reference
from ..imageroot import ImageRoot
from ..plan import FRAME_COPY, OutputPlan
from .batch import folders, leaving, run_batch, source_root
from .naming import subtask_name
from .uptodate import FolderListing, outputs_as_written, reading_limit, section_values, settings_changed


def run_frame_copies(frames: list[Reference], settings, sources: ImageRoot, changed: list[str]):
    """doit action: copy the gallery `frames` (references: a path relative to the image root,
    and the page line that lists it) that changed into the bundle, losslessly re-compressed;
    as `tasks.thumbnails.run_thumbnails` does, every frame is attempted."""
    from .. import pngcopy

    def make(source: Path, outputs):
        pngcopy.copy_frame(source, Path(outputs[0][0]), settings.frames.level)
    return run_batch(_frame_jobs(frames, settings), changed, make, sources)


def _frame_jobs(frames: list[Reference], settings) -> list[tuple[Reference, str, list[tuple[str]]]]:
    """(frame, source, [(target,)]) of each frame, as `_thumbnail_jobs`."""
    source_dir, images = folders(settings)
    return [(frame, source_dir + frame.path, [(images + frame.path,)]) for frame in frames]


def frame_tasks(site, groups: dict[str, list[Reference]], sources: ImageRoot, outputs: OutputPlan,
                listing: FolderListing):
    """One sub-task per frame sequence, copying its frames, but a frame whose name another
    maker claimed first (a gallery listing its own animation). The arguments as for
    `thumbnail_tasks`."""
    settings = site.settings
    images = folders(settings)[1]
    # `level` came after builds existed: at its default they stay up to date
    shaping = {"encoder": versions.encoder("frame-copy", settings.build_dir),
               **section_values(settings.frames, added=("level",)), **reading_limit(settings)}
    for pattern, listed in groups.items():
        frames = [frame for frame in listed if outputs.makes(frame.path, (FRAME_COPY, frame.path))]
        left = [frame.path for frame in listed if frame not in frames]
        yield {
            "name": subtask_name("images/", pattern),
            "actions": [(run_frame_copies, [frames, settings, source_root(settings)])] if frames else [],
            "file_dep": sources.present([frame.path for frame in frames]),
            "targets": [images + frame.path for frame in frames],
            "uptodate": [settings_changed(leaving(shaping, left)), outputs_as_written(listing)],
            "clean": True,
        }
