"""The web bundle: `<build>/images` complete and nothing else, described and zipped.

Runs after every producing task. It removes stale files (in `<build>/images` but produced by
no task any more), checks that every file the pages reference, explicit and derived, is
there (verification run against the bundle folder), and writes `asset-manifest.json`,
`_data/assets.json` and a deterministic `bundle.zip`: sorted entries, fixed timestamps and
permissions, so the same files always give the same bytes.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from pathlib import Path
from typing import Iterable, Iterator, NamedTuple

from . import assetcache, mediainfo, versions
from .atomic import atomic_path, write_bytes_atomic
from .catalog import Animation, Catalog
from .jekyll import animation_entries, described_paths
from .mediainfo import media_info, sha256_of
from .plan import animations_by_name, planned_outputs
from .problems import PipelineError, Problem
from .safepaths import unsafe_reason
from .settings import Settings
from .imageroot import ImageRoot
from .verify import verify_catalog
from .zipwriter import ZipWriter

VERSION = 6  # bump when the bundle's files change for the same inputs (5: the data file's *_url;
# 6: characters YAML refuses escaped in the data file)
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can hold
ASSETS_CACHE = ".assets-cache"  # in the build folder: see assetcache.py
STORED_SUFFIXES = {".png", ".gif", ".webp", ".avif", ".webm", ".mp4", ".jpg", ".jpeg"}


class BundlePlan(NamedTuple):
    produced: tuple[str, ...]  # written by the pipeline's tasks
    copied: tuple[str, ...]  # referenced, not produced, copied from the image root as they are

    @property
    def files(self) -> set[str]:
        return set(self.produced) | set(self.copied)


def bundle_plan(catalog: Catalog, settings: Settings, produced: Iterable[str] | None = None) -> BundlePlan:
    """Which files `<build>/images` must hold, all relative to it. `produced` are the planned
    outputs' paths, when the caller has them."""
    produced = dict.fromkeys(o.path for o in planned_outputs(catalog, settings)) if produced is None \
        else dict.fromkeys(produced)
    source = ImageRoot(settings.images_dir, max_pixels=settings.verify.max_pixels)
    copied = {}
    for ref in catalog.references:
        if ref.path in copied or ref.path in produced or unsafe_reason(ref.path):
            continue
        check, _ = source.check(ref.path)
        if check.exists and check.problem is None:
            copied[ref.path] = None
    return BundlePlan(tuple(produced), tuple(sorted(copied)))


def copy_file(source: Path, target: Path) -> None:
    """Copy a referenced file the pipeline does not make, byte for byte."""
    write_bytes_atomic(target, source.read_bytes())


def bundle_files(images_dir: Path) -> list[str]:
    """Every file under `images_dir`, hidden ones too, relative and sorted."""
    found = []
    for folder, subdirs, files in os.walk(images_dir):
        rel = os.path.relpath(folder, images_dir)
        prefix = "" if rel == "." else rel.replace(os.sep, "/") + "/"
        found.extend(prefix + name for name in files)
    return sorted(found)


def remove_stale(images_dir: Path, keep: set[str]) -> list[str]:
    """Delete the files no task produces any more (and folders left empty); return them."""
    stale = [path for path in bundle_files(images_dir) if path not in keep]
    for path in stale:
        (images_dir / path).unlink()
    for folder, subdirs, files in os.walk(images_dir, topdown=False):
        if Path(folder) != images_dir and not os.listdir(folder):
            os.rmdir(folder)
    return stale


def bundle_problems(catalog: Catalog, images_dir: Path, plan: BundlePlan,
                    max_pixels: int = 89_478_485, webm_codec: str = "av1") -> list[Problem]:
    """Errors of the pages checked against the bundle, plus every referenced or planned file
    that is not in it (verification alone excuses a derived file that can still be made).
    `webm_codec` is the one the WebM files were made with (the sizes it can hold)."""
    root = ImageRoot(images_dir, max_pixels=max_pixels)
    problems = [p for p in verify_catalog(catalog, root, orphans=False, known_outputs=plan.files,
                                          webm_codec=webm_codec) if p.is_error]
    reported = {p.reference for p in problems}
    for ref in catalog.references:
        if ref.path not in reported and not unsafe_reason(ref.path) and not root.check(ref.path)[0].exists:
            reported.add(ref.path)
            problems.append(Problem(ref.page, ref.line, ref.path, "missing",
                                    f"'{ref.path}' is not in the bundle ({images_dir})"))
    for path in plan.files - reported:
        if not (images_dir / path).is_file():
            problems.append(Problem(None, None, path, "missing",
                                    f"'{path}' should have been built into {images_dir} but is not there"))
    return problems


def describe(images_dir: Path, paths: list[str], cache_file: Path) -> Iterator[dict]:
    """The asset-manifest entries of the sorted `paths`, in order, one at a time; a file as it
    was at the last run is not read again (`assetcache`)."""
    for path, entry in assetcache.described(describe_file, images_dir, paths, cache_file,
                                            _describer(cache_file.parent)):
        yield {"path": path, **entry}


