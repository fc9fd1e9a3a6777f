"""Manifest–file consistency: does every file the pages name exist, or can it be made?

Findings are `Problem`s (see problems.py for the codes). Image files are judged from their
headers and tails unless `deep` asks for full decodes, so a site of thousands of frames
verifies in about a second.
"""
from __future__ import annotations

import os
import posixpath
import re
from typing import Iterable
from urllib.parse import unquote

from . import catalog as cat
from .atomic import NAME_MAX
from .catalog import Animation, Catalog, Reference
from .formatlimits import FORMAT_NAMES, size_problem
from .imageroot import ImageRoot
from .plan import ANIMATION, Claim, output_plan  # the plan names what the pipeline itself writes
from .problems import Problem
from .safepaths import is_hidden, unsafe_reason

VERSION = 13  # bump when the same files would be judged differently (12: a space around a name;
# 13: names Jekyll does not publish)


def verify_catalog(catalog: Catalog, images: ImageRoot, *, orphans: bool = True,
                   known_outputs: Iterable[str] = (), clashes: Iterable[tuple[Claim, Claim]] = (),
                   overlong: Iterable[Claim] = (), webm_codec: str = "av1") -> list[Problem]:
    """Every problem of the pages in `catalog` against the files of `images`.

    `known_outputs` are the names the pipeline writes (`plan.output_plan`): a derived
    reference (`Y.webm`) that is missing is fine when it is among them, and such files in the
    image root (`Y.webp`) are not orphans. `clashes` are the plan's: files two makers would
    write; `overlong`, the plan's outputs whose names no file system takes. `webm_codec`
    decides the sizes a WebM can hold (formatlimits.py).
    """
    # a frame whose name is refused (unsafe-path, below) is told about once, not also as unmatched
    problems = [p for p in catalog.problems if not (p.code == "unmatched-frame" and unsafe_reason(p.reference))]
    problems += _clash_problems(clashes)
    problems += [_overlong(claim) for claim in overlong]
    images.prefetch()
    planned = set(known_outputs)
    reported: set[tuple] = set()  # once per page: every page naming a broken file is told
    for ref in catalog.references:
        problem = _check_reference(ref, images, planned)
        if problem and (problem.page, problem.code, problem.reference) not in reported:
            reported.add((problem.page, problem.code, problem.reference))
            problems.append(problem)
    problems += _renamed_by_jekyll(catalog)
    problems += _skipped_by_jekyll(catalog)
    for animation in catalog.animations:
        problems.extend(check_frame_sizes(animation, images) or _format_size_problems(animation, images, planned, webm_codec))
    unlisted = _unlisted_frames(catalog, images)
    problems.extend(unlisted)
    if orphans:
        # an unlisted frame is already reported, with the page that should list it
        problems.extend(_orphans(catalog, images, planned | {p.reference for p in unlisted}))
    return sorted(problems, key=_problem_order)


def _format_size_problems(animation: Animation, images: ImageRoot, planned: set[str], webm_codec: str) -> list[Problem]:
    """`unencodable` for each planned format of `animation` that cannot hold its frames' size."""
    info = next((images.check(f.image_url)[0].info for f in animation.frames
                 if images.check(f.image_url)[0].info is not None), None)
    if info is None:
        return []
    stem = animation.name.rpartition(".")[0]
    problems = [size_problem(fmt, webm_codec, info.width, info.height)
                for fmt in FORMAT_NAMES if f"{stem}.{fmt}" in planned]
    return [Problem(animation.page, animation.line, animation.name, "unencodable", text) for text in problems if text]


def check_frame_sizes(animation: Animation, images: ImageRoot) -> list[Problem]:
    """`inconsistent-frames` for the first frame whose size differs from the first frame's."""
    sizes = []
    for frame in animation.frames:
        if frame_problem(frame.image_url, animation.page, frame.line, images) is None:
            info = images.check(frame.image_url)[0].info  # reported otherwise: not compared
            sizes.append((frame, (info.width, info.height)))
    for frame, size in sizes[1:]:
        if size != sizes[0][1]:
            first, first_size = sizes[0]
            return [Problem(
                animation.page, frame.line, frame.image_url, "inconsistent-frames",
                f"frame '{frame.image_url}' is {size[0]}x{size[1]} but '{first.image_url}' (line "
                f"{first.line}) is {first_size[0]}x{first_size[1]}; all frames of "
                f"'{animation.name}' must have one size",
            )]
    return []


