"""One build at a time per build folder, and no temporaries left behind by a killed one.

The lock is a POSIX record lock on `<build>/.pipeline.lock`, held by the process that loaded
the tasks until it exits (or drops the `BuildLock`). The kernel releases it when a build is
killed, so a stale lock never blocks the next run. A second build on the same folder waits,
saying so, instead of racing the first over outputs and the dependency database.
"""
from __future__ import annotations

import fcntl
import os
import sys
from pathlib import Path

LOCK_NAME = ".pipeline.lock"
TEMPORARY_MARK = ".tmp"  # atomic.py names temporaries `.<stem>.<random>.tmp<suffix>`


class BuildLock:
    """Holds the lock of one build folder while the object lives."""

    def __init__(self, build_dir: Path, *, wait: bool = True, stream=sys.stderr):
        self._fd = None
        build_dir.mkdir(parents=True, exist_ok=True)
        self.path = build_dir / LOCK_NAME
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.lockf(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = self._holder()
            if not wait:
                self.release()
                raise BlockingIOError(f"another build is running in {build_dir} ({holder})") from None
            print(f"pipeline: another build is running in {build_dir} ({holder}); "
                  "waiting for it to finish", file=stream, flush=True)
            fcntl.lockf(self._fd, fcntl.LOCK_EX)
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, f"{os.getpid()}\n".encode(), 0)

    def _holder(self) -> str:
        try:
            return f"pid {os.pread(self._fd, 32, 0).decode().strip() or '?'}"
        except OSError:
            return "pid ?"

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __del__(self):
        self.release()


def remove_stale_temporaries(build_dir: Path) -> list[Path]:
    """Delete temporaries a killed build left in `build_dir`; call only while holding the lock."""
    removed = []
    for folder, _subdirs, files in os.walk(build_dir):
        for name in files:
            if name.startswith(".") and TEMPORARY_MARK in name and name != LOCK_NAME:
                path = Path(folder, name)
                path.unlink(missing_ok=True)
                removed.append(path)
    return removed
