"""How long `pipeline verify` takes on a site the size of the real atlas (~300 pages, ~5,000 frames).

    python bench/verify_speed.py [--pages 300]

Prints wall time of the whole command (process start, settings, parsing every page, header
checks, verify.json) next to the same with --deep (every pixel decoded), and, for scale, a
plain `identify` over the same frames when ImageMagick is installed: the tool one would
otherwise script this with.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from corpus import make_corpus
from timing import best_of

PIPELINE = [sys.executable, "-m", "pipeline.cli"]


def exit_status(command: list[str], cwd: Path) -> int:
    return subprocess.run(command, cwd=cwd, capture_output=True).returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--size", type=int, default=64)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        make_corpus(site, pages=args.pages, animations=int(args.pages * 0.83), frames=16, size=args.size)
        frames = sorted((site / "images").rglob("*.png"))
        print(f"corpus: {args.pages} pages, {len(frames)} frames of {args.size}x{args.size}")
        rows = [
            ("pipeline verify (headers)", PIPELINE + ["verify"], 3),
            ("pipeline verify --deep", PIPELINE + ["verify", "--deep"], 1),
        ]
        if shutil.which("identify"):
            rows.append(("identify (ImageMagick, headers)", ["identify", *map(str, frames)], 1))
        else:
            print("identify: skipped, ImageMagick is not installed (apt-get install imagemagick)")
        base = None
        print(f"{'command':36} {'seconds':>8} {'ratio':>7} exit")
        for name, command, repeat in rows:
            seconds, code = best_of(repeat, exit_status, command, site)
            base = base or seconds
            print(f"{name:36} {seconds:8.2f} {seconds / base:7.2f} {code}")


if __name__ == "__main__":
    main()