def animation_problems(animation: Animation, images: ImageRoot) -> list[Problem]:
    """Why `animation` cannot be built from its frames; empty when it can."""
    problems = []
    if not animation.frames:
        problems.append(Problem(animation.page, animation.line, animation.name, "missing",
                                f"'{animation.name}' has no gallery frames to be made from"))
    for frame in animation.frames:
        problem = frame_problem(frame.image_url, animation.page, frame.line, images)
        if problem:
            problems.append(problem)
    return problems or check_frame_sizes(animation, images)


# what a gallery image can be named: its thumbnail is written in the format its name says
# (plan.thumbnail_format), and probe has checked that the content is what the name says
FRAME_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif")


def frame_problem(image_url: str, page: str, line: int, images: ImageRoot) -> Problem | None:
    """Why the gallery frame `image_url`, listed at `page`:`line`, cannot be read, if it
    cannot: unsafe, unreadable (or not a PNG, JPEG, WebP or GIF by name) or missing, as
    verification reports it."""
    check, message = images.check(image_url)
    if check.problem:
        return Problem(page, line, image_url, check.problem, message)
    if not check.exists:
        return _missing(image_url, page, line, "gallery frame", images)
    if not image_url.lower().endswith(FRAME_SUFFIXES):
        return Problem(page, line, image_url, "unreadable",
                       f"'{image_url}' is not named as a gallery image can be: PNG, JPEG, WebP or "
                       f"GIF, as {', '.join(FRAME_SUFFIXES)}")
    return None


_PERCENT_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")


def _renamed_by_jekyll(catalog: Catalog) -> list[Problem]:
    """`renamed-by-jekyll` for each name a page gives that holds a percent escape (`%20`):
    Jekyll copies such a file into the site under the decoded name (`a b.gif`), so every
    link to it, the include's too, finds nothing there. Once per page and name."""
    problems, seen = [], set()
    for ref in catalog.references:
        given = ref.source in (None, ref.path)  # by the page, not derived from a name it gives (X-thumb.png)
        if given and _PERCENT_ESCAPE.search(ref.path) and (ref.page, ref.path) not in seen:
            seen.add((ref.page, ref.path))
            problems.append(Problem(ref.page, ref.line, ref.path, "renamed-by-jekyll",
                                    f"Jekyll publishes '{ref.path}' as '{unquote(ref.path)}', so links to it "
                                    "find nothing on the site: rename the file, and the page's name for it, "
                                    "without '%' before two hex digits"))
    return problems


def _skipped_by_jekyll(catalog: Catalog) -> list[Problem]:
    """`skipped-by-jekyll` for each name a page gives with a folder or file name that Jekyll
    leaves out of the site it builds: one that starts with '_', '#' or '~', or ends with '~'
    (its EntryFilter: drafts, partials, backups; a hidden name, '.', is `missing` already). The
    file exists and is built, but every link to it finds nothing, unless the site's
    `_config.yml` lists it under `include:`. Once per page and name."""
    problems, seen = [], set()
    for ref in catalog.references:
        given = ref.source in (None, ref.path)  # by the page, not derived from a name it gives
        skipped = [part for part in ref.path.split("/") if part.startswith(("_", "#", "~")) or part.endswith("~")]
        if given and skipped and (ref.page, ref.path) not in seen:
            seen.add((ref.page, ref.path))
            problems.append(Problem(ref.page, ref.line, ref.path, "skipped-by-jekyll",
                                    f"Jekyll leaves '{skipped[0]}' out of the site it builds (a name that starts "
                                    "with '_', '#' or '~', or ends with '~'), so links to "
                                    f"'{ref.path}' find nothing there: rename it, or list it under 'include:' "
                                    "in the site's _config.yml"))
    return problems


