"""doit's file checker, remembering each source file's `stat` for the run.

Every frame is a `file_dep` of several sub-tasks (its animation's formats, its thumbnails,
its copy), and doit stats it again for each: ~30,000 calls on a no-op run of the real
site's size. The pipeline never writes sources (only the build folder), so one stat per file
and run says the same, unless someone else writes one during the run, which `get_state`
looks for. Only the fields the checker reads are kept: a full `os.stat_result` is ten times
the size, and a site of the real one's size has thousands of frames.

Whether each target exists, doit asks too, one `stat` each (15,000 on the real site's size):
given the build's `FolderListing`, the checker answers from one listing of each folder,
the one the `outputs_as_written` checks read.
"""
from __future__ import annotations

import os
import time
from typing import NamedTuple

from doit.dependency import MD5Checker, get_file_md5

from .uptodate import FolderListing


class FileStat(NamedTuple):
    """What the checker reads of an `os.stat_result`."""
    st_mtime: float
    st_size: int
    stamp: str  # inode and change time: see `_stamp`
    ctime_ns: int  # when it last changed, by the kernel's clock (a modification time can be anything)


def _file_stat(found: os.stat_result) -> FileStat:
    return FileStat(found.st_mtime, found.st_size, _stamp(found), found.st_ctime_ns)


def _unmatched(found: FileStat | None) -> tuple:
    """A state that no file matches (its MD5 is '-'): saved for a source that could not be read
    or hashed, or that changed while its sub-task ran, so that the next run runs it again."""
    return (found.st_mtime, found.st_size, "- -") if found else (0.0, -1, "- -")


def _stamp(found: os.stat_result) -> str:
    """The inode and the change time (ctime) of a file. Every write to a file sets its ctime
    to now, and nothing sets it back, so a file whose size, modification time and stamp are
    what they were has the same bytes, even when its modification time was kept on purpose."""
    return f"{found.st_ino}:{found.st_ctime_ns}"


# A file changed less than this before it was hashed may change again within the same
# timestamp and keep its stamp: its new state is not saved for a sub-task that did not run
# (git's "racily clean" rule, as pagecache has it)
RACY_SECONDS = 2.0
HASHES_KEPT = 512  # the MD5s of the files hashed last: 32 sequences of 16 frames


