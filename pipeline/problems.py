"""Problems found in manifests and images, and the one error type the package raises."""
from __future__ import annotations

import os
from typing import NamedTuple

ERROR = "error"
WARNING = "warning"

# Every problem code, with its severity. The README's Troubleshooting section explains each.
SEVERITY = {
    "missing": ERROR,
    "unreadable": ERROR,
    "inconsistent-frames": ERROR,
    "unencodable": ERROR,
    "unsafe-path": ERROR,
    "bad-manifest": ERROR,
    "output-clash": ERROR,
    "name-too-long": ERROR,
    "duplicate-reference": WARNING,
    "unlisted-frame": WARNING,
    "frame-gap": WARNING,
    "unmatched-frame": WARNING,
    "orphan": WARNING,
    "renamed-by-jekyll": WARNING,
    "skipped-by-jekyll": WARNING,
}


# a newline in a name would split a problem's line: shown as \n (tab \t, others \xNN)
_ESCAPES = {code: repr(chr(code))[1:-1] for code in (*range(32), 127)}


class PipelineError(Exception):
    """A failure the user can fix; its text is the whole message shown to them."""


class Problem(NamedTuple):
    """One finding of verification.

    `page` is the page path relative to the pages folder, or None for a problem of an image
    alone; `reference` is the image path (relative to the image root) it is about.
    """

    page: str | None
    line: int | None
    reference: str
    code: str
    message: str

    @property
    def severity(self) -> str:
        return SEVERITY[self.code]

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def location(self) -> str:
        return location(self.page, self.line, self.reference)

    def __str__(self) -> str:
        """`page:line: code: message` on one line: control characters in names are escaped."""
        return f"{self.location()}: {self.code}: {self.message}".translate(_ESCAPES)

    def as_json(self) -> dict:
        return {
            "page": self.page,
            "line": self.line,
            "reference": self.reference,
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
        }


def shown_name(name: str) -> str:
    """A file name as text: one that is not UTF-8 (Python's surrogate escapes) has its odd
    bytes written `\\xNN`, so it can be printed and saved as JSON."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        return os.fsencode(name).decode("utf-8", "backslashreplace")


def location(page: str | None, line: int | None, reference: str) -> str:
    """Where a problem is: `page:line`, the page alone, or the image file when no page names it."""
    if page is None:
        return reference
    return f"{page}:{line}" if line else page


def problems_failed(problems, strict: bool = False) -> bool:
    """Whether these problems fail a run: any error, or any problem at all when strict."""
    return any(p.is_error or strict for p in problems)
