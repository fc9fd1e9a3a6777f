"""Settings from `pipeline.toml`: validated once into frozen records, defaults for everything.

Each `[section]` of the file is one dataclass below; its fields are the allowed keys, their
annotations the allowed types, their defaults the defaults. Unknown keys and wrong types are
errors that name the key. Paths are resolved against the folder of the settings file.
"""
from __future__ import annotations

import dataclasses
import functools
import os
import re
import tomllib
import types
import typing
from pathlib import Path

from .problems import PipelineError

DEFAULT_FILE = "pipeline.toml"


@dataclasses.dataclass(frozen=True)
class PathSettings:
    pages: str = "raw/pages"
    images: str = "raw/images"
    build: str = "build"

    def validate(self) -> str | None:
        for key in ("pages", "images", "build"):
            if not getattr(self, key).strip() or "\x00" in getattr(self, key):
                return f"{key} must name a folder (not empty, no NUL byte), got {getattr(self, key)!r}"
        return None


@dataclasses.dataclass(frozen=True)
class VerifySettings:
    strict: bool = False  # warnings fail the run too
    deep: bool = False  # decode every pixel instead of reading headers
    orphans: bool = True  # report image files nothing references
    max_pixels: int = 89_478_485  # refuse larger images unread (Pillow's bomb limit)

    def validate(self) -> str | None:
        return None if self.max_pixels >= 1 else f"max_pixels must be at least 1, got {self.max_pixels}"


ANIMATION_FORMATS = ("gif", "webp", "webm", "mp4", "avif")


def _is_colour(text: str) -> bool:
    """'#rrggbb' or '#rgb' (the '#' may be left out): what frames.parse_colour reads."""
    return re.fullmatch(r"#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})", text.strip()) is not None


def _outside(name: str, value, low, high) -> str | None:
    return None if low <= value <= high else f"{name} = {value!r}: must be from {low} to {high}"


MAX_GIF_FPS = 50  # GIF delays are in hundredths of a second, and browsers slow those under 2
MIN_FPS = 0.01  # a GIF delay is at most 655.35 s


def _listed_twice(values):
    """The first value that comes twice in `values`, or None."""
    seen = set()
    for value in values:
        if value in seen:
            return value
        seen.add(value)
    return None


@dataclasses.dataclass(frozen=True)
class AnimationSettings:
    formats: tuple[str, ...] = ("gif", "webp", "webm", "mp4")  # add "avif" to switch it on
    fps: float = 8.0  # frames per second, every format
    loop: int = 0  # times the animation plays, 0 = forever (GIF, WebP; video loops in the page)
    bounce: bool = False  # play forward, then back without showing the end frames twice
    matte: str = "#ffffff"  # page colour under GIF and video (formats without full alpha)

    def validate(self) -> str | None:
        unknown = [f for f in self.formats if f not in ANIMATION_FORMATS]
        if unknown:
            return f"formats: unknown format {unknown[0]!r}; known: {', '.join(ANIMATION_FORMATS)}"
        twice = _listed_twice(self.formats)
        if twice is not None:
            return f"formats: {twice!r} is listed twice"
        if not MIN_FPS <= self.fps <= 100:
            return f"fps = {self.fps!r}: must be from {MIN_FPS} (a frame every {1 / MIN_FPS:g} s) to 100"
        if "gif" in self.formats and self.fps > MAX_GIF_FPS:
            return (f"fps = {self.fps!r}: a GIF cannot show a frame for less than 20 ms (browsers play "
                    f"shorter delays as 100 ms): at most {MAX_GIF_FPS}, or take \"gif\" out of formats")
        if not _is_colour(self.matte):
            return f"matte = {self.matte!r}: write a colour as '#rrggbb'"
        return _outside("loop", self.loop, 0, 65535)


@dataclasses.dataclass(frozen=True)
class GifSettings:
    colors: int = 256  # one palette for all frames; one entry is kept for transparency
    dither: str = "none"  # none | ordered | floyd-steinberg; dithering noise costs bytes
    lossy: int = 0  # per-channel tolerance for repeating the previous pixel/frame; 0 = exact

    def validate(self) -> str | None:
        if self.dither not in ("none", "ordered", "floyd-steinberg"):
            return f"dither = {self.dither!r}: use 'none', 'ordered' or 'floyd-steinberg'"
        # 4 at least: one entry is kept for transparency and one for the matte
        return _outside("colors", self.colors, 4, 256) or _outside("lossy", self.lossy, 0, 64)


