"""Thumbnail bytes and SSIM against ImageMagick, downscaling methods, and PNG re-compression.

    python bench/thumbnails.py [--width 200] [--frames 4] [--size 800]

Sets: the `raw/` sample frames (240x240) and 800x800 turntable renders made with
scripts/turntable.py into bench/out/thumbnails/ (rendered once, then reused).

SSIM is measured against the float Lanczos reference (Pillow's 32-bit float Lanczos, one
channel at a time, premultiplied alpha, no reducing gap), the same for every row; images with alpha are
compared over white and over black and the worse score counts.
"""
from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))

import turntable  # noqa: E402  (a script, not a package)

from pipeline import pngcopy, thumbnails  # noqa: E402
from pipeline.frames import load_rgba, to_rgba  # noqa: E402
from pipeline.ssim import ssim  # noqa: E402

OUT = ROOT / "bench" / "out" / "thumbnails"
SHAPE = {"white": "belly", "black": "strap", "transparent": "fan"}


def render_set(size: int, frames: int) -> list[Path]:
    paths = []
    for background, shape in SHAPE.items():
        folder = OUT / f"{background}-{size}x{frames}"
        name = f"Render-{background}"
        wanted = [folder / f"{name}-{k}.png" for k in range(1, frames + 1)]
        if not all(p.is_file() for p in wanted):
            print(f"rendering {frames} frames {size}x{size} on {background} into {folder}", file=sys.stderr)
            wanted = turntable.render_sequence(folder, name, size=size, frames=frames,
                                               background=background, shape=shape)
        paths += wanted
    return paths


