"""What the `thumbnails` and `frames` tasks share: one sub-task per frame sequence, and the
runner that redoes the frames of a sequence a sub-task is asked to.

Why not one sub-task per file: a site of 5,000 frames would have 15,000 of them, and doit's
bookkeeping (~0.3 ms a sub-task on a no-op run) would make a no-op run take seconds.
Grouping the files of one sequence keeps the common rebuild precise: when frames change
content, doit hands each action those that `changed`, and the action redoes only their
outputs. doit tells no more than that: when a target is missing it names every source as
changed, and when an `uptodate` check fails (settings, outputs written over, the list of
targets after frames were added or removed) none, and then all its files are redone.
"""
from __future__ import annotations

import os
import posixpath
from pathlib import Path

from doit.exceptions import TaskFailed

from ..atomic import remove_outputs
from ..catalog import FRAME_NAME, Reference
from ..imageroot import ImageRoot
from ..plan import frame_listings
from ..problems import PipelineError, Problem
from ..verify import frame_problem


def run_batch(jobs, changed, make, sources: ImageRoot):
    """Run `make(source, outputs)` for the jobs to redo: every job when nothing changed (the
    task runs because its settings did), else those whose source changed or whose outputs
    are missing. Each source is first checked as verify checks it (never opened when unsafe;
    a bomb refused unread), and what fails is collected, naming the page line of the frame.
    A frame that fails loses the outputs an earlier run made of it (`atomic.remove_outputs`):
    kept, the thumbnails of a frame since deleted or truncated were shipped, and the report
    showed them as built, where a fresh build has none."""
    redo = set(changed)
    failures = []
    for frame, source, outputs in jobs:
        # a source gone since the last run is not among the changed (doit no longer depends
        # on it), but it must fail all the same
        if redo and source not in redo and os.path.exists(source) and all(os.path.exists(o[0]) for o in outputs):
            continue
        failure, frame_at_fault = _made_or_why_not(frame, source, outputs, make, sources)
        if failure:
            failures.append(failure)
        if frame_at_fault:  # not when an output could not be written (a full disk): the others stay
            remove_outputs(output[0] for output in outputs)
    return TaskFailed("\n".join(failures)) if failures else None


def _made_or_why_not(frame: Reference, source: str, outputs, make, sources: ImageRoot) -> tuple[str | None, bool]:
    """Make the `outputs` of one frame: (None, False), or why they could not be made
    (`page:line: ...`) and whether the frame itself is why."""
    problem = frame_problem(frame.path, frame.page, frame.line, sources)
    if problem:
        return str(problem), True
    try:
        make(Path(source), outputs)
    except OSError as exc:
        if exc.filename and exc.filename != source:  # writing an output, not reading the frame
            return f"{frame.page}:{frame.line}: '{frame.path}': {exc}", False
        return _undecodable(frame, exc), True
    except PipelineError as exc:  # a file the writer refuses (verify lets none through): its words
        text = str(exc).removeprefix(f"{source}: ")
        return str(Problem(frame.page, frame.line, frame.path, "unreadable", f"'{frame.path}': {text}")), True
    except (ValueError, SyntaxError) as exc:  # Pillow's decode errors
        return _undecodable(frame, exc), True
    return None, False


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


def folders(settings) -> tuple[str, str]:
    """The image root and `<build>/images`, each with a final slash: names from
    frame_listings are safe and relative, so they are joined as strings, 15,000 times."""
    return f"{settings.images_dir}/", f"{settings.build_dir / 'images'}/"


def leaving(shaping: dict, left) -> dict:
    """A sub-task's settings check, with the files it leaves to another maker (see
    `plan.output_plan`): when a clash comes or goes, the sub-task runs again, so a file it
    gets back is made again even where its record predates `outputs_as_written`. A sub-task
    that leaves every file is still made, with no action, so that its record says so."""
    return {**shaping, "left": sorted(left)} if left else shaping


def source_root(settings) -> ImageRoot:
    return ImageRoot(settings.images_dir, max_pixels=settings.verify.max_pixels)