@dataclasses.dataclass(frozen=True)
class WebpSettings:
    quality: int = 68  # lossy quality (with lossless: effort)
    method: int = 3  # 0 (fast) .. 6 (smallest)
    lossless: bool = False
    alpha_quality: int = 100  # 100 keeps the alpha channel lossless
    minimize_size: bool = True  # let libwebp try more frame layouts: smaller, a little slower

    def validate(self) -> str | None:
        return (_outside("quality", self.quality, 0, 100) or _outside("method", self.method, 0, 6)
                or _outside("alpha_quality", self.alpha_quality, 0, 100))


# codec -> the crf and speed used when the settings leave them out (measured on the 800 px
# renders, see the README), and the ranges each accepts: ffmpeg's SVT-AV1 reads crf 0 as unset
WEBM_DEFAULTS = {"av1": (27, 6), "vp9": (32, 0)}
WEBM_RANGES = {"av1": ((1, 63), (0, 13)), "vp9": ((0, 63), (0, 8))}


@dataclasses.dataclass(frozen=True)
class WebmSettings:
    codec: str = "av1"  # av1 (SVT-AV1, tuned for SSIM) | vp9 (libvpx)
    crf: int | None = None  # constant quality, lower is better: AV1 1..63 (27), VP9 0..63 (32)
    speed: int | None = None  # SVT-AV1 preset 0..13 (6) or libvpx cpu-used 0..8 (0); lower is slower

    def __post_init__(self):
        crf, speed = WEBM_DEFAULTS.get(self.codec, (None, None))
        if self.crf is None:
            object.__setattr__(self, "crf", crf)
        if self.speed is None:
            object.__setattr__(self, "speed", speed)

    def validate(self) -> str | None:
        if self.codec not in WEBM_DEFAULTS:
            return f"codec = {self.codec!r}: use 'av1' or 'vp9'"
        (crf_low, crf_high), (speed_low, speed_high) = WEBM_RANGES[self.codec]
        return (_outside("crf", self.crf, crf_low, crf_high)
                or _outside("speed", self.speed, speed_low, speed_high))


X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow",
                "slower", "veryslow", "placebo")
# x264's --tune values that suit a short turntable at constant quality ("zerolatency" is for
# live streams), and "none"
X264_TUNES = ("none", "ssim", "psnr", "film", "animation", "grain", "stillimage", "fastdecode")


@dataclasses.dataclass(frozen=True)
class Mp4Settings:
    crf: int = 25  # H.264 constant quality, 1 (best) .. 51
    preset: str = "slow"  # x264 speed/size trade-off
    tune: str = "ssim"  # x264's --tune: none | ssim | psnr | film | animation | grain | ...

    def validate(self) -> str | None:
        if self.preset not in X264_PRESETS:
            return f"preset = {self.preset!r}: use one of {', '.join(X264_PRESETS)}"
        if self.tune not in X264_TUNES:
            return f"tune = {self.tune!r}: use one of {', '.join(X264_TUNES)}"
        if self.crf == 0:  # x264's lossless needs the High 4:4:4 profile, which browsers do not play
            return "crf = 0 is lossless H.264, which browsers do not play: use 1 (best) to 51"
        return _outside("crf", self.crf, 1, 51)


@dataclasses.dataclass(frozen=True)
class AvifSettings:
    quality: int = 60  # 0 .. 100
    speed: int = 8  # libaom speed, 0 (slowest, smallest) .. 10

    def validate(self) -> str | None:
        return _outside("quality", self.quality, 0, 100) or _outside("speed", self.speed, 0, 10)


@dataclasses.dataclass(frozen=True)
class ThumbnailSettings:
    width: int = 200
    widths: tuple[int, ...] = ()  # extra widths for srcset: X-<w>w.webp
    webp_quality: int = 80
    min_ssim: float = 0.99  # a palette PNG thumbnail must score this against the float resize

    def validate(self) -> str | None:
        for width in (self.width, *self.widths):
            if width < 1:
                return f"thumbnail widths must be at least 1 pixel, got {width}"
        twice = _listed_twice(self.widths)
        if twice is not None:
            return f"widths: {twice} is listed twice"
        if not 0 <= self.webp_quality <= 100:
            return f"webp_quality must be 0..100, got {self.webp_quality}"
        if not 0.0 < self.min_ssim <= 1.0:
            return f"min_ssim must be in (0, 1], got {self.min_ssim}"
        return None


