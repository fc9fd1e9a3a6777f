"""Which files the pipeline writes, and from which sources: the one place output names are made.

Tasks use it for their targets, verification to tell pipeline outputs from orphans, and the
bundle to find stale files. Contact sheets are named here too (under `<build>/contact`). Paths are relative: sources to the image root, outputs to
`<build>/images`, so the built tree drops onto the site's image root unchanged.
"""
from __future__ import annotations

import hashlib
import math
import os
import posixpath
import re
from pathlib import Path
from typing import NamedTuple

from .atomic import NAME_MAX
from .catalog import FRAME, Animation, Catalog, Reference, thumbnail_name
from .safepaths import is_hidden, unsafe_reason
from .settings import ContactSettings, Settings


class Output(NamedTuple):
    path: str  # relative to <build>/images
    kind: str  # an animation format, 'thumbnail', 'thumbnail-webp', 'srcset' or 'frame'
    sources: tuple[str, ...]  # relative to the image root, in order
    width: int | None = None  # for thumbnails: the width they are made at


def animations_by_name(catalog: Catalog) -> dict[str, Animation]:
    """One animation per name, as every part of the build takes it: the first page's with
    gallery frames (those are what its files are made from), else the first page's (which
    then ships the file as it is). Unsafe names are left out."""
    chosen: dict[str, Animation] = {}
    for animation in catalog.animations:
        if unsafe_reason(animation.name) is not None:
            continue
        if animation.name not in chosen or animation.frames and not chosen[animation.name].frames:
            chosen[animation.name] = animation
    return chosen


def built_animations(catalog: Catalog) -> list[Animation]:
    """The animations the pipeline encodes: one per name, made from its gallery frames; not
    one with a hidden name (`a/.x.gif`), which Jekyll would not publish (verify says so)."""
    return [a for a in animations_by_name(catalog).values() if a.frames and not is_hidden(a.name)]


def animation_outputs(animation: Animation, settings: Settings) -> list[Output]:
    """One output per configured format, all made from the animation's frames."""
    frames = tuple(f.image_url for f in animation.frames)
    return [
        Output(animation.file(fmt), fmt, frames)
        for fmt in settings.animation.formats
    ]


def thumbnail_outputs(frame: str, settings: Settings) -> list[Output]:
    """`X-thumb.png` (the name the site asks for), `X-thumb.webp` and the srcset widths.

    For a WebP gallery image the name the site asks for is already `X-thumb.webp`.
    """
    stem = posixpath.splitext(frame)[0]
    width = settings.thumbnails.width
    outputs = [Output(thumbnail_name(frame), "thumbnail", (frame,), width)]
    if outputs[0].path != f"{stem}-thumb.webp":
        outputs.append(Output(f"{stem}-thumb.webp", "thumbnail-webp", (frame,), width))
    outputs += [Output(f"{stem}-{w}w.webp", "srcset", (frame,), w) for w in settings.thumbnails.widths]
    return outputs


def thumbnail_format(target_name: str) -> str:
    """The format the name the site asks for says (`X-thumb.jpg` for `X.jpg`): 'png', 'webp',
    'jpeg', 'gif', or the bare suffix of a format thumbnails cannot be written in."""
    suffix = target_name.rpartition(".")[2].lower()
    return {"jpg": "jpeg", "jpeg": "jpeg"}.get(suffix, suffix)


def frame_listings(catalog: Catalog) -> list[Reference]:
    """Every distinct, safe gallery frame, in page order, as the page and line that list it first."""
    first: dict[str, Reference] = {}
    for reference in catalog.references:
        if reference.kind == FRAME and unsafe_reason(reference.path) is None:
            first.setdefault(reference.path, reference)
    return list(first.values())


ANIMATION, FRAME_COPY = "animation", "frame"  # the two kinds of maker


class Claim(NamedTuple):
    """An output, what makes it ((ANIMATION, its name) or (FRAME_COPY, a gallery frame's
    path): the frame's copy and thumbnails) and the page line that names that."""

    output: Output
    maker: tuple[str, str]
    page: str
    line: int


class OutputPlan(NamedTuple):
    makers: dict[str, tuple[Output, tuple[str, str]]]  # output path -> (the output, what makes it)
    clashes: tuple[tuple[Claim, Claim], ...]  # (a claim on a path already taken, the claim that took it)
    overlong: tuple[Claim, ...] = ()  # outputs whose file names are longer than any file system takes

    def makes(self, path: str, maker: tuple[str, str]) -> bool:
        """Whether `maker` is the one that writes `path`."""
        entry = self.makers.get(path)
        return entry is not None and entry[1] == maker


