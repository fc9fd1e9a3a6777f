"""Asset-manifest entries kept between bundle runs: a file that is as it was is not read again.

The bundle describes every file of `<build>/images` on each run, and any change anywhere runs
it: at 250 animations that was 14 s, most of it starting ffmpeg for 500 videos, the rest
hashing 13,000 files. Each entry is now kept with its file's size, inode, modification and
status-change times in `<build>/.assets-cache`; a file that differs in any is described again
(outputs are written to a new file and renamed, so a rewritten one always differs). A file
modified less than two seconds before it was looked at is not kept (the "racily clean" rule
of pagecache.py).

The file has one JSON line per file, in the bundle's sorted order, and is read alongside the
sorted list of files: memory does not grow with the bundle. Its first line names the images
folder and a digest of the code that describes (mediainfo.py, the module of the function
that describes, and this one): a
cache written by other code is not used.
"""
from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Callable, Iterator

from . import mediainfo
from .atomic import atomic_path

RACY_SECONDS = 2.0


def described(describe: Callable[[Path], dict], images_dir: Path, paths: list[str],
              cache_file: Path) -> Iterator[tuple[str, dict]]:
    """(path, describe(images_dir / path)) for each of the sorted `paths`, taken from
    `cache_file` where the file is as it was then. The cache is rewritten as they go and
    replaces the old one once every path was described."""
    header = _header(images_dir, describe)
    kept = _kept(cache_file, header)
    pending = next(kept, None)
    now = time.time()
    with atomic_path(cache_file) as temporary, open(temporary, "w", encoding="utf-8") as out:
        out.write(json.dumps(header) + "\n")
        for path in paths:
            info = (images_dir / path).stat()
            stamp = [info.st_size, info.st_ino, info.st_mtime_ns, info.st_ctime_ns]
            while pending is not None and pending[0] < path:
                pending = next(kept, None)
            if pending is not None and pending[0] == path and pending[1] == stamp:
                entry = pending[2]
            else:
                entry = describe(images_dir / path)
            if now - info.st_mtime_ns / 1e9 >= RACY_SECONDS:
                out.write(json.dumps([path, stamp, entry], ensure_ascii=False) + "\n")
            yield path, entry
    kept.close()


def _kept(cache_file: Path, header: list) -> Iterator[tuple[str, list, dict]]:
    """The (path, stamp, entry) lines of `cache_file`, none when it is missing, damaged or
    written for another header."""
    try:
        file = open(cache_file, encoding="utf-8")
    except OSError:
        return
    with file:
        try:
            if json.loads(file.readline()) != header:
                return
            for line in file:
                path, stamp, entry = json.loads(line)
                if isinstance(path, str) and isinstance(entry, dict):
                    yield path, stamp, entry
        except (ValueError, TypeError):
            return  # the rest is described again


def _header(images_dir: Path, describe: Callable) -> list:
    code = hashlib.sha1()
    for module in (mediainfo.__file__, sys.modules[describe.__module__].__file__, __file__):
        code.update(Path(module).read_bytes())
    return ["atlas-pipeline asset cache", str(images_dir), code.hexdigest()]