class SourceStatCache(MD5Checker):
    """doit's default MD5 checker (size, then timestamp, then MD5), with `info` cached and
    a file's inode and change time saved in its state too (see `_saved`).

    A file is hashed once, however many sub-tasks read it (while it is among the files hashed
    last, `_state_now`), and what is known of it is let go once they have run (`snapshot`). When its bytes are
    what a sub-task's state says but its time or stamp are not (a `touch`, a checkout, a
    `chmod`), the sub-task is up to date, and doit would leave its old state, so that the
    file was hashed again on every run after; `tasks.refresh` saves the new one.
    """

    def __init__(self, listing: FolderListing | None = None):
        super().__init__()
        self._stats: dict[str, FileStat] = {}
        self._listing = listing
        self._hashed: dict[str, tuple] = {}  # path: (FileStat, md5), the HASHES_KEPT hashed last
        self._readers: dict[str, int] = {}  # path: sub-tasks to run that read it, not yet finished

    def exists(self, file_path):
        if self._listing is None:
            return super().exists(file_path)
        return self._listing.exists(str(file_path))

    def check_modified(self, file_path, file_stat, state):
        """doit's, except that an equal time is not taken for the same file without the same
        stamp (`_stamp`): a render replaced by one whose time was kept (`cp -p`, `touch -r`, an
        unpacked archive) has a new stamp, so its MD5 decides, and one of another size has
        changed at once. A state saved before stamps were goes by the time alone, as it did:
        hashing every frame once more would be slower than the build it spares."""
        timestamp, size, file_md5, stamp = _saved(state)
        if file_stat.st_size != size:
            return True
        if file_stat.st_mtime == timestamp and stamp in (None, file_stat.stamp):
            return False
        try:
            return file_md5 != _saved(self._state_now(file_path, file_stat))[2]
        except OSError:  # unreadable now (its permissions): the sub-task runs and says so
            return True

    def get_state(self, dep, current_state):
        """doit's, after the sub-task ran, except that:

        - the state is new whenever the stamp is (see `check_modified`): doit keeps the old one
          when the time is the same, and the file would be hashed again on every run after;
        - a source that changed since it was looked at before the sub-task ran (`info`, see
          `tasks.refresh`) gets a state no file matches: its outputs may have been made from
          the old bytes, and doit hashed the new ones, so they were never made again;
        - one that is gone or cannot be read gets such a state too (doit's was a traceback).
        """
        before = self._stats.get(dep)
        try:
            try:
                found = _file_stat(os.stat(dep))
            except OSError:
                return _unmatched(None)
            if before is not None and before[:3] != found[:3]:
                return _unmatched(found)
            if current_state:
                timestamp, size, _, stamp = _saved(current_state)
                if (timestamp, size, stamp) == (found.st_mtime, found.st_size, found.stamp):
                    return None
            try:
                return self._state_now(dep, found)
            except OSError:
                return _unmatched(found)
        finally:
            self._finished_reading(dep)

    def snapshot(self, file_paths) -> None:
        """Look at the sources of a sub-task about to run (see `get_state`), and keep what is
        known of each until every sub-task to run that reads it has finished: a fresh build
        of 250 animations reads 4,000 frames, and the build's process must not keep them all."""
        for path in file_paths:
            try:
                self.info(path)
            except OSError:  # gone: the sub-task fails and says so
                continue
            self._readers[path] = self._readers.get(path, 0) + 1

    def _finished_reading(self, file_path) -> None:
        count = self._readers.get(file_path)
        if count is None:
            return
        if count > 1:
            self._readers[file_path] = count - 1
            return
        del self._readers[file_path]
        self._stats.pop(file_path, None)

    def info(self, file_path):
        stat = self._stats.get(file_path)
        if stat is None:
            stat = self._stats[file_path] = _file_stat(os.stat(file_path))
        return stat

    def was_hashed(self, file_path) -> bool:
        """Whether `file_path` was hashed in this run."""
        return file_path in self._hashed

    def unchanged_state(self, file_path, state) -> tuple | None:
        """The state to save in place of a sub-task's `state` of `file_path` that describes
        the same bytes under an older time or stamp; None when there is none to save (not
        hashed this run, other bytes, or changed too recently to trust its stamp)."""
        hashed = self._hashed.get(file_path)
        if hashed is None or state is None:
            return None
        found, md5 = hashed
        now = _state(found, md5)
        if md5 != _saved(state)[2] or tuple(state) == now:
            return None
        return now if time.time_ns() - found.ctime_ns >= RACY_SECONDS * 1e9 else None

    def _state_now(self, file_path, found: FileStat) -> tuple:
        """The state of the file as `found`, hashed once while it is among the HASHES_KEPT
        files hashed last (the sub-tasks that read a frame run one after another, see
        `dispatch`): a fresh build of 250 animations hashes 4,000 frames, and the build's
        process must not grow with the site."""
        hashed = self._hashed.pop(file_path, None)  # put back last: the most recently used
        if hashed is None or hashed[0] != found:
            seen = self._stats.get(file_path)
            hashed = (seen if seen == found else found, get_file_md5(file_path))
        self._hashed[file_path] = hashed
        if len(self._hashed) > HASHES_KEPT:
            del self._hashed[next(iter(self._hashed))]
        return _state(*hashed)


def _state(found: FileStat, md5: str) -> tuple:
    """The state saved for a file as `found`, of that MD5 (see `_saved`)."""
    return found.st_mtime, found.st_size, f"{md5} {found.stamp}"


def _saved(state) -> tuple:
    """(mtime, size, md5, stamp) of a saved state, whose third field is the MD5 and the stamp
    (`_stamp`) with a space between; the stamp is None in a state saved before stamps were
    (doit's own three fields). In the MD5's field, an older pipeline reading the state takes
    the file as changed once, where a fourth field stopped it with a traceback."""
    try:
        timestamp, size, digest = state
        md5, _, stamp = digest.partition(" ")
    except (TypeError, ValueError, AttributeError):  # written by something else: matches no file
        return None, None, None, None
    return timestamp, size, md5, stamp or None
