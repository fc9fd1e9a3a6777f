"""Atomic output: write to a temporary file beside the target, then rename over it.

An interrupted build never leaves a truncated file under the target's name, so a later run
cannot take a half-written file as up to date. The data is flushed to the disk before the
rename, and the rename after it (before doit records the task as done), so a power cut
cannot leave an empty or an old file under the name either.
"""
from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_path(target: Path):
    """Yield a temporary path beside `target`; on success it is renamed to `target`.

    The temporary name keeps the target's suffix, so tools that choose a format by
    extension (Pillow, ffmpeg) write the right one.
    """
    target = Path(target)
    length = len(os.fsencode(target.name))
    if length > NAME_MAX:  # refused before any work, and said why: errno 36 alone names no cure
        raise OSError(errno.ENAMETOOLONG, f"the name '{target.name}' is {length} bytes long, over the "
                      f"{NAME_MAX} a file name may have; shorten the name it is made from", str(target))
    if target.is_dir() and not target.is_symlink():  # the rename would fail, after all the work
        raise IsADirectoryError(errno.EISDIR, "a folder is where this file is to be written: remove it, "
                                "and the next run makes the file", str(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        handle, temporary = tempfile.mkstemp(
            prefix=f".{_shortened(target.stem, target.suffix)}.", suffix=f".tmp{target.suffix}", dir=target.parent
        )
    except OSError as exc:  # no room, no inode, no permission: named by the file to be made
        exc.filename = str(target)  # not by the random temporary's name
        raise
    os.close(handle)
    try:
        yield Path(temporary)
        os.chmod(temporary, 0o644)
        _flush_to_disk(temporary)  # both: 0.5 ms a file here, a fraction of a thumbnail's encoding
        os.replace(temporary, target)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        if isinstance(exc, OSError) and exc.filename in (None, temporary):
            exc.filename = str(target)  # a full disk, say: the file being written is the one to name
        raise
    # the file is in place: a folder that cannot be flushed (some network and FUSE file
    # systems refuse) is no failure of the write
    with contextlib.suppress(OSError):
        _flush_to_disk(str(target.parent))


NAME_MAX = 255  # bytes in a file's name, on every file system the pipeline writes to


def _shortened(stem: str, suffix: str) -> str:
    """`stem`, cut so that the temporary's name (`.<stem>.<8 random>.tmp<suffix>`) is no longer
    than a name may be: a target named near the limit is still written."""
    room = NAME_MAX - len(f"..12345678.tmp{suffix}".encode())
    return stem.encode()[:max(room, 1)].decode(errors="ignore")


def _flush_to_disk(path: str) -> None:
    """fsync a file that another tool (Pillow, ffmpeg) wrote and closed, or a folder; a file
    system that cannot fsync at all (EINVAL, ENOTSUP) is taken as it is."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise
    finally:
        os.close(descriptor)


def remove_outputs(targets) -> None:
    """Remove the files `targets` (outputs, in the build folder) where they are files: those
    made from frames that make them no more (a frame of another size, a codec that cannot take
    them). Kept, they passed for current in the report and in `build/images`, where a fresh
    build has none; the last complete bundle still holds them."""
    for target in targets:
        with contextlib.suppress(FileNotFoundError, IsADirectoryError):
            os.unlink(target)


def write_bytes_atomic(target: Path, data: bytes) -> None:
    with atomic_path(target) as temporary:
        temporary.write_bytes(data)


def write_text_atomic(target: Path, text: str) -> None:
    write_bytes_atomic(target, text.encode("utf-8"))
