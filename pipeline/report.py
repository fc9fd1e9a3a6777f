"""What the build report shows, as plain records: `gather` looks at the build folder (what
`plan` says should exist, what does, and the problems in `verify.json`) and returns a
`ReportData`; `reportpage` turns it into the HTML page.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import NamedTuple

from .catalog import Animation
from .manifests import GalleryEntry, Page
from .plan import animation_outputs, animations_by_name, overview_name, overview_page_count, sheet_names, thumbnail_outputs
from .problems import location
from .safepaths import unsafe_reason

OK, WARNING, ERROR, NOT_BUILT = "ok", "warning", "error", "not built"
STATUSES = (ERROR, NOT_BUILT, WARNING, OK)  # worst first: a page shows the worst that applies
VIDEO_TYPES = {"webm": "video/webm", "mp4": "video/mp4"}


class Finding(NamedTuple):
    """One entry of verify.json as read back: like a `Problem`, but with the severity written
    there, so an entry of a code this version does not know still shows."""

    page: str | None
    line: int | None
    reference: str
    code: str
    severity: str
    message: str

    def location(self) -> str:
        return location(self.page, self.line, self.reference)


class Shown(NamedTuple):
    """One planned output file: its size on disk, or None when it was not built."""

    path: str  # relative to <build>/images
    kind: str
    bytes: int | None
    width: int  # intrinsic size, 0 when unknown
    height: int


class AnimationView(NamedTuple):
    animation: Animation  # as this page names it
    made_from: Animation  # as the build takes it (plan.animations_by_name): its frames
    source_bytes: int
    source_size: tuple[int, int]
    outputs: tuple[Shown, ...]
    contact: str | None  # relative to the build folder, when the sheet exists
    poster: str | None  # the first frame's thumbnail, relative to <build>/images, when it exists

    @property
    def built(self) -> bool:
        """False when no page gives it gallery frames: the page's own file is shipped."""
        return bool(self.made_from.frames)


class PageView(NamedTuple):
    page: Page
    animations: tuple[AnimationView, ...]
    thumbnails: tuple[tuple[GalleryEntry, Shown], ...]
    findings: tuple[Finding, ...]
    status: str


class ReportData(NamedTuple):
    pages: tuple[PageView, ...]
    site_findings: tuple[Finding, ...]  # of files no page names (orphans), or of no page shown
    verified: bool  # whether verify.json was there to read
    overview_sheets: tuple[str, ...]  # relative to the build folder
    started: float | None  # when this run began (epoch seconds), if known
    finished: float


def gather(site, *, started: float | None = None) -> ReportData:
    """Everything the report shows, read from the build folder of `site`."""
    settings = site.settings
    build = settings.build_dir
    findings, verified = read_findings(build / "verify.json")
    by_page: dict[str | None, list[Finding]] = {}
    for finding in findings:
        by_page.setdefault(finding.page, []).append(finding)
    sizes = _SizeCache()
    chosen = animations_by_name(site.catalog)  # as the build takes them
    sheets = sheet_names([a for a in chosen.values() if a.frames])
    pages = []
    for page in site.catalog.pages:
        animations = tuple(
            _animation_view(a, chosen[a.name], settings, sizes, sheets.get(a.name))
            for a in site.catalog.animations
            if a.page == page.path and a.name in chosen
        )
        thumbnails = tuple(
            (entry, _shown(thumbnail_outputs(entry.image_url, settings)[0], build, sizes))
            for entry in page.gallery
            if unsafe_reason(entry.image_url) is None
        )
        page_findings = tuple(by_page.get(page.path, ()))
        status = page_status(page_findings, animations, thumbnails)
        pages.append(PageView(page, animations, thumbnails, page_findings, status))
    known = {p.path for p in site.catalog.pages}
    site_findings = tuple(f for f in findings if f.page not in known)
    overview = tuple(f"contact/{overview_name(k)}"
                     for k in range(1, overview_page_count(len(sheets), settings.contact) + 1)
                     if _is_file(build / "contact" / overview_name(k)))
    return ReportData(tuple(pages), site_findings, verified, overview, started, time.time())