MAX_FONT_SIZE = 1000  # pixels: ten times the height of a large cell


@dataclasses.dataclass(frozen=True)
class ContactSettings:
    columns: int = 4
    cell_width: int = 200
    overview_columns: int = 6
    overview_rows: int = 8  # cells per overview page = columns x rows
    font_size: int = 16
    background: str = "#ffffff"

    def validate(self) -> str | None:
        for key in ("columns", "cell_width", "overview_columns", "overview_rows", "font_size"):
            if getattr(self, key) < 1:
                return f"{key} must be at least 1, got {getattr(self, key)}"
        if self.font_size > MAX_FONT_SIZE:  # FreeType refuses sizes from about 65,000 pixels
            return f"font_size must be at most {MAX_FONT_SIZE}, got {self.font_size}"
        if not _is_colour(self.background):
            return f"background = {self.background!r}: write a colour as '#rrggbb'"
        return None


@dataclasses.dataclass(frozen=True)
class FrameSettings:
    # libdeflate's level for the frame copies, 1..12: on 800 px renders 10 gave 0.81x their
    # bytes at 115 ms a frame, 9 gave 0.89x at 43 ms, 7 0.92x at 14 ms
    level: int = 10

    def validate(self) -> str | None:
        return _outside("level", self.level, 1, 12)


