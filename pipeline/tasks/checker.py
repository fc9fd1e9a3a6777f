"""doit's file checker, remembering each source file's `stat` for the run.

Every frame is a `file_dep` of several sub-tasks (its animation's formats, its thumbnails,
its copy), and doit stats it again for each: ~30,000 calls on a no-op run of the real
site's size. Sources are never written during a run (only the build folder is), so one stat
per file and run says the same. Only the two fields the checker reads are kept: a full
`os.stat_result` is ten times the size, and a site of the real one's size has thousands of
frames.

Whether each target exists, doit asks too, one `stat` each (15,000 on the real site's size):
given the build's `FolderListing`, the checker answers from one listing of each folder,
the one the `outputs_as_written` checks read.
"""
from __future__ import annotations

import os
from typing import NamedTuple

from doit.dependency import MD5Checker, get_file_md5

from .uptodate import FolderListing


class FileStat(NamedTuple):
    """What MD5Checker reads of an `os.stat_result`."""
    st_mtime: float
    st_size: int


class SourceStatCache(MD5Checker):
    """doit's default MD5 checker (size, then timestamp, then MD5), with `info` cached."""

    def __init__(self, listing: FolderListing | None = None):
        super().__init__()
        self._stats = {}
        self._listing = listing

    def exists(self, file_path):
        if self._listing is None:
            return super().exists(file_path)
        return self._listing.exists(str(file_path))

    def check_modified(self, file_path, file_stat, state):
        """doit's, except that a file of another size has changed even at the same time: a
        render replaced by one whose time was kept (`cp -p`, `touch -r`, an unpacked archive).
        doit takes an equal time for the same file without looking further."""
        timestamp, size, file_md5 = state
        if file_stat.st_size != size:
            return True
        if file_stat.st_mtime == timestamp:
            return False
        return file_md5 != get_file_md5(file_path)

    def get_state(self, dep, current_state):
        """doit's, except that a new size at the same time is a new state (see `check_modified`):
        doit keeps the old one when the time is the same, and the file would count as changed
        on every run after."""
        found = os.stat(dep)
        if current_state and (current_state[0], current_state[1]) == (found.st_mtime, found.st_size):
            return None
        return found.st_mtime, found.st_size, get_file_md5(dep)

    def info(self, file_path):
        stat = self._stats.get(file_path)
        if stat is None:
            found = os.stat(file_path)
            stat = self._stats[file_path] = FileStat(found.st_mtime, found.st_size)
        return stat
