"""Asset-manifest entries kept between bundle runs: a file that is as it was is not read again.

The bundle describes every file of `<build>/images` on each run, and any change anywhere runs
it: at 250 animations that was 14 s, most of it starting ffmpeg for 500 videos, the rest
hashing 13,000 files. Each entry is now kept with its file's size, inode, modification and
status-change times in `<build>/.assets-cache`; a file that differs in any is described again
(outputs are written to a new file and renamed, so a rewritten one always differs). A file
modified or replaced (by its modification or status-change time) less than two seconds
before the cache was written, by the file system's clock, is not kept: a second change within
its time resolution could not be told apart (git's "racily clean" rule).

The file has one JSON line per file, in the bundle's sorted order, and is read alongside the
sorted list of files: memory does not grow with the bundle. Its first line holds what the
descriptions depend on besides the files (the caller's code and library versions, as plain
data): a cache written for anything else is not used.
"""
from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import json
import os
from pathlib import Path
from typing import Callable, Iterator

from .atomic import atomic_path

FORMAT = "atlas-pipeline asset cache 1"  # a new number when the lines change shape
RACY_SECONDS = 2.0
AHEAD = 8  # paths looked up and handed to the threads before the first is yielded


def described(describe: Callable[[Path], dict], images_dir: Path, paths: list[str], cache_file: Path,
              depends_on: list, threads: int = 2) -> Iterator[tuple[str, dict]]:
    """(path, describe(images_dir / path)) for each of the sorted `paths`, taken from
    `cache_file` where the file is as it was then and `depends_on` (plain data: what else
    the descriptions depend on) is unchanged. The cache is rewritten as they go and replaces
    the old one once every path was described.

    Files are described `threads` at a time, a few paths ahead of the one yielded: most of a
    description is waiting for ffmpeg or for the disk (on a fresh build of 40 animations the
    bundle took 2.0 s with one thread, 1.4 s with two).
    """
    header = [FORMAT, str(images_dir), depends_on]
    with contextlib.ExitStack() as stack:
        temporary = stack.enter_context(atomic_path(cache_file))
        kept = stack.enter_context(contextlib.closing(_kept(cache_file, header)))  # closed before the rename
        out = open(temporary, "w", encoding="utf-8")
        stack.push(_closing_quietly_after_a_failure(out))
        pool = concurrent.futures.ThreadPoolExecutor(threads)
        stack.callback(pool.shutdown, wait=True, cancel_futures=True)  # on a failure: start no more
        out.write(json.dumps(header) + "\n")
        out.flush()
        now = os.stat(temporary).st_mtime_ns  # the file system's clock, as the files' times are
        lookup = _lookup(kept)
        ahead = collections.deque()  # (path, stamp, entry or its Future), in order
        for index in range(len(paths) + AHEAD):
            if index < len(paths):
                path = paths[index]
                stamp = _stamp(images_dir / path)
                entry = lookup(path, stamp)
                ahead.append((path, stamp, pool.submit(describe, images_dir / path) if entry is None else entry))
            if index >= AHEAD and ahead:
                path, stamp, entry = ahead.popleft()
                if isinstance(entry, concurrent.futures.Future):
                    entry = entry.result()
                if now - max(stamp[2], stamp[3]) >= RACY_SECONDS * 1e9:
                    out.write(json.dumps([path, stamp, entry], ensure_ascii=False) + "\n")
                yield path, entry


def _closing_quietly_after_a_failure(file):
    """An ExitStack exit callback closing `file`. After a failure, or when the caller stopped
    reading (a full disk while it wrote the bundle's own files), the cache is discarded with
    its temporary, and a flush that fails too (that same full disk) is no second error: it
    came out as "Exception ignored in <generator>" and a traceback."""
    def close(exc_type, exc, traceback) -> bool:
        if exc_type is None:
            file.close()
        else:
            with contextlib.suppress(OSError):
                file.close()
        return False
    return close


def _stamp(file: Path) -> list[int]:
    """What changes when the file does: size, inode, modification and status-change times
    (a copy that keeps the modification time still gets a new status-change time)."""
    info = file.stat()
    return [info.st_size, info.st_ino, info.st_mtime_ns, info.st_ctime_ns]


def _lookup(kept: Iterator[tuple[str, list, dict]]) -> Callable[[str, list], dict | None]:
    """A function giving the kept entry of a path with that stamp, or None; asked for paths in
    sorted order, it reads `kept` (sorted too) once, alongside."""
    pending = next(kept, None)

    def entry(path: str, stamp: list) -> dict | None:
        nonlocal pending
        while pending is not None and pending[0] < path:
            pending = next(kept, None)
        if pending is not None and pending[0] == path and pending[1] == stamp:
            return pending[2]
        return None
    return entry


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
