"""The image root as the pipeline reads it: every file looked at once, from headers and tails.

Verification, the encoders, thumbnails, contact sheets and the bundle all ask the same
questions of a referenced path (is it there, is it safe to open, what format and size is it),
and one ImageRoot answers each once (every task, in its own process, has its own). Unsafe names and symlinks leading outside the root are
never opened.
"""
from __future__ import annotations

import functools
import os
import posixpath
import unicodedata
from pathlib import Path
from sys import intern  # one string per frame path, whichever sub-tasks name it
from typing import NamedTuple

from .catalog import FRAME_NAME
from .probe import ImageInfo, Unreadable, probe
from .problems import shown_name
from .safepaths import goes_through_symlink, is_hidden, resolve_inside, unsafe_reason


class FileCheck(NamedTuple):
    """What verification learnt about one referenced path."""

    exists: bool
    info: ImageInfo | None  # None when missing, unsafe or unreadable
    problem: str | None  # the code of the problem reported for it, if any


class ImageRoot:
    """Looks at files under the image root once each, remembering what it found."""

    def __init__(self, root: Path, *, deep: bool = False, max_pixels: int = 89_478_485):
        self.root = root.resolve()
        self.deep = deep
        self.max_pixels = max_pixels
        self._checked: dict[str, tuple[FileCheck, str]] = {}

    @functools.cached_property
    def _listing(self) -> "_Listing":
        return _list_files(self.root)

    @functools.cached_property
    def files(self) -> set[str]:
        """Every file under the root (relative paths), from one walk of the tree."""
        return self._listing[0]

    def prefetch(self) -> None:
        """Walk the tree once now, so later checks need no system call for missing files."""
        self._listing  # noqa: B018 -- computes and caches the listing

    @functools.cached_property
    def _frames_by_base(self) -> dict[tuple[str, str, str], list[str]]:
        """(folder, base, extension) -> names of the files `<base>-<N><extension>` there."""
        index: dict[tuple[str, str, str], list[str]] = {}
        for path in self.files:
            folder, _, name = path.rpartition("/")
            stem, ext = posixpath.splitext(name)
            match = FRAME_NAME.match(stem)
            if match:
                index.setdefault((folder, match["base"], ext), []).append(name)
        return index

    @functools.cached_property
    def _by_lower_case(self) -> dict[str, list[str]]:
        index: dict[str, list[str]] = {}
        for path in self.files:
            index.setdefault(path.lower(), []).append(path)
        return index

    def other_case(self, reference: str) -> list[str]:
        """Files whose names differ from `reference` only in case, sorted. A page written on a
        case-insensitive file system (macOS, Windows) finds them there, and a web server on
        Linux does not."""
        return sorted(p for p in self._by_lower_case.get(reference.lower(), ()) if p != reference)

    @functools.cached_property
    def _by_normal_form(self) -> dict[str, list[str]]:
        index: dict[str, list[str]] = {}
        for path in self.files:
            index.setdefault(unicodedata.normalize("NFC", path), []).append(path)
        return index

    def other_normal_form(self, reference: str) -> list[str]:
        """Files whose names are `reference` with its accents written another way (NFC: 'é' as
        one code point; NFD: 'e' and a combining accent), sorted. They look the same, and a
        web server tells them apart; macOS long wrote names in NFD, pages are usually NFC."""
        return sorted(p for p in self._by_normal_form.get(unicodedata.normalize("NFC", reference), ())
                      if p != reference)

    def is_folder(self, reference: str) -> bool:
        """Whether `reference`, a safe name, is a folder inside the root (looked at, not opened)."""
        if unsafe_reason(reference) or is_hidden(reference):
            return False
        real = resolve_inside(self.root, reference)
        return real is not None and real.is_dir()

    def reached_through_symlinks(self, references: set[str]) -> set[str]:
        """What `references` use under other names, when the walk saw symlinks: the real path
        (relative to the root) of each that goes through one, and the symlinks on the way
        (a symlink to a folder is listed as a file). Empty without symlinks: no system call."""
        if not self._listing.has_symlinks:
            return set()
        reached = set()
        for reference in references:
            if unsafe_reason(reference) or is_hidden(reference) or not goes_through_symlink(self.root, reference):
                continue
            parts = reference.split("/")
            reached.update("/".join(parts[:n]) for n in range(1, len(parts))
                           if os.path.islink(os.path.join(self.root, *parts[:n])))
            real = resolve_inside(self.root, reference)
            if real is not None and real != self.root:
                reached.add(real.relative_to(self.root).as_posix())
        return reached

    def present(self, references: list[str]) -> list[str]:
        """Full paths of the `references` that name a file, for a task's `file_dep`: a missing
        file_dep fails with doit's own error, where the task's action names the page line
        (and, failed, the task runs again). Unsafe names are never looked at."""
        folder = f"{self.root}/"
        return [intern(folder + r) for r in references
                if r in self.files or unsafe_reason(r) is None and not is_hidden(r) and os.path.isfile(folder + r)]

    def check(self, reference: str) -> tuple[FileCheck, str]:
        """(result, message) for `reference`; the message explains the problem, if any."""
        if reference not in self._checked:
            self._checked[reference] = self._check(reference)
        return self._checked[reference]

    def frames_named(self, folder: str, base: str, ext: str) -> list[str]:
        """Names of the files `<base>-<N><ext>` directly in `folder`, in frame order."""
        names = self._frames_by_base.get((folder, base, ext), ())
        return sorted(names, key=lambda name: int(FRAME_NAME.match(posixpath.splitext(name)[0])["number"]))

    def _check(self, reference: str) -> tuple[FileCheck, str]:
        reason = unsafe_reason(reference)
        if reason:
            return FileCheck(False, None, "unsafe-path"), f"'{reference}' {reason}; it is not opened"
        path = self._existing_path(reference)
        if path is None:
            return FileCheck(False, None, None), ""
        if path is _OUTSIDE:
            return FileCheck(True, None, "unsafe-path"), (
                f"'{reference}' is a symlink that leads outside the image root; it is not opened"
            )
        if path is _UNLISTED:
            folder, why = self._in_unlisted_folder(reference)
            return FileCheck(False, None, "unreadable"), (
                f"'{reference}' cannot be looked for: its folder '{folder.rstrip('/')}' cannot be read ({why})")
        if path is _SPECIAL:  # opening a named pipe would wait for a writer forever
            return FileCheck(True, None, "unreadable"), (
                f"'{reference}' is not a regular file (a named pipe, socket or device); it is not opened"
            )
        try:
            return FileCheck(True, probe(path, deep=self.deep, max_pixels=self.max_pixels), None), ""
        except Unreadable as exc:
            return FileCheck(True, None, "unreadable"), f"'{reference}' {exc}"

    def _in_unlisted_folder(self, reference: str) -> tuple[str, str] | None:
        """(folder, why) when `reference` lies in a folder the walk could not read."""
        return next(((f, why) for f, why in self._listing.unlisted.items() if reference.startswith(f)), None)

    def _existing_path(self, reference: str):
        """The file `reference` names, None when there is none (or it is hidden, as the walk
        leaves those out), `_OUTSIDE` when symlinks lead out, `_SPECIAL` when it is no regular
        file (nor a folder)."""
        if is_hidden(reference):
            return None
        if "_listing" in self.__dict__:
            files, special, has_symlinks, _ = self._listing
            if reference in special:
                return _SPECIAL
            if not has_symlinks and reference in files:  # the walk saw every file: no system call needed
                return self.root / reference
            if not has_symlinks and not self._in_unlisted_folder(reference):
                return None
        if not os.path.lexists(os.path.join(self.root, reference)):
            # not there, or in a folder that cannot be read: only the walk tells (a rare case)
            return _UNLISTED if self._in_unlisted_folder(reference) else None
        real = resolve_inside(self.root, reference)
        if real is None:
            return _OUTSIDE
        if real.is_file():
            return real
        return _SPECIAL if real.exists() and not real.is_dir() else None