def read_findings(path: Path) -> tuple[list[Finding], bool]:
    """The problems listed in verify.json, and whether the file was there at all."""
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(entries, list):
            raise ValueError(f"a list of problems was expected, not {type(entries).__name__}")
    except FileNotFoundError:
        return [], False
    except (OSError, ValueError) as exc:
        return [Finding(None, None, path.name, "unreadable", "error",
                        f"verify.json cannot be read ({exc}); run 'pipeline verify'")], True
    fields = Finding._fields
    return [Finding(**{k: entry.get(k) for k in fields}) for entry in entries
            if isinstance(entry, dict)], True


def page_status(findings, animations, thumbnails) -> str:
    """error > not built > warning > ok: the worst state that applies to the page."""
    if any(f.severity == "error" for f in findings):
        return ERROR
    outputs = [o for a in animations for o in a.outputs] + [t for _, t in thumbnails]
    if any(o.bytes is None for o in outputs):
        return NOT_BUILT
    return WARNING if findings else OK


class _SizeCache:
    """Sizes of image files, read from their headers once each; kept by the path's text,
    a fraction of the memory of a Path (13,000 outputs at 250 animations)."""

    def __init__(self):
        self._sizes: dict[str, tuple[int, int]] = {}

    def __call__(self, path: Path) -> tuple[int, int]:
        key = str(path)
        if key not in self._sizes:
            self._sizes[key] = _image_size(path)
        return self._sizes[key]


def _image_size(path: Path) -> tuple[int, int]:
    """(width, height) from the header, (0, 0) when it cannot be read: what is wrong with
    the file, verify reports (a header claiming billions of pixels, say, which Pillow refuses)."""
    from PIL import Image, UnidentifiedImageError  # header only: Image.open does not decode

    try:
        with Image.open(path) as image:
            return image.size
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError):
        return (0, 0)


def _animation_view(animation: Animation, made_from: Animation, settings, sizes: _SizeCache,
                    sheet: str | None) -> AnimationView:
    """What the report shows of one page's animation, whose files are made from the frames
    of `made_from` (the same animation, from the page that gives it frames first)."""
    build = settings.build_dir
    sources = [settings.images_dir / f.image_url for f in made_from.frames
               if unsafe_reason(f.image_url) is None]
    present = [p for p in sources if _is_file(p)]
    source_bytes = sum(p.stat().st_size for p in present)
    source_size = sizes(present[0]) if present else (0, 0)
    outputs = tuple(_shown(o, build, sizes, fallback=source_size)
                    for o in animation_outputs(made_from, settings)) if made_from.frames else ()
    contact = f"contact/{sheet}" if sheet and _is_file(build / "contact" / sheet) else None
    poster = None
    if made_from.frames and unsafe_reason(made_from.frames[0].image_url) is None:
        thumbnail = thumbnail_outputs(made_from.frames[0].image_url, settings)[0].path
        poster = thumbnail if _is_file(build / "images" / thumbnail) else None
    return AnimationView(animation, made_from, source_bytes, source_size, outputs, contact, poster)


def _is_file(path: Path) -> bool:
    """`path.is_file()`, False too where it would raise (no permission, a name too long):
    what is wrong there, verify and the failed tasks report."""
    try:
        return path.is_file()
    except OSError:
        return False


def _shown(output, build: Path, sizes: _SizeCache, fallback=(0, 0)) -> Shown:
    path = build / "images" / output.path
    try:
        size = path.stat().st_size
    except OSError:
        return Shown(output.path, output.kind, None, *fallback)
    width, height = (0, 0) if output.kind in VIDEO_TYPES else sizes(path)
    if not (width and height):
        width, height = fallback
    return Shown(output.path, output.kind, size, width, height)