def _check_reference(ref: Reference, images: ImageRoot, planned: set[str]) -> Problem | None:
    if ref.kind == cat.FRAME:
        return frame_problem(ref.path, ref.page, ref.line, images)
    check, message = images.check(ref.path)
    if check.problem:
        if ref.source and images.check(ref.source)[0].problem == check.problem == "unsafe-path":
            return None  # a name derived from an unsafe one: reported once, at its source
        if not check.exists and (ref.path in planned or ref.source is not None and ref.kind == cat.THUMBNAIL):
            return None  # in a folder that cannot be read, but made by the pipeline: its sources tell
        return Problem(ref.page, ref.line, ref.path, check.problem, message)
    if check.exists:
        return None
    if ref.path in planned or ref.source is not None and ref.kind == cat.THUMBNAIL:
        # made from its sources, whose own problems are reported where they are named; an
        # animation may be made from the frames another page gives it (plan.animations_by_name)
        return None
    if ref.source is not None and is_hidden(ref.source):
        # never built: told once, at the animation's own name
        return None if ref.kind == cat.VIDEO else _missing(ref.path, ref.page, ref.line, "animation", images)
    if ref.source is not None:
        suffix = ref.path.rpartition(".")[2]
        return Problem(ref.page, ref.line, ref.path, "missing",
                       f"'{ref.path}' does not exist and is not built: add \"{suffix}\" to "
                       "[animation] formats, or add the file")
    what = {cat.FRAME: "gallery frame", cat.ANIMATION: "animation (it has no gallery frames)"}
    return _missing(ref.path, ref.page, ref.line, what.get(ref.kind, ref.kind), images)


def _clash_problems(clashes: Iterable[tuple[Claim, Claim]]) -> list[Problem]:
    """One `output-clash` per pair of makers, naming every file they would both write."""
    paths: dict[tuple[Claim, Claim], list[str]] = {}
    for late, first in clashes:
        key = (late._replace(output=None), first._replace(output=None))
        paths.setdefault(key, []).append(late.output.path)
    return [_clash(late, first, files) for (late, first), files in paths.items()]


def _clash(late: Claim, first: Claim, paths: list[str]) -> Problem:
    def maker(claim: Claim) -> str:
        kind, name = claim.maker
        return f"the animation '{name}'" if kind == ANIMATION else f"the gallery image '{name}'"

    names = ", ".join(f"'{path}'" for path in paths)
    return Problem(late.page, late.line, paths[0], "output-clash",
                   f"{names} would be written for {maker(late)} and for {maker(first)} "
                   f"({first.page}:{first.line}): {'it is' if len(paths) == 1 else 'they are'} built "
                   "for the latter only; rename one of them")


def _overlong(claim: Claim) -> Problem:
    name = claim.output.path.rpartition("/")[2]
    kind, maker = claim.maker
    return Problem(claim.page, claim.line, claim.output.path, "name-too-long",
                   f"'{name}' would be made for the {'animation' if kind == ANIMATION else 'gallery image'} "
                   f"'{maker}', and its name is {len(os.fsencode(name))} bytes long, over the {NAME_MAX} a "
                   "file name may have: shorten the name, in the page and on disk")


def _missing(path: str, page: str, line: int, what: str, images: ImageRoot) -> Problem:
    return Problem(page, line, path, "missing",
                   f"{what} '{path}' does not exist under the image root{_missing_hint(path, images)}")


def _missing_hint(path: str, images: ImageRoot) -> str:
    """What is there instead, when something near is: a hidden name, a folder, the same name
    in another Unicode normal form or in another case."""
    if is_hidden(path):
        return ("; a name starting with '.' is hidden: Jekyll does not publish it and the pipeline "
                "does not read it, so rename it")
    if images.is_folder(path):
        return "; it is a folder: name an image file in it"
    spelt = images.other_normal_form(path)
    if spelt:
        return (f"; '{spelt[0]}' looks the same but writes its accented letters another way "
                "(Unicode NFC against NFD), and web servers tell them apart: rename the file or "
                "retype the name in the page")
    others = images.other_case(path)
    if others:
        return (f"; '{others[0]}' differs only in case, and web servers tell them apart: rename the "
                "file or correct the page")
    return ""