SECTIONS: dict[str, type] = {
    "paths": PathSettings,
    "verify": VerifySettings,
    "animation": AnimationSettings,
    "gif": GifSettings,
    "webp": WebpSettings,
    "webm": WebmSettings,
    "mp4": Mp4Settings,
    "avif": AvifSettings,
    "thumbnails": ThumbnailSettings,
    "frames": FrameSettings,
    "contact": ContactSettings,
}


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything the pipeline is told, with absolute folders. One attribute per section."""

    source: Path | None  # the settings file, or None when defaults were used
    base: Path  # the folder relative paths are resolved against
    paths: PathSettings
    verify: VerifySettings
    animation: AnimationSettings
    gif: GifSettings
    webp: WebpSettings
    webm: WebmSettings
    mp4: Mp4Settings
    avif: AvifSettings
    thumbnails: ThumbnailSettings
    frames: FrameSettings
    contact: ContactSettings

    # Resolved once: task generators ask for these folders for every output
    @functools.cached_property
    def pages_dir(self) -> Path:
        return (self.base / self.paths.pages).resolve()

    @functools.cached_property
    def images_dir(self) -> Path:
        return (self.base / self.paths.images).resolve()

    @functools.cached_property
    def build_dir(self) -> Path:
        return (self.base / self.paths.build).resolve()


def load_settings(path: str | Path | None = None) -> Settings:
    """Read settings from `path` (`./pipeline.toml` when None). A missing file is an error,
    not the defaults: run in the wrong folder, the defaults would name no pages at all."""
    file = Path(path if path is not None else DEFAULT_FILE)
    try:
        found = file.is_file()
    except OSError:  # in a folder that cannot be read, say: reading it says why
        found = True
    if not found:
        raise PipelineError(f"{file}: settings file not found (run in the folder of a "
                            "pipeline.toml, or name one: pipeline --config FILE, doit config=FILE)")
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8-sig"))  # a BOM (Notepad) taken as pages take it
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PipelineError(f"{file}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise PipelineError(f"{file}: the settings file cannot be read: {exc.strerror or exc}") from None
    return settings_from_dict(data, base=file.resolve().parent, source=file.resolve())


def settings_from_dict(data: dict, *, base: Path, source: Path | None = None) -> Settings:
    name = source.name if source else DEFAULT_FILE
    unknown = sorted(set(data) - set(SECTIONS))
    if unknown:
        raise PipelineError(
            f"{name}: unknown section [{unknown[0]}]; known sections: {', '.join(sorted(SECTIONS))}"
        )
    sections = {}
    for section, record in SECTIONS.items():
        values = data.get(section, {})
        if not isinstance(values, dict):
            raise PipelineError(f"{name}: '{section}' must be a table [{section}]")
        sections[section] = _build_record(name, section, record, values)
    settings = Settings(source=source, base=base, **sections)
    problem = folders_overlap(settings) or build_folder_problem(settings)
    if problem:
        raise PipelineError(f"{name}: {problem}")
    return settings


def build_folder_problem(settings: Settings) -> str | None:
    """Why the build folder cannot be made, if a file stands where it, or a folder above
    it, would be."""
    build = settings.build_dir
    for folder in (build, *build.parents):
        if folder.is_dir():
            return None
        if folder.exists() or folder.is_symlink():
            return f"[paths] build ({build}): {folder} exists and is not a folder"
    return None


def folders_overlap(settings: Settings) -> str | None:
    """Why the build folder cannot be where it is, if it cannot: outputs must never mix with
    sources, or `clean` and the bundle's stale-file sweep would delete them. It may lie inside
    the pages folder (a site's root), which is then searched without it."""
    build = settings.build_dir
    images, pages = settings.images_dir, settings.pages_dir
    if build == images or build in images.parents or images in build.parents:
        return (f"[paths] build ({build}) and [paths] images ({images}) overlap: the build folder "
                "must be outside the image root, and the image root outside it")
    if build == pages or build in pages.parents:
        return (f"[paths] build ({build}) contains [paths] pages ({pages}): "
                "the build folder must not hold the pages")
    return None


def written_folders_problem(settings: Settings, folders) -> str | None:
    """Why the pipeline must not write into `folders` (the folders its outputs go to, which
    `clean` and the bundle's stale sweep delete in), if one of them leads into the image root
    or the pages through a symlink, at any depth: writes and deletions would follow it.
    Links that stay inside the build folder, or lead elsewhere, are fine."""
    build = settings.build_dir
    for folder in folders:
        real = Path(os.path.realpath(folder))  # a folder not made yet: its existing part
        if real == folder or real == build or build in real.parents:
            continue
        for source, what in ((settings.images_dir, "the image root"), (settings.pages_dir, "the pages")):
            if real == source or real in source.parents or source in real.parents:
                return (f"[paths] build: {folder} leads to {real} (through a symlink), which overlaps "
                        f"{what}: outputs written or cleaned there would replace or delete sources")
    return None


def _build_record(file_name: str, section: str, record: type, values: dict):
    fields = {f.name: f for f in dataclasses.fields(record)}
    hints = typing.get_type_hints(record)
    checked = {}
    for key, value in values.items():
        where = f"{file_name}: [{section}] {key}"
        if key not in fields:
            raise PipelineError(f"{where}: unknown key; known keys: {', '.join(fields)}")
        checked[key] = _check_type(where, hints[key], value)
    record_value = record(**checked)
    validate = getattr(record_value, "validate", None)
    if validate:
        problem = validate()
        if problem:
            raise PipelineError(f"{file_name}: [{section}] {problem}")
    return record_value


def _check_type(where: str, expected, value):
    origin = typing.get_origin(expected)
    if origin is tuple:
        (item_type, _ellipsis) = typing.get_args(expected)
        if not isinstance(value, list):
            raise PipelineError(f"{where}: expected a list, got {value!r}")
        return tuple(_check_type(f"{where}[{i}]", item_type, v) for i, v in enumerate(value))
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(expected)
        for option in options:
            try:
                return _check_type(where, option, value)
            except PipelineError:
                continue
        names = " or ".join(_type_name(o) for o in options)
        raise PipelineError(f"{where}: expected {names}, got {value!r}")
    if expected is type(None):
        if value is not None:
            raise PipelineError(f"{where}: expected nothing, got {value!r}")
        return value
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if expected is not bool and isinstance(value, bool) or not isinstance(value, expected):
        raise PipelineError(f"{where}: expected {_type_name(expected)}, got {value!r}")
    return value


def _type_name(kind) -> str:
    return {
        bool: "true or false",
        int: "an integer",
        float: "a number",
        str: "a string",
        type(None): "nothing",
    }.get(kind, getattr(kind, "__name__", str(kind)))
