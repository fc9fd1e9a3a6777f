"""The `thumbnails` and `frames` tasks: one sub-task per file under `<build>/images`.

`thumbnails` makes `X-thumb.png`, `X-thumb.webp` and the srcset widths of every gallery
frame; `frames` copies the frames themselves, losslessly re-compressed.
"""
from __future__ import annotations

from pathlib import Path

from doit.exceptions import TaskFailed
from doit.tools import config_changed

from .. import pngcopy, thumbnails
from ..plan import frame_outputs, thumbnail_outputs
from ..problems import PipelineError

def run_thumbnail(source: Path, target: Path, width: int, kind: str, webp_quality: int, min_ssim: float):
    """doit action: write one thumbnail; a source that cannot be read fails the task."""
    try:
        thumbnails.make_thumbnail(source, target, width, kind=kind, webp_quality=webp_quality,
                                  min_ssim=min_ssim)
    except (PipelineError, OSError) as exc:
        return TaskFailed(f"{source}: {exc}")
    return None


def run_frame_copy(source: Path, target: Path):
    """doit action: copy one gallery frame into the bundle, losslessly re-compressed."""
    try:
        pngcopy.copy_frame(source, target)
    except (PipelineError, OSError) as exc:
        return TaskFailed(str(exc))
    return None


def thumbnail_tasks(site):
    settings = site.settings
    options = settings.thumbnails
    images = settings.build_dir / "images"
    for frame in frame_outputs(site.catalog):
        outputs = thumbnail_outputs(frame, settings)
        widths = [options.width, options.width, *options.widths]
        for output, width in zip(outputs, widths):
            fmt = thumbnails.thumbnail_format(output.path)
            shaping = {"width": width, "encoder": thumbnails.ENCODER}
            shaping.update({"png": {"min_ssim": options.min_ssim},
                            "webp": {"quality": options.webp_quality}}.get(fmt, {}))
            target = images / output.path
            yield {
                "name": f"images/{output.path}",
                "actions": [(run_thumbnail, [settings.images_dir / frame, target, width, fmt,
                                             options.webp_quality, options.min_ssim])],
                "file_dep": [str(settings.images_dir / frame)],
                "targets": [str(target)],
                "uptodate": [config_changed(shaping)],
                "clean": True,
            }


def frame_tasks(site):
    settings = site.settings
    for frame in frame_outputs(site.catalog):
        target = settings.build_dir / "images" / frame
        yield {
            "name": f"images/{frame}",
            "actions": [(run_frame_copy, [settings.images_dir / frame, target])],
            "file_dep": [str(settings.images_dir / frame)],
            "targets": [str(target)],
            "uptodate": [config_changed({"encoder": pngcopy.ENCODER})],
            "clean": True,
        }
