"""Fingerprints of build folders, for tasks whose input is "whatever is in this folder now".

The bundle and the report read every file the other tasks wrote. Listing them all as
`file_dep` makes doit's bookkeeping quadratic (each becomes an implicit `task_dep`); a
fingerprint of names, sizes and modification times from one walk costs a few milliseconds
for thousands of files and tells the same: did anything change since the last run?
"""
from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path


def folder_digest(folder: str, skip: frozenset[str] = frozenset(), exact: bool = False) -> str:
    """Names, sizes and modification times of everything under `folder` but the folders in
    `skip` (absolute: the build folder, when it lies inside the pages), as one digest.

    `exact` adds each file's inode and status-change time: a file written over keeping its
    size and time then counts as changed, as does every file of a copied folder. For
    sources; the build's own files are always written anew, and a restored build folder
    keeps its digest."""
    digest = hashlib.sha1()
    for line in sorted(_entries(folder, skip, exact)):
        digest.update(os.fsencode(line))  # a name that is not UTF-8 comes back as its bytes
    return digest.hexdigest()


def fingerprint(folders: list[str], files: list[str] = (), known: dict[str, str] | None = None,
                skip: frozenset[str] = frozenset(), exact: bool = False,
                exact_folders: frozenset[str] = frozenset()) -> str:
    """The `folder_digest` of each of `folders` (taken from `known` when it has one: a digest
    of that folder taken earlier in the run that nothing has written to since), and the bytes
    of `files`. `exact` digests every folder exactly; `exact_folders`, those named (sources
    among build folders)."""
    digest = hashlib.sha1()
    for folder in folders:
        part = (known or {}).get(folder) or folder_digest(folder, skip, exact or folder in exact_folders)
        digest.update(os.fsencode(f"[{folder}]{part}"))
    for file in files:
        digest.update(os.fsencode(f"<{file}>"))
        try:
            digest.update(Path(file).read_bytes())
        except OSError as exc:  # not written yet, or a folder or an unreadable file in its place
            digest.update(f"-{exc.errno}".encode())
    return digest.hexdigest()


def unchanged(task, values, folders: list[str], files: list[str] = (), known: dict[str, str] | None = None,
              skip: frozenset[str] = frozenset(), exact: bool = False,
              exact_folders: frozenset[str] = frozenset()) -> bool:
    """doit `uptodate` callable: True when the fingerprint equals the one the action returned."""
    return values.get("fingerprint") == fingerprint(folders, files, known, skip, exact, exact_folders)


def _entries(root: str, skip: frozenset[str], exact: bool):
    inside = os.path.join(os.path.realpath(root), "")
    skipped = {(info.st_dev, info.st_ino) for info in map(_stat_or_none, skip) if info is not None}
    walked = set()  # (device, inode) of the folders reached through a link: a link up would loop
    pending = [root]
    while pending:
        folder = pending.pop()
        try:
            scan = os.scandir(folder)
        except (FileNotFoundError, NotADirectoryError):  # not made yet, or a file in its place
            continue
        except OSError as exc:  # unreadable: whoever reads it says so; its digest changes when it is not
            yield f"{folder}\t!{exc.errno}\n"
            continue
        with scan:
            for entry in scan:
                if entry.name.startswith("."):
                    continue  # temporaries, the lock and doit's database
                if entry.is_symlink():
                    yield from _link(entry, inside, skipped, walked, pending, exact)
                    continue
                if entry.is_dir(follow_symlinks=False):
                    if entry.path not in skip:
                        pending.append(entry.path)
                    continue
                try:
                    info = entry.stat(follow_symlinks=False)
                except FileNotFoundError:  # removed while the folder was read
                    continue
                yield f"{entry.path}\t{_stamp(info, exact)}\n"


def _stamp(info: os.stat_result, exact: bool) -> str:
    """What changes when a file's bytes do: its size and modification time, and when `exact`
    its inode and status-change time (a file written over keeping its size and time still
    gets a new status-change time)."""
    if exact:
        return f"{info.st_size}\t{info.st_mtime_ns}\t{info.st_ino}\t{info.st_ctime_ns}"
    return f"{info.st_size}\t{info.st_mtime_ns}"


def _link(entry: os.DirEntry, inside: str, skipped: set, walked: set, pending: list, exact: bool):
    """A symbolic link's line: where it points and what is there now (the link alone stays
    the same when its file changes, even if that file lies in a folder skipped here, a hidden
    one). A page linked from outside the pages folder is read through its link, so a file
    outside counts too; a linked folder's files count when it lies inside the folder being
    fingerprinted (the pages are not looked for through linked folders, and images outside
    the image root are refused whatever they hold)."""
    try:
        target = os.readlink(entry.path)
        info = os.stat(entry.path)  # only its status: what leads out of the image root is never opened
    except OSError as exc:  # dangling, or a loop of links
        yield f"{entry.path}\t->!{exc.errno}\n"
        return
    inward = os.path.realpath(entry.path).startswith(inside)
    if (info.st_dev, info.st_ino) in skipped or (stat.S_ISDIR(info.st_mode) and not inward):
        yield f"{entry.path}\t->{target}\n"  # the build folder, or a folder outside: never walked
        return
    yield f"{entry.path}\t->{target}\t{_stamp(info, exact)}\n"
    if stat.S_ISDIR(info.st_mode) and (info.st_dev, info.st_ino) not in walked:
        walked.add((info.st_dev, info.st_ino))
        pending.append(entry.path)


def _stat_or_none(path: str):
    try:
        return os.stat(path)
    except OSError:
        return None
