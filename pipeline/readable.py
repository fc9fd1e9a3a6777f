"""Sizes and durations as people read them, for the progress lines and the report."""
from __future__ import annotations


def format_bytes(count: int) -> str:
    """`999 B`, `1.0 kB`, `2.5 MB`: powers of 1000; a negative count keeps its sign."""
    if abs(count) < 1000:
        return f"{count} B"
    for unit in ("kB", "MB", "GB"):
        count /= 1000
        if abs(count) < 1000 or unit == "GB":
            return f"{count:.1f} {unit}"
    raise AssertionError("unreachable")


def format_seconds(seconds: float) -> str:
    """`59.9 s`, `1 min 01 s`, `1 h 02 min`."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"
