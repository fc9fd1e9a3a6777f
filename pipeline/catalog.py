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

from .manifests import GalleryEntry, ImageEntry, Page
from .problems import Problem
from .safepaths import unsafe_reason

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

    def file(self, fmt: str) -> str:
        """Its file in format `fmt`: the GIF as the page names it (`Y.GIF` too), the others
        `<stem>.<fmt>` (`Y.webm`), as the site's templates derive them."""
        return self.name if fmt == "gif" else f"{self.stem}.{fmt}"


class Reference(NamedTuple):
    """A file a page needs under the image root; `source` is what it can be made from."""

    path: str
    page: str
    line: int
    kind: str
    source: str | None = None


class Catalog(NamedTuple):
    pages: tuple[Page, ...]  # the published ones: those the site shows
    animations: tuple[Animation, ...]
    references: tuple[Reference, ...]
    problems: tuple[Problem, ...]  # from the manifests and from matching frames to animations
    # `published: false` pages (Jekyll leaves them out): nothing is built or checked for them,
    # and the files they name (`held_back`, derived names too) are no orphans
    unpublished: tuple[Page, ...] = ()
    held_back: frozenset[str] = frozenset()


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
    unpublished = tuple(page for page in pages if not page.published)
    pages = tuple(page for page in pages if page.published)
    held_back = frozenset(ref.path for page in unpublished for ref in _page_references(page, _match_frames(page)[0]))
    animations, references, problems = [], [], []
    for page in pages:
        problems.extend(page.problems)
        problems.extend(_duplicate_frames(page))
        page_animations, matching_problems = _match_frames(page)
        animations.extend(page_animations)
        problems.extend(matching_problems)
        references.extend(_page_references(page, page_animations))
    problems.extend(_other_galleries(animations))
    return Catalog(pages, tuple(animations), tuple(references), tuple(problems), unpublished, held_back)


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
    frames carry its name, otherwise by base name (`Y.gif` <-> `Y-N.png`).

    Animations are told apart by their whole name, so `a/gif/Y.gif` and `b/gif/Y.gif` on one
    page are two animations; a frame `Y-N.png` then goes to the one in its own folder, else to
    the one in a folder beside its folder (`a/png/Y-1.png` -> `a/gif/Y.gif`), else to neither,
    with a problem saying it is ambiguous.
    """
    entries = {i.image_name: i for i in page.images if is_animation_name(i.image_name)}
    if not entries:
        return [], []
    named = {}  # base name -> every animation of that name
    for name in entries:
        named.setdefault(_basename_stem(name), []).append(name)
    frames_of = {name: [] for name in entries}
    unmatched, problems = [], []
    for frame in page.gallery:
        candidates = named.get(frame_base(frame.image_url), [])
        owner = _owner(frame.image_url, candidates)
        if owner is not None:
            frames_of[owner].append(frame)
        elif candidates:
            problems.append(_ambiguous(page, frame, [entries[c] for c in candidates]))
        else:
            unmatched.append(frame)

    if len(entries) == 1 and page.gallery and not any(frames_of.values()):
        # One animation and frames named otherwise: the gallery is still its turntable.
        ((only, entry),) = entries.items()
        frames_of[only] = list(page.gallery)
        problems.append(Problem(
            page.path, entry.line, entry.image_name, "unmatched-frame",
            f"no gallery frame is named '{_basename_stem(only)}-<N>.<ext>'; using all "
            f"{len(page.gallery)} gallery frames in page order",
        ))
        unmatched = []
    for frame in unmatched:
        names = ", ".join(f"'{s}.gif'" for s in named)
        problems.append(Problem(
            page.path, frame.line, frame.image_url, "unmatched-frame",
            f"frame is not part of any animation: its name does not match {names} "
            "(expected '<animation>-<N>.<ext>')",
        ))
    animations = [
        Animation(
            name=name,
            page=page.path,
            line=entry.line,
            title=entry.image_title or page.title,
            alt=entry.image_alt or entry.image_title or page.title,
            frames=tuple(frames_of[name]),
        )
        for name, entry in entries.items()
    ]
    return animations, problems


def _basename_stem(path: str) -> str:
    return posixpath.splitext(posixpath.basename(path))[0]


def _owner(frame_url: str, candidates: list[str]) -> str | None:
    """Which of the animations named like the frame it belongs to; None when folders don't tell."""
    if len(candidates) == 1:
        return candidates[0]
    folder = posixpath.dirname(frame_url)
    same = [name for name in candidates if posixpath.dirname(name) == folder]
    beside = [name for name in candidates if _parent_folder(name) == posixpath.dirname(folder)]
    for found in (same, beside):
        if len(found) == 1:
            return found[0]
    return None


def _parent_folder(path: str) -> str:
    """`a/gif/X.gif` -> `a`: the folder holding the file's folder."""
    return posixpath.dirname(posixpath.dirname(path))


def _ambiguous(page: Page, frame: GalleryEntry, entries: list[ImageEntry]) -> Problem:
    names = ", ".join(f"'{e.image_name}' (line {e.line})" for e in entries)
    return Problem(
        page.path, frame.line, frame.image_url, "unmatched-frame",
        f"frame is not part of any animation: its name matches {names} and its folder does not "
        "tell which (a frame goes to the only one in its own folder, else to the only one in a "
        "folder beside it: 'a/png/X-1.png' -> 'a/gif/X.gif'); move the frame or rename it",
    )


def _other_galleries(animations: list[Animation]):
    """`duplicate-reference` where a page gives an animation other frames than the first page
    that gives it frames: one file cannot be both, and it is made from the first page's."""
    first: dict[str, Animation] = {}
    for animation in animations:
        if not animation.frames or unsafe_reason(animation.name):
            continue  # an unsafe name is reported as such, and never built
        made_from = first.setdefault(animation.name, animation)
        if [f.image_url for f in animation.frames] != [f.image_url for f in made_from.frames]:
            yield Problem(
                animation.page, animation.line, animation.name, "duplicate-reference",
                f"'{animation.name}' is also made at {made_from.page}:{made_from.line}, from other "
                "gallery frames; its files are made from that page's frames, not from these",
            )


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
