"""One build at a time per build folder, and no temporaries left behind by a killed one.

The lock is a POSIX record lock on `<build>/.pipeline.lock`, held by the process that loaded
the tasks until it exits (or drops the `BuildLock`). The kernel releases it when a build is
killed, so a stale lock never blocks the next run. A second build on the same folder waits,
saying so, instead of racing the first over outputs and the dependency database.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import re
import sys
import threading
from pathlib import Path

from .problems import PipelineError

LOCK_NAME = ".pipeline.lock"
# atomic.py names temporaries `.<stem>.<random>.tmp<suffix>`, tempfile's random part 8 of
# [a-z0-9_]; nothing else is taken for one (a build folder may hold the user's own files)
TEMPORARY_NAME = re.compile(r"\..*\.[a-z0-9_]{8}\.tmp(\.[^.]*)?", re.DOTALL)


class BuildLock:
    """Holds the lock of one build folder while the object lives (or until `release`).

    One process may hold several of one folder (a tool or a test that loads the tasks twice);
    the folder stays locked until the last of them is released.
    """

    def __init__(self, build_dir: Path, *, wait: bool = True, stream=sys.stderr):
        self._file = None
        build_dir.mkdir(parents=True, exist_ok=True)
        self.path = build_dir / LOCK_NAME
        with _HELD_GUARD:
            file = _file_id(self.path)
            if file in _HELD:
                fd, holders = _HELD[file]
                _HELD[file] = (fd, holders + 1)
            else:
                fd = _lock(self.path, build_dir, wait, stream)
                file = _file_id(fd)
                _HELD[file] = (fd, 1)
        self._file = file

    def release(self) -> None:
        if self._file is None:
            return
        with _HELD_GUARD:
            fd, holders = _HELD.pop(self._file)
            if holders > 1:
                _HELD[self._file] = (fd, holders - 1)
            else:
                os.close(fd)
        self._file = None

    def __del__(self):
        self.release()


# Record locks belong to the process, and closing any descriptor of the file drops them all,
# so each locked file has one descriptor here, closed when the process's last BuildLock of
# it is released. This mirrors state the kernel already keeps per process.
_HELD: dict[tuple[int, int], tuple[int, int]] = {}  # (device, inode) -> (descriptor, holders)
_HELD_GUARD = threading.Lock()


def _file_id(file: Path | int) -> tuple[int, int] | None:
    """The identity of a file by path (without opening it) or by descriptor; None when missing."""
    try:
        stat = os.stat(file)
    except FileNotFoundError:
        return None
    return (stat.st_dev, stat.st_ino)


def _lock(path: Path, build_dir: Path, wait: bool, stream) -> int:
    """A new descriptor of `path` with this process's lock on it, writing the pid into it.
    A symbolic link there is refused, not followed: the pid would overwrite what it points to."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    except OSError as exc:
        if path.is_symlink():
            raise PipelineError(f"{path} is a symbolic link (to {os.readlink(path)}); the build's lock "
                                "file must be a plain file: delete the link") from None
        raise PipelineError(f"{path}: cannot open the build's lock file: {exc.strerror}") from None
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = _holder(fd)
        if not wait:
            os.close(fd)
            raise BlockingIOError(f"another build is running in {build_dir} ({holder})") from None
        print(f"pipeline: another build is running in {build_dir} ({holder}); "
              "waiting for it to finish", file=stream, flush=True)
        fcntl.lockf(fd, fcntl.LOCK_EX)
    with contextlib.suppress(OSError):  # the pid only tells a second build who holds the lock:
        os.ftruncate(fd, 0)  # a full disk is no reason to stop a run that may have nothing to write
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def _holder(fd: int) -> str:
    try:
        return f"pid {os.pread(fd, 32, 0).decode().strip() or '?'}"
    except OSError:
        return "pid ?"


def remove_stale_temporaries(build_dir: Path) -> list[Path]:
    """Delete temporaries a killed build left in `build_dir`; call only while holding the lock."""
    removed = []
    for folder, _subdirs, files in os.walk(build_dir):
        for name in files:
            if TEMPORARY_NAME.fullmatch(name):
                path = Path(folder, name)
                path.unlink(missing_ok=True)
                removed.append(path)
    return removed
