"""Which reference paths may be opened: only relative paths that stay inside the image root."""
from __future__ import annotations

import os
import re
from pathlib import Path

URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
# every unsafe reference has one of these or a control character, starts or ends with a
# space, starts with '/', or ends with '/' or '/.', or is '.'
_SUSPECT = (":", "\\", "..", "./", "//")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def unsafe_reason(reference: str) -> str | None:
    """Why `reference` must not be opened, judged from its text alone; None when it may be."""
    if not (reference.startswith("/") or reference.endswith(("/", "/.")) or reference == "."
            or any(mark in reference for mark in _SUSPECT) or _CONTROL.search(reference)
            or reference[:1].isspace() or reference[-1:].isspace()):
        return None  # the common case
    control = _CONTROL.search(reference)
    if control:
        # a newline or tab in a name is a slip of the editor: no URL the site writes has one
        return f"contains a control character (U+{ord(control.group()):04X}); remove it"
    if reference[:1].isspace() or reference[-1:].isspace():
        # Liquid writes the name as it is quoted: `src="/img/X.gif%20"`, a broken link
        return f"starts or ends with a space; write {reference.strip()!r}"
    if URL_SCHEME.match(reference) or reference.startswith("//"):
        return "is a URL, not a path relative to the image root"
    if reference.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:[\\/]", reference):
        return "is an absolute path; write it relative to the image root"
    if ".." in re.split(r"[\\/]", reference):
        return "contains '..'; references must stay inside the image root"
    if "\\" in reference:
        return "contains a backslash; use '/' between folders"
    parts = reference.split("/")
    if any(part in ("", ".") for part in parts):
        # verify, the tasks and the bundle would each take it differently: one spelling only
        plain = "/".join(part for part in parts if part not in ("", "."))
        return f"is not a plain path (a '.' or empty folder name); write {plain!r}"
    return None


def is_hidden(reference: str) -> bool:
    """Whether a file or folder of `reference` has a name starting with '.': Jekyll does not
    publish those, and the pipeline reads none (its own temporaries have such names)."""
    return reference.startswith(".") or "/." in reference


def resolve_inside(root: Path, reference: str) -> Path | None:
    """The real path of `reference` under `root`, or None when symlinks lead it outside.

    `root` must already be resolved. Call only for references `unsafe_reason` accepts.
    """
    candidate = root / reference
    if not goes_through_symlink(root, reference):
        return candidate
    real = Path(os.path.realpath(candidate))
    return real if real == root or root in real.parents else None


def goes_through_symlink(root: Path, reference: str) -> bool:
    """Whether `reference`, or a folder on its way from `root`, is a symlink."""
    current = str(root)
    for part in reference.split("/"):
        current = f"{current}/{part}"
        if os.path.islink(current):
            return True
    return False