def _unlisted_frames(catalog: Catalog, images: ImageRoot) -> list[Problem]:
    """`unlisted-frame` for files named like a gallery's frames that it does not list, and
    `frame-gap` for each run of numbers missing from a sequence that are not on disk either.
    A sequence is a base name in a folder, whatever its frames' extensions."""
    problems = []
    for page in catalog.pages:
        listed = {g.image_url for g in page.gallery}
        sequences: dict[tuple[str, str], dict[str, set[int]]] = {}  # (folder, base) -> ext -> numbers
        for entry in page.gallery:
            stem, ext = posixpath.splitext(entry.image_url)
            match = cat.FRAME_NAME.match(posixpath.basename(stem))
            if match and unsafe_reason(entry.image_url) is None:
                numbers = sequences.setdefault((posixpath.dirname(entry.image_url), match["base"]), {})
                numbers.setdefault(ext, set()).add(int(match["number"]))
        for (folder, base), by_ext in sequences.items():
            prefix = f"{folder}/" if folder else ""
            on_disk = [name for ext in by_ext for name in images.frames_named(folder, base, ext)]
            for name in on_disk:
                if prefix + name not in listed:
                    problems.append(Problem(
                        page.path, page.gallery_line, prefix + name, "unlisted-frame",
                        f"'{prefix + name}' looks like a frame of '{base}' but the gallery does not list it",
                    ))
            present = {int(cat.FRAME_NAME.match(posixpath.splitext(n)[0])["number"]) for n in on_disk}
            numbers = set().union(*by_ext.values())
            ext = next(iter(by_ext))
            for first, last in _missing_runs(numbers | present, min(numbers), max(numbers)):
                name = f"{prefix}{base}-{first}{ext}"
                if first == last:
                    text = f"skip number {first}: '{name}' is neither listed nor on disk"
                else:
                    text = (f"skip numbers {first} to {last}: '{name}' to '{prefix}{base}-{last}{ext}' are "
                            "neither listed nor on disk")
                problems.append(Problem(page.path, page.gallery_line, name, "frame-gap", f"the frames of '{base}' {text}"))
    return problems


def _missing_runs(numbers: set[int], low: int, high: int) -> list[tuple[int, int]]:
    """(first, last) of each run of whole numbers between `low` and `high` not in `numbers`:
    in time and memory of the numbers there are, however far apart they are."""
    inside = sorted(n for n in numbers if low <= n <= high)
    return [(a + 1, b - 1) for a, b in zip(inside, inside[1:]) if b - a > 1]


def _orphans(catalog: Catalog, images: ImageRoot, known_outputs: set[str]) -> list[Problem]:
    used = {ref.path for ref in catalog.references} | known_outputs | catalog.held_back
    used |= images.reached_through_symlinks(used)  # a folder linked under another name
    return [
        Problem(None, None, path, "orphan", f"'{path}' is not referenced by any page")
        for path in sorted(images.files - used)
    ]


def _problem_order(problem: Problem):
    return (problem.page is None, problem.page or "", problem.line or 0, problem.reference, problem.code)


def verify_site(site, *, deep: bool = False) -> list[Problem]:
    """All problems of `site` (a `Site`), against its image root."""
    settings = site.settings
    images = ImageRoot(settings.images_dir, deep=deep or settings.verify.deep,
                       max_pixels=settings.verify.max_pixels)
    outputs = output_plan(site.catalog, settings)
    return verify_catalog(site.catalog, images, orphans=settings.verify.orphans,
                          known_outputs=outputs.makers.keys(), clashes=outputs.clashes, overlong=outputs.overlong,
                          webm_codec=settings.webm.codec)