def _describer(build_dir: Path) -> list:
    """What a file's entry depends on besides the file: the code that reads it (this module
    and mediainfo.py), Pillow's version and ffmpeg's (kept per binary in `build_dir`)."""
    import PIL

    code = hashlib.sha1()
    for module in (__file__, mediainfo.__file__):
        code.update(Path(module).read_bytes())
    try:
        ffmpeg = versions.ffmpeg_version(build_dir)
    except (OSError, RuntimeError):  # no ffmpeg: describing a video fails on its own
        ffmpeg = None
    return [code.hexdigest(), PIL.__version__, ffmpeg]


def describe_file(file: Path) -> dict:
    """A file's asset-manifest entry, without its path."""
    info = media_info(file)
    entry = {
        "bytes": file.stat().st_size,
        "sha256": sha256_of(file),
        "width": info.width,
        "height": info.height,
        "frames": info.frames,
        "duration": info.duration,
        "mime": info.mime,
    }
    if info.codecs:  # videos: what a <source type> names besides the MIME type
        entry["codecs"] = info.codecs
    return entry


def write_descriptions(images_dir: Path, paths: list[str], animations: list[Animation],
                       manifest: Path, data: Path, cache_file: Path) -> None:
    """`asset-manifest.json` and `_data/assets.json` (at the paths given: `make_bundle` hands
    in temporaries), written entry by entry as the files are described: memory does not grow
    with the bundle (16,000 entries held at once took 40 MiB). The text is what
    `json.dumps(..., indent=2)` gives for the whole."""
    needed = described_paths(animations)
    kept = {}
    with open(manifest, "w", encoding="utf-8") as manifest_out, open(data, "w", encoding="utf-8") as data_out:
        manifest_out.write('{\n  "files": [')
        data_out.write('{\n  "files": {')
        for count, entry in enumerate(describe(images_dir, paths, cache_file)):
            comma = "," if count else ""
            manifest_out.write(f"{comma}\n    {_nested(entry)}")
            path = entry.pop("path")
            data_out.write(f"{comma}\n    {_json(path)}: {_nested(entry)}")
            if path in needed:
                kept[path] = entry
        closing = "\n  " if paths else ""
        manifest_out.write(f"{closing}]\n}}\n")
        data_out.write(f'{closing}}},\n  "animations": {_nested(animation_entries(animations, kept), 2)}\n}}\n')


def _nested(value, depth: int = 4) -> str:
    """`value` as json.dumps(indent=2) writes it `depth` spaces in."""
    return _json(value, indent=2).replace("\n", "\n" + " " * depth)


# Characters a YAML reader refuses to read, even inside a quoted string: Jekyll reads
# `_data/*.json` as YAML, and one DEL or C1 control in a page's title stopped the whole
# site's build (Psych: "control characters are not allowed"). JSON escapes the C0 ones itself
_NOT_YAML = re.compile(r"[\x7f-\x9f\ufffe\uffff]")


def _json(value, **options) -> str:
    """json.dumps of `value`, non-ASCII text kept as it is, but every character YAML cannot
    hold written as a `\\uXXXX` escape, which JSON and YAML read alike."""
    text = json.dumps(value, ensure_ascii=False, **options)
    return _NOT_YAML.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def write_zip(images_dir: Path, paths: list[str], target: Path) -> None:
    """Zip `paths` (relative to `images_dir`) deterministically: sorted, one date, mode 0644."""
    with open(target, "wb") as out, ZipWriter(out, ZIP_TIME) as archive:
        for path in sorted(paths):
            compress = Path(path).suffix.lower() not in STORED_SUFFIXES
            archive.add(path, (images_dir / path).read_bytes(), compress=compress)


def make_bundle(catalog: Catalog, settings: Settings) -> None:
    """Remove stale files, check the bundle, then write the manifest, data file and zip.

    Raises PipelineError listing what is missing; stale files are reported on stderr.
    """
    images_dir = settings.build_dir / "images"
    images_dir.mkdir(parents=True, exist_ok=True)
    plan = bundle_plan(catalog, settings)
    for path in remove_stale(images_dir, plan.files):
        print(f"bundle: removed stale '{path}' (no task produces it any more)", file=sys.stderr)
    problems = bundle_problems(catalog, images_dir, plan, settings.verify.max_pixels, settings.webm.codec)
    if problems:
        raise PipelineError("\n".join(str(p) for p in problems))
    del plan  # a path per planned file: not needed while the largest part runs
    paths = bundle_files(images_dir)
    manifest, data, archive = bundle_targets(settings)
    # all three replaced together, or none: a zip that cannot be written (a full disk) leaves
    # the last complete bundle as it was, its manifest and data file included
    with atomic_path(manifest) as manifest_part, atomic_path(data) as data_part, atomic_path(archive) as archive_part:
        try:
            write_descriptions(images_dir, paths, list(animations_by_name(catalog).values()), manifest_part,
                               data_part, settings.build_dir / ASSETS_CACHE)
        except OSError as exc:  # a write names no file: without this, the zip's (innermost) was named
            if exc.filename in (None, str(manifest_part), str(data_part)):
                exc.filename = f"{manifest} and {data}"
            raise
        write_zip(images_dir, paths, archive_part)


def bundle_targets(settings: Settings) -> list[Path]:
    build = settings.build_dir
    return [build / "asset-manifest.json", build / "_data" / "assets.json", build / "bundle.zip"]