def decoded(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return to_rgba(image).astype(np.float32)


def compare(pixels: np.ndarray, reference: np.ndarray) -> float:
    opaque = reference[..., 3].min() >= 255 and pixels[..., 3].min() >= 255
    return ssim(pixels[..., :3], reference[..., :3]) if opaque else ssim(pixels, reference)


def imagemagick_thumbnail(convert: str, source: Path, width: int) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "thumb.png"
        subprocess.run([convert, str(source), "-thumbnail", f"{width}x", str(out)], check=True)
        return out.read_bytes()


def thumbnail_rows(paths: list[Path], width: int, convert: str | None) -> list[tuple]:
    rows = []
    for path in paths:
        rgba = load_rgba(path)
        size = thumbnails.thumbnail_size(rgba.shape[1], rgba.shape[0], width)
        reference = thumbnails.resize(rgba, size)
        started = time.perf_counter()  # what make_thumbnails does for the PNG, after the decode
        pixels = thumbnails.resize(rgba, size, thumbnails.REDUCING_GAP)
        ours = thumbnails.png_bytes(pixels, 0.99)
        seconds = time.perf_counter() - started
        webp = thumbnails.webp_bytes(pixels, 80)
        with Image.open(io.BytesIO(ours)) as image:
            mode = image.mode
        row = [path.name, len(ours), mode, compare(decoded(ours), reference), len(webp),
               compare(decoded(webp), reference), seconds]
        if convert:
            magick = imagemagick_thumbnail(convert, path, width)
            magick_pixels = decoded(magick)
            row += [len(magick), compare(magick_pixels, reference)]
        rows.append(tuple(row))
    return rows


def print_thumbnails(title: str, rows: list[tuple], convert: str | None) -> None:
    print(f"\n## {title}: PNG and WebP thumbnails (min_ssim 0.99, WebP q80)")
    head = f"{'file':32} {'ours B':>7} {'mode':>4} {'SSIM':>6} {'webp B':>7} {'SSIM':>6} {'s':>5}"
    if convert:
        head += f" {'IM B':>7} {'IM SSIM':>7} {'ours/IM':>7} {'webp/IM':>7}"
    print(head)
    for row in rows:
        line = f"{row[0]:32} {row[1]:7d} {row[2]:>4} {row[3]:6.4f} {row[4]:7d} {row[5]:6.4f} {row[6]:5.2f}"
        if convert:
            line += f" {row[7]:7d} {row[8]:7.4f} {row[1] / row[7]:7.2f} {row[4] / row[7]:7.2f}"
        print(line)
    ours, webp = sum(r[1] for r in rows), sum(r[4] for r in rows)
    line = (f"{'TOTAL / min SSIM':32} {ours:7d} {'':>4} {min(r[3] for r in rows):6.4f} {webp:7d} "
            f"{min(r[5] for r in rows):6.4f} {sum(r[6] for r in rows):5.2f}")
    if convert:
        magick = sum(r[7] for r in rows)
        line += f" {magick:7d} {min(r[8] for r in rows):7.4f} {ours / magick:7.2f} {webp / magick:7.2f}"
    print(line)


def downscale_methods(paths: list[Path], width: int) -> None:
    """Mean SSIM against the float reference and time per thumbnail for each way to downscale."""
    methods = {
        "Pillow LANCZOS 8-bit, no reducing gap": lambda img, size: img.resize(size, Image.Resampling.LANCZOS),
        "Pillow LANCZOS, reducing_gap=3.0": lambda img, size: img.resize(size, Image.Resampling.LANCZOS,
                                                                         reducing_gap=3.0),
        "Pillow LANCZOS, reducing_gap=2.0": lambda img, size: img.resize(size, Image.Resampling.LANCZOS,
                                                                         reducing_gap=2.0),
        "Pillow thumbnail() (BICUBIC, gap 2.0)": _pillow_thumbnail,
        "float Lanczos, premultiplied (reference)": None,
        "float Lanczos, premult., gap 2 (ours)": "gap",
        "float Lanczos in linear light": "linear",
    }
    print(f"\n## downscaling to {width} px wide: SSIM against float Lanczos (sRGB, premultiplied)")
    print(f"{'method':40} {'mean SSIM':>9} {'min SSIM':>9} {'ms/thumb':>9}")
    for name, method in methods.items():
        scores, elapsed = [], 0.0
        for path in paths:
            rgba = load_rgba(path)
            size = thumbnails.thumbnail_size(rgba.shape[1], rgba.shape[0], width)
            reference = thumbnails.resize(rgba, size)
            started = time.perf_counter()
            if method is None:
                result = np.round(thumbnails.resize(rgba, size))
            elif method == "gap":
                result = np.round(thumbnails.resize(rgba, size, thumbnails.REDUCING_GAP))
            elif method == "linear":
                result = _linear_light(rgba, size)
            else:
                result = np.asarray(method(Image.fromarray(rgba, "RGBa"), size).convert("RGBA"),
                                    dtype=np.float32)
            elapsed += time.perf_counter() - started
            scores.append(compare(result, reference))
        print(f"{name:40} {np.mean(scores):9.4f} {np.min(scores):9.4f} {1000 * elapsed / len(paths):9.1f}")


def _pillow_thumbnail(image: Image.Image, size) -> Image.Image:
    copy = image.copy()
    copy.thumbnail(size)
    return copy.resize(size) if copy.size != size else copy


def _linear_light(rgba: np.ndarray, size) -> np.ndarray:
    colour = rgba[..., :3].astype(np.float32) / 255.0
    linear = np.where(colour <= 0.04045, colour / 12.92, ((colour + 0.055) / 1.055) ** 2.4) * 255.0
    scaled = thumbnails.resize(np.dstack([linear, rgba[..., 3:].astype(np.float32)]), size) / 255.0
    srgb = np.where(scaled[..., :3] <= 0.0031308, scaled[..., :3] * 12.92,
                    1.055 * np.clip(scaled[..., :3], 0, None) ** (1 / 2.4) - 0.055)
    return np.round(np.dstack([srgb * 255.0, scaled[..., 3:] * 255.0]).clip(0, 255))


def recompression(title: str, paths: list[Path], optipng: str | None) -> None:
    print(f"\n## {title}: full-size PNG copies, losslessly re-compressed")
    source = ours = tool = 0
    identical = True
    started = time.perf_counter()
    for path in paths:
        data = path.read_bytes()
        result = pngcopy.recompressed(data)
        identical &= np.array_equal(decoded(result), decoded(data))
        source, ours = source + len(data), ours + len(result)
    seconds = time.perf_counter() - started
    line = (f"{len(paths)} files: source {source} B, ours {ours} B, ratio {ours / source:.3f}, "
            f"pixels identical: {identical}, {seconds:.1f} s")
    if optipng:
        with tempfile.TemporaryDirectory() as folder:
            for path in paths:
                out = Path(folder) / path.name
                subprocess.run([optipng, "-quiet", "-o2", "-out", str(out), str(path)], check=True)
                tool += out.stat().st_size
        line += f"; optipng -o2 {tool} B, ratio {tool / source:.3f}"
    else:
        line += "; optipng not installed: its column is skipped"
    print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=200)
    parser.add_argument("--frames", type=int, default=4, help="frames per background of the render set")
    parser.add_argument("--size", type=int, default=800)
    args = parser.parse_args()
    convert = shutil.which("convert")
    if not convert:
        print("ImageMagick's convert is not installed: its columns are skipped")
    raw = sorted((ROOT / "raw" / "images").rglob("*-[1-4].png"))
    renders = render_set(args.size, args.frames)
    for title, paths in ((f"raw/ ({len(raw)} frames)", raw),
                         (f"turntable renders {args.size}x{args.size} ({len(renders)} frames)", renders)):
        print_thumbnails(title, thumbnail_rows(paths, args.width, convert), convert)
    downscale_methods(raw + renders, args.width)
    optipng = shutil.which("optipng")
    recompression("raw/", sorted((ROOT / "raw" / "images").rglob("*.png")), optipng)
    recompression(f"turntable renders {args.size}x{args.size}", renders, optipng)
    recompression("the same renders saved fast (zlib level 1, as renderers often do)",
                  fast_copies(renders), optipng)


def fast_copies(paths: list[Path]) -> list[Path]:
    folder = OUT / "fast"
    folder.mkdir(parents=True, exist_ok=True)
    copies = []
    for path in paths:
        copy = folder / path.name
        if not copy.is_file():
            with Image.open(path) as image:
                image.save(copy, compress_level=1)
        copies.append(copy)
    return copies


if __name__ == "__main__":
    main()
