"""Render the animation benchmark set: 800x800 turntables of 16 frames on three backgrounds.

    python bench/render_set.py [--size 800] [--frames 16] [--out bench/out/animations]

Writes `<out>/<background>/<Name>-<k>.png` with scripts/turntable.py; a sequence already
rendered at that size and count is kept, so `bench/animations.py` can call this every run.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import turntable  # noqa: E402  (a script, not a package)

BACKGROUNDS = ("white", "black", "transparent")
SHAPE = {"white": "belly", "black": "strap", "transparent": "fan"}
DEFAULT_OUT = ROOT / "bench" / "out" / "animations"


def sequence_name(background: str) -> str:
    return f"Turntable-{background}"


def render_set(out: Path = DEFAULT_OUT, *, size: int = 800, frames: int = 16) -> dict[str, list[Path]]:
    """{background: frame paths in order}, rendering only what is missing."""
    sets = {}
    for background in BACKGROUNDS:
        folder = out / f"{background}-{size}x{frames}"
        name = sequence_name(background)
        paths = [folder / f"{name}-{k}.png" for k in range(1, frames + 1)]
        if not all(p.is_file() for p in paths):
            print(f"rendering {frames} frames of {size}x{size} on {background} into {folder}", file=sys.stderr)
            paths = turntable.render_sequence(folder, name, size=size, frames=frames,
                                              background=background, shape=SHAPE[background])
        sets[background] = paths
    return sets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=800)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    for background, paths in render_set(args.out, size=args.size, frames=args.frames).items():
        print(f"{background}: {len(paths)} frames in {paths[0].parent}")


if __name__ == "__main__":
    main()
