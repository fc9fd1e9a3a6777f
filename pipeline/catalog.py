"""What the pages reference and how references relate: animations, their frames, derived names.

Pure bookkeeping over parsed pages; nothing here touches the file system. Later stages
(verification, encoders, thumbnails, bundle) all read the same `Catalog`.

The site's templates name more files than the front matter does: every gallery image `X.png`
is shown through `X-thumb.png`, and every animation `Y.gif` is played as `Y.webm` / `Y.mp4`.
Those derived names are references too.
"""
from __future__ import annotations

import posixpath
import re
from typing import NamedTuple

from .manifests import GalleryEntry, Page
from .problems import Problem

FRAME_NAME = re.compile(r"^(?P<base>.+)-(?P<number>\d+)$")

# Kinds of reference
FRAME = "frame"  # a gallery image, a source the pipeline reads
THUMBNAIL = "thumbnail"  # X-thumb.png beside a gallery image
ANIMATION = "animation"  # Y.gif, made from its frames
VIDEO = "video"  # Y.webm / Y.mp4, made from the animation's frames
IMAGE = "image"  # any other `images` entry: served as it is


class Animation(NamedTuple):
    """An animation a page names, with the gallery frames it is made from, in order."""

    name: str  # e.g. muscles/gif/Leg-Soleus.gif
    page: str
    line: int
    title: str
    alt: str
    frames: tuple[GalleryEntry, ...]

    @property
    def stem(self) -> str:
        """The name without `.gif`: outputs are `<stem>.webp`, `<stem>.webm`, ..."""
        return self.name[: -len(".gif")]


class Reference(NamedTuple):
    """A file a page needs under the image root; `source` is what it can be made from."""

    path: str
    page: str
    line: int
    kind: str
    source: str | None = None


class Catalog(NamedTuple):
    pages: tuple[Page, ...]
    animations: tuple[Animation, ...]
    references: tuple[Reference, ...]
    problems: tuple[Problem, ...]  # from the manifests and from matching frames to animations


def thumbnail_name(image_url: str) -> str:
    """`X.png` -> `X-thumb.png`, the way the site's gallery template derives it."""
    stem, dot, suffix = image_url.rpartition(".")
    return f"{stem}-thumb.{suffix}" if dot else f"{image_url}-thumb"


def video_names(animation_name: str) -> tuple[str, str]:
    stem = animation_name.rpartition(".")[0]
    return (f"{stem}.webm", f"{stem}.mp4")


def frame_base(image_url: str) -> str | None:
    """The animation base a frame belongs to by name: `a/Leg-Soleus-3.png` -> `Leg-Soleus`."""
    stem = posixpath.splitext(posixpath.basename(image_url))[0]
    match = FRAME_NAME.match(stem)
    return match["base"] if match else None


def is_animation_name(image_name: str) -> bool:
    return image_name.lower().endswith(".gif")


def build_catalog(pages: tuple[Page, ...]) -> Catalog:
    """Relate every page's entries: animations to frames, images to their derived names."""
    animations, references, problems = [], [], []
    for page in pages:
        problems.extend(page.problems)
        problems.extend(_duplicate_frames(page))
        page_animations, matching_problems = _match_frames(page)
        animations.extend(page_animations)
        problems.extend(matching_problems)
        references.extend(_page_references(page, page_animations))
    return Catalog(tuple(pages), tuple(animations), tuple(references), tuple(problems))


def _page_references(page: Page, animations: list[Animation]):
    with_frames = {a.name for a in animations if a.frames}
    for entry in page.gallery:
        yield Reference(entry.image_url, page.path, entry.line, FRAME)
        yield Reference(thumbnail_name(entry.image_url), page.path, entry.line, THUMBNAIL, entry.image_url)
    for image in page.images:
        if not is_animation_name(image.image_name):
            yield Reference(image.image_name, page.path, image.line, IMAGE)
            continue
        source = image.image_name if image.image_name in with_frames else None
        yield Reference(image.image_name, page.path, image.line, ANIMATION, source)
        for video in video_names(image.image_name):
            yield Reference(video, page.path, image.line, VIDEO, source)


def _match_frames(page: Page) -> tuple[list[Animation], list[Problem]]:
    """Give each animation its frames: all of the gallery for a page with one animation whose
    frames carry its name, otherwise by base name (`Y.gif` <-> `Y-N.png`)."""
    entries = [i for i in page.images if is_animation_name(i.image_name)]
    if not entries:
        return [], []
    stems = {posixpath.splitext(posixpath.basename(e.image_name))[0]: e for e in entries}
    frames_of = {stem: [] for stem in stems}
    unmatched = []
    for frame in page.gallery:
        base = frame_base(frame.image_url)
        if base in frames_of:
            frames_of[base].append(frame)
        else:
            unmatched.append(frame)

    problems = []
    if len(entries) == 1 and page.gallery and not any(frames_of.values()):
        # One animation and frames named otherwise: the gallery is still its turntable.
        (only,) = stems
        frames_of[only] = list(page.gallery)
        problems.append(Problem(
            page.path, entries[0].line, entries[0].image_name, "unmatched-frame",
            f"no gallery frame is named '{only}-<N>.<ext>'; using all {len(page.gallery)} "
            "gallery frames in page order",
        ))
        unmatched = []
    for frame in unmatched:
        names = ", ".join(f"'{s}.gif'" for s in stems)
        problems.append(Problem(
            page.path, frame.line, frame.image_url, "unmatched-frame",
            f"frame is not part of any animation: its name does not match {names} "
            "(expected '<animation>-<N>.<ext>')",
        ))
    animations = [
        Animation(
            name=entry.image_name,
            page=page.path,
            line=entry.line,
            title=entry.image_title or page.title,
            alt=entry.image_alt or entry.image_title or page.title,
            frames=tuple(frames_of[stem]),
        )
        for stem, entry in stems.items()
    ]
    return animations, problems


def _duplicate_frames(page: Page):
    seen = {}
    for entry in page.gallery:
        if entry.image_url in seen:
            yield Problem(
                page.path, entry.line, entry.image_url, "duplicate-reference",
                f"'{entry.image_url}' is listed twice in the gallery (first at line {seen[entry.image_url]})",
            )
        else:
            seen[entry.image_url] = entry.line