def output_plan(catalog: Catalog, settings: Settings) -> OutputPlan:
    """Every output and what makes it. Two makers cannot write one file (doit refuses to run
    at all when two tasks share a target), so the first claim on a path makes it and a later
    one is a clash, which verify reports: animations claim first, then the gallery frames in
    page order (the copy, then the thumbnails). A gallery listing its own animation's GIF,
    or `X-1.png` and `X-1.jpg` (both make `X-1-thumb.webp`), clash."""
    makers: dict[str, tuple[Output, tuple[str, str]]] = {}
    where: dict[tuple[str, str], tuple[str, int]] = {}  # maker -> the page line naming it
    late = []  # (output, maker) of the claims that came second
    for animation in built_animations(catalog):
        maker = (ANIMATION, animation.name)
        where[maker] = (animation.page, animation.line)
        for output in animation_outputs(animation, settings):
            if makers.setdefault(output.path, (output, maker))[1] != maker:
                late.append((output, maker))
    for frame in frame_listings(catalog):
        maker = (FRAME_COPY, frame.path)
        where[maker] = (frame.page, frame.line)
        for output in (Output(frame.path, "frame", (frame.path,)), *thumbnail_outputs(frame.path, settings)):
            if makers.setdefault(output.path, (output, maker))[1] != maker:
                late.append((output, maker))
    clashes = []
    for output, maker in late:
        first_output, first_maker = makers[output.path]
        clashes.append((Claim(output, maker, *where[maker]), Claim(first_output, first_maker, *where[first_maker])))
    overlong = tuple(Claim(output, maker, *where[maker]) for path, (output, maker) in makers.items()
                     if len(os.fsencode(path.rpartition("/")[2])) > NAME_MAX)
    return OutputPlan(makers, tuple(clashes), overlong)


def planned_outputs(catalog: Catalog, settings: Settings) -> list[Output]:
    """Every file the pipeline writes under <build>/images for this catalog, each once."""
    return [output for output, _ in output_plan(catalog, settings).makers.values()]


# the folders the pipeline writes in the build folder, besides those of `<build>/images`
BUILD_FOLDERS = ("images", "contact", "report", "_data", "_includes")


def written_folders(catalog: Catalog, outputs: OutputPlan, settings: Settings) -> set[Path]:
    """Every folder the pipeline writes files into (and `clean` deletes them from): the build
    folder, its own folders, and under `<build>/images` the folder of every planned output
    and of every file the bundle copies (any safe reference)."""
    images = settings.build_dir / "images"
    folders = {settings.build_dir, *(settings.build_dir / name for name in BUILD_FOLDERS)}
    named = {path.rpartition("/")[0] for path in outputs.makers}
    named.update(ref.path.rpartition("/")[0] for ref in catalog.references)
    # a few folders, each judged as a file in it would be: unsafe ones are never written
    folders.update(images / folder for folder in named if unsafe_reason(f"{folder}/x") is None)
    return folders


def sheet_names(animations: list[Animation]) -> dict[str, str]:
    """Animation name -> its sheet's file name in `<build>/contact`: `muscles/gif/Leg-Soleus.gif`
    -> `Leg-Soleus.png`; names shared by animations in different folders keep the folders,
    joined by '_'; and names that still meet, whatever their case (`Y.gif` and `Y.GIF`), or
    that are an overview page's, get `_2`, `_3`, ... in page order. No two sheets collide, on
    any file system. A name too long for one (folders of 150 characters) is cut short and
    ends in a digest of the whole (`_fitting`)."""
    counts: dict[str, int] = {}
    for animation in animations:
        base = posixpath.basename(animation.stem)
        counts[base] = counts.get(base, 0) + 1
    names, taken = {}, set()
    for animation in animations:
        base = posixpath.basename(animation.stem)
        stem = _fitting(base if counts[base] == 1 else animation.stem.replace("/", "_"))
        name, number = stem, 1
        while name.lower() in taken or re.fullmatch(r"overview-\d+", name.lower()):  # those are the overview's
            number += 1
            name = f"{stem}_{number}"  # never an overview's name itself
        taken.add(name.lower())
        names[animation.name] = name + ".png"
    return names


# a sheet's name without ".png" and "_N" (see sheet_names), in bytes
SHEET_STEM_MAX = NAME_MAX - len(".png") - len("_999999")


def _fitting(stem: str) -> str:
    """`stem`, or when longer than SHEET_STEM_MAX bytes, its start and `~` and a digest of the whole."""
    if len(os.fsencode(stem)) <= SHEET_STEM_MAX:
        return stem
    digest = hashlib.sha1(os.fsencode(stem)).hexdigest()[:10]
    cut = stem
    while len(os.fsencode(cut)) > SHEET_STEM_MAX - len(digest) - 1:
        cut = cut[:-1]
    return f"{cut}~{digest}"


def overview_name(page: int) -> str:
    return f"overview-{page}.png"


def overview_page_count(animations: int, settings: ContactSettings) -> int:
    return max(1, math.ceil(animations / (settings.overview_columns * settings.overview_rows)))
