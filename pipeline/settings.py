"""Settings from `pipeline.toml`: validated once into frozen records, defaults for everything.

Each `[section]` of the file is one dataclass below; its fields are the allowed keys, their
annotations the allowed types, their defaults the defaults. Unknown keys and wrong types are
errors that name the key. Paths are resolved against the folder of the settings file.
"""
from __future__ import annotations

import dataclasses
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


@dataclasses.dataclass(frozen=True)
class VerifySettings:
    strict: bool = False  # warnings fail the run too
    deep: bool = False  # decode every pixel instead of reading headers
    orphans: bool = True  # report image files nothing references
    max_pixels: int = 89_478_485  # refuse larger images unread (Pillow's bomb limit)


@dataclasses.dataclass(frozen=True)
class AnimationSettings:
    formats: tuple[str, ...] = ("gif", "webp", "webm", "mp4")
    fps: float = 8.0
    loop: int = 0  # 0 = forever
    bounce: bool = False  # play forward, then back
    matte: str = "#ffffff"  # background for formats without full alpha


@dataclasses.dataclass(frozen=True)
class GifSettings:
    colors: int = 256
    dither: str = "floyd-steinberg"
    lossy: int = 0  # 0 = lossless LZW runs; higher merges similar pixels into longer runs


@dataclasses.dataclass(frozen=True)
class WebpSettings:
    quality: int = 75
    method: int = 4
    lossless: bool = False


@dataclasses.dataclass(frozen=True)
class WebmSettings:
    crf: int = 32
    speed: int = 4


@dataclasses.dataclass(frozen=True)
class Mp4Settings:
    crf: int = 23
    preset: str = "medium"


@dataclasses.dataclass(frozen=True)
class AvifSettings:
    quality: int = 60
    speed: int = 6


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
        if not 0 <= self.webp_quality <= 100:
            return f"webp_quality must be 0..100, got {self.webp_quality}"
        if not 0.0 < self.min_ssim <= 1.0:
            return f"min_ssim must be in (0, 1], got {self.min_ssim}"
        return None


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
        return None


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
    contact: ContactSettings

    @property
    def pages_dir(self) -> Path:
        return (self.base / self.paths.pages).resolve()

    @property
    def images_dir(self) -> Path:
        return (self.base / self.paths.images).resolve()

    @property
    def build_dir(self) -> Path:
        return (self.base / self.paths.build).resolve()


def load_settings(path: str | Path | None = None, *, required: bool = False) -> Settings:
    """Read settings from `path` (default `./pipeline.toml`); defaults when it is absent."""
    file = Path(path) if path is not None else Path(DEFAULT_FILE)
    if not file.is_file():
        if required or path is not None:
            raise PipelineError(f"{file}: settings file not found")
        return settings_from_dict({}, base=Path.cwd(), source=None)
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PipelineError(f"{file}: not valid TOML: {exc}") from None
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
    return Settings(source=source, base=base, **sections)


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
