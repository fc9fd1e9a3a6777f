"""Write a site the size of the real atlas: pages in its shape, turntable frames, pipeline.toml.

    python bench/corpus.py OUT_DIR [--pages 300] [--animations 250] [--frames 16] [--size 64]

Frames are rendered once per background with scripts/turntable.py and copied under every
animation's name, with the animation's number drawn into a corner so no two sequences are
byte-identical. Pages beyond the animated ones carry a gallery without an animation, as the
real overview pages do.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from turntable import render_sequence  # noqa: E402

REGIONS = ("Leg", "Arm", "Thigh", "Hip", "Back", "Abdomen", "Forearm", "Shoulder")


def page_text(title: str, animation: str | None, frames: list[str]) -> str:
    lines = ["---", "", "layout: page", f"title: '{title}'", "", "images:"]
    if animation:
        lines += [f"  - image_id: '{title}'", f"    image_name: '{animation}'",
                  f"    image_title: '{title}'", f"    image_alt: '{title}' "]
    lines += ["", "gallery:"]
    for k, url in enumerate(frames, 1):
        lines += [f"  - image_url: {url}", f"    caption: '{title} - orientation {k}'",
                  f"    title: '{title} - orientation {k}'"]
    return "\n".join(lines + ["---", "", "{% include gallery %}", ""])


def make_corpus(out: Path, *, pages: int, animations: int, frames: int, size: int,
                backgrounds=("white",)) -> None:
    images, page_dir = out / "images" / "muscles", out / "pages" / "muscles"
    templates = {}
    for background in backgrounds:
        folder = out / "templates" / background
        render_sequence(folder, "T", size=size, frames=frames, background=background, shape="belly")
        templates[background] = [folder / f"T-{k}.png" for k in range(1, frames + 1)]
    (images / "png").mkdir(parents=True, exist_ok=True)
    page_dir.mkdir(parents=True, exist_ok=True)
    for n in range(pages):
        name = f"{REGIONS[n % len(REGIONS)]}-Muscle{n:03d}"
        template = templates[backgrounds[n % len(backgrounds)]]
        urls = []
        for k, source in enumerate(template, 1):
            url = f"muscles/png/{name}-{k}.png"
            with Image.open(source) as image:
                image.load()
                ImageDraw.Draw(image).text((2, 2), str(n), fill=(90, 90, 90, 255))
                image.save(out / "images" / url)
            urls.append(url)
        animation = f"muscles/gif/{name}.gif" if n < animations else None
        (page_dir / f"muscle_{name.lower()}.md").write_text(page_text(name, animation, urls))
    shutil.rmtree(out / "templates")
    (out / "pipeline.toml").write_text('[paths]\npages = "pages"\nimages = "images"\nbuild = "build"\n')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--animations", type=int, default=250)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--backgrounds", default="white", help="comma-separated: white,black,transparent")
    args = parser.parse_args()
    if args.out.exists():
        shutil.rmtree(args.out)
    make_corpus(args.out, pages=args.pages, animations=args.animations, frames=args.frames,
                size=args.size, backgrounds=tuple(args.backgrounds.split(",")))


if __name__ == "__main__":
    main()