# markers: a path that resolves outside the image root; a named pipe, socket or device; a
# path in a folder that cannot be listed
_OUTSIDE, _SPECIAL, _UNLISTED = Path("/"), Path("/dev/null"), Path("/dev/zero")


class _Listing(NamedTuple):
    files: set[str]  # relative paths of the files under the root
    special: set[str]  # of the named pipes, sockets and devices there
    has_symlinks: bool  # whether any symlink was seen on the way
    unlisted: dict[str, str]  # folders that could not be read ('a/b/'), and why


def _list_files(root: Path) -> _Listing:
    """The files under `root`, from one walk. A name that is not UTF-8 is listed with its
    odd bytes written `\\xNN` (what messages show): no page, which is UTF-8, names it."""
    found, special, symlinks, unlisted = set(), set(), False, {}
    pending = [("", str(root))]
    while pending:
        prefix, folder = pending.pop()
        try:
            entries = os.scandir(folder)
        except OSError as exc:
            if not prefix:
                raise
            unlisted[prefix] = exc.strerror or str(exc)
            continue
        with entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                name = prefix + shown_name(entry.name)
                symlinks = symlinks or entry.is_symlink()
                if entry.is_dir(follow_symlinks=False):
                    pending.append((name + "/", entry.path))
                elif entry.is_file(follow_symlinks=False) or entry.is_symlink():
                    found.add(name)
                else:
                    special.add(name)
    return _Listing(found, special, symlinks, unlisted)

