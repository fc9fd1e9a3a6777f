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

import collections
import concurrent.futures
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Callable, Iterator

from . import mediainfo
from .atomic import atomic_path

RACY_SECONDS = 2.0
AHEAD = 8  # paths looked up and handed to the threads before the first is yielded


def described(describe: Callable[[Path], dict], images_dir: Path, paths: list[str],
              cache_file: Path, threads: int = 2) -> Iterator[tuple[str, dict]]:
    """(path, describe(images_dir / path)) for each of the sorted `paths`, taken from
    `cache_file` where the file is as it was then. The cache is rewritten as they go and
    replaces the old one once every path was described.

    Files are described `threads` at a time, a few paths ahead of the one yielded: most of a
    description is waiting for ffmpeg or for the disk (on a fresh build of 40 animations the
    bundle took 2.0 s with one thread, 1.4 s with two).
    """
    header = _header(images_dir, describe)
    kept = _kept(cache_file, header)
    pending = next(kept, None)
    now = time.time()
    ahead = collections.deque()  # (path, stamp, entry or its Future), in order
    with atomic_path(cache_file) as temporary, open(temporary, "w", encoding="utf-8") as out, \
            concurrent.futures.ThreadPoolExecutor(threads) as pool:
        out.write(json.dumps(header) + "\n")
        for index in range(len(paths) + AHEAD):
            if index < len(paths):
                path = paths[index]
                info = (images_dir / path).stat()
                stamp = [info.st_size, info.st_ino, info.st_mtime_ns, info.st_ctime_ns]
                while pending is not None and pending[0] < path:
                    pending = next(kept, None)
                hit = pending is not None and pending[0] == path and pending[1] == stamp
                ahead.append((path, stamp, pending[2] if hit else pool.submit(describe, images_dir / path)))
            if index >= AHEAD and ahead:
                path, stamp, entry = ahead.popleft()
                if isinstance(entry, concurrent.futures.Future):
                    entry = entry.result()
                if now - stamp[2] / 1e9 >= RACY_SECONDS:
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
