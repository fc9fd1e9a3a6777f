"""Up-to-date checks of a sub-task beyond its sources: the settings that shape its files, and
its files being the ones it wrote.

Both declare their call signature: doit asks `inspect.signature` of every callable
`uptodate` on every run to learn which arguments it wants, which cost a twentieth of a
second over the 1,600 sub-tasks of a 300-page site doing nothing.
"""
from __future__ import annotations

import dataclasses
import hashlib
import inspect
import os
import stat

from doit.tools import config_changed

from ..settings import VerifySettings


_CALL = inspect.Signature(list(inspect.signature(config_changed.__call__).parameters.values())[1:])


class settings_changed(config_changed):  # noqa: N801 (named like doit's own uptodate helpers)
    """`config_changed(config)`: up to date while `config` is what it was at the last success."""

    def __init__(self, config, encoder=None):
        super().__init__(config, encoder)
        self.__signature__ = _CALL  # what inspect.signature(self) returns, without working it out


class outputs_as_written:  # noqa: N801
    """Up to date while the sub-task's targets are the files its last success left, by inode:
    every output is written to a new file and renamed into place, so a file another maker
    wrote over in the meantime (a clash, see `plan.output_plan`, since resolved) is made
    again. A record from before this check existed counts as up to date: all else is checked
    as before, and no build is redone for nothing (a clash coming or going reruns thumbnails
    and frame copies all the same: `tasks.batch.leaving`).

    `listing` gives the inodes from one listing of each folder (15,000 outputs: 17 ms, where a
    stat of each took 45-65 ms on a run with nothing to do); should the listing's inodes differ
    from stat's (some union file systems), stat's decide.

    A build folder copied or restored (`cp -a`, `tar`, a CI cache) has new inodes: the files
    then count as the ones written when each has the size and modification time it had
    (`as_written`), and `refreshed_values` gives the new inodes to save, so that the next
    run goes by them again. Without it, such a folder was made again from the first file to
    the last.
    """

    def __init__(self, listing: FolderListing):
        self.listing = listing
        self.__signature__ = _CALL
        self.refreshed_values = None  # {"_inodes": ...} when the files were found by size and time

    def configure_task(self, task):
        task.value_savers.append(lambda: {"_inodes": inodes_digest(task.targets, _stat_inode),
                                          "_written": written_digests(task.targets)})

    def __call__(self, task, values):
        recorded = values.get("_inodes")
        if (recorded is None or inodes_digest(task.targets, self.listing.inode) == recorded
                or inodes_digest(task.targets, _stat_inode) == recorded):
            if "_written" not in values:  # recorded by a version before sizes and times were:
                self.refreshed_values = {  # saved now, so that a restore of this folder finds them
                    "_inodes": inodes_digest(task.targets, _stat_inode), "_written": written_digests(task.targets)}
            return True
        if not as_written(values.get("_written"), task.targets):
            return False
        self.refreshed_values = {"_inodes": inodes_digest(task.targets, _stat_inode)}
        return True


class FolderListing:
    """The inode of each file of a folder (see `_number`), from one listing of it, kept for a run. Each
    sub-task's targets are its own within a run, so a folder listed before another sub-task
    wrote into it still tells the truth about them. A symbolic link is left to `stat`: the
    listing sees the link, not what it points to."""

    def __init__(self):
        self._folders: dict[str, dict[str, int | None]] = {}

    def inode(self, path: str) -> int | None:
        """The inode of the file at `path` (None: there is none)."""
        folder, slash, name = path.rpartition("/")
        folder = folder or slash or "."  # `/x`: in the root; `x`: in the current folder
        entries = self._folders.get(folder)
        if entries is None:
            try:
                with os.scandir(folder) as listed:
                    # as `_number` has it, written out: this runs for each of 15,000 outputs
                    entries = {entry.name: None if entry.is_symlink() else -entry.inode() if entry.is_dir()
                               else entry.inode() for entry in listed}
            except OSError:  # not made yet
                entries = {}
            self._folders[folder] = entries
        if name not in entries:
            return None
        number = entries[name]
        return number if number is not None else _stat_inode(path)

    def exists(self, path: str) -> bool:
        """`os.path.exists(path)`, from the listing of its folder."""
        if path.endswith(("/", "/.", "/..")) or path in ("", ".", ".."):
            return os.path.exists(path)
        return self.inode(path) is not None


def _stat_inode(path: str) -> int | None:
    try:
        found = os.stat(path)
    except OSError:
        return None
    return _number(found.st_ino, stat.S_ISDIR(found.st_mode))


def _number(inode: int, is_folder: bool) -> int:
    """The number a file is known by here: its inode, negated for a folder. A folder made
    where an output was deleted often gets the file's inode, and was taken for it."""
    return -inode if is_folder else inode


def inodes_digest(targets: list[str], inode) -> str:
    """The files `targets` are now, in a few bytes: the inode of each (`inode(path)`)."""
    return hashlib.md5(b"".join(b"%d\n" % number if (number := inode(target)) is not None else b"-\n"
                                for target in targets)).hexdigest()


def written_digests(targets: list[str]) -> list[str] | None:
    """The size and modification time of each of `targets`, in a few bytes, and the same with
    the times in whole seconds (None when one is missing or is no file)."""
    found = []
    for target in targets:
        try:
            info = os.stat(target)
        except OSError:
            return None
        if not stat.S_ISREG(info.st_mode):
            return None
        found.append((info.st_size, info.st_mtime_ns))
    return [hashlib.md5(b"".join(b"%d %d\n" % (size, mtime) for size, mtime in found)).hexdigest(),
            hashlib.md5(b"".join(b"%d %d\n" % (size, mtime // 10**9) for size, mtime in found)).hexdigest()]


def as_written(recorded, targets: list[str]) -> bool:
    """Whether `targets` have the sizes and times of the `written_digests` recorded. A copy
    that kept the times to the second only (GNU tar's default format) matches by seconds
    when every time it has is a whole second; a file written has a time within one."""
    now = written_digests(targets)
    if now is None or not isinstance(recorded, list) or len(recorded) != 2:
        return False
    if now[0] == recorded[0]:
        return True
    return now[1] == recorded[1] and all(os.stat(t).st_mtime_ns % 10**9 == 0 for t in targets)


def section_values(section, added: tuple[str, ...] = ()) -> dict:
    """A settings section as the plain dict its up-to-date check compares, less the `added`
    fields (settings added after builds existed) while they are at their default, which gives
    the files made before them: those builds are not redone for nothing."""
    values = dataclasses.asdict(section)
    for field in dataclasses.fields(section):
        if field.name in added and values[field.name] == field.default:
            del values[field.name]
    return values


def reading_limit(settings) -> dict:
    """The pixel limit frames are read under (`[verify] max_pixels`), for the settings check
    of a sub-task that reads frames: under a lowered limit a frame may no longer read, as in
    a fresh build. Left out at its default, which builds from before this check were made under."""
    limit = settings.verify.max_pixels
    return {} if limit == VerifySettings.max_pixels else {"max_pixels": limit}
