"""Animations side by side with the recipe a user would write with Debian's tools.

    python bench/animations.py [--size 800] [--frames 16] [--sweep]

Renders (once) 800x800 turntables of 16 frames on white, black and transparent backgrounds
(bench/render_set.py), then for each builds GIF, WebP, WebM and MP4 with the pipeline's
default settings and with the issue's recipe (ffmpeg palettegen/paletteuse + gifsicle -O3,
img2webp, ffmpeg libvpx-vp9 / libx264), and prints bytes, mean and minimum SSIM of every
decoded frame against its source frame laid over the matte, seconds (loading the frames
included for ours), and ours/recipe ratios. A recipe row is skipped, with a note, when its
tool is missing. `--sweep` adds rows for other GIF, WebP and video knobs.
"""
from __future__ import annotations

import argparse
import dataclasses
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import imageio.v3 as iio
import numpy as np
from PIL import Image, ImageSequence

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from pipeline import encode  # noqa: E402
from pipeline.frames import composite, load_rgba, parse_colour  # noqa: E402
from pipeline.settings import settings_from_dict  # noqa: E402
from pipeline.ssim import ssim  # noqa: E402
from pipeline.timing import timing_for  # noqa: E402
from render_set import render_set  # noqa: E402

FORMATS = ("gif", "webp", "webm", "mp4", "avif")
RECIPE_TOOLS = {"gif": ("ffmpeg", "gifsicle"), "webp": ("img2webp",), "webm": ("ffmpeg",), "mp4": ("ffmpeg",)}
TARGET = {"gif": "<=0.75x bytes, mean>=0.99, min>=0.98", "webp": "<=0.9x bytes, SSIM>=recipe",
          "webm": "<=1x bytes, SSIM>=recipe, >=0.985", "mp4": "<=1x bytes, SSIM>=recipe, >=0.985"}


def recipe_commands(fmt: str, paths: list[Path], out: Path, fps: float, matte: str | None = None) -> list[list[str]]:
    """The issue's recipe for `fmt`, frames named N-1.png ... N-16.png. With `matte` ('white'
    or '0xRRGGBB'), the video recipes lay the frames over that colour first, as a careful user
    would, instead of letting transparent pixels turn black."""
    pattern = str(paths[0].parent / (paths[0].stem.rsplit("-", 1)[0] + "-%d.png"))
    ffmpeg = ["ffmpeg", "-v", "error", "-y", "-framerate", f"{fps:g}", "-i", pattern]
    if matte and fmt in ("webm", "mp4"):
        with Image.open(paths[0]) as first:
            size = f"{first.width}x{first.height}"
        ffmpeg += ["-filter_complex", f"color=c={matte}:s={size}:r={fps:g}[m];[m][0:v]overlay=shortest=1"]
    if fmt == "gif":
        raw = out.with_suffix(".raw.gif")
        return [[*ffmpeg, "-vf", "split[a][b];[a]palettegen=stats_mode=diff[p];"
                 "[b][p]paletteuse=dither=sierra2_4a:diff_mode=rectangle", "-loop", "0", str(raw)],
                ["gifsicle", "-O3", str(raw), "-o", str(out)]]
    if fmt == "webp":
        return [["img2webp", "-loop", "0", "-lossy", "-q", "75", "-m", "4", "-d", f"{1000 / fps:g}",
                 *map(str, paths), "-o", str(out)]]
    if fmt == "webm":
        return [[*ffmpeg, "-c:v", "libvpx-vp9", "-crf", "32", "-b:v", "0", "-pix_fmt", "yuv420p", str(out)]]
    return [[*ffmpeg, "-c:v", "libx264", "-crf", "23", "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(out)]]


def decode(path: Path, matte) -> list[np.ndarray]:
    """Every frame as a viewer sees it on the page: RGB over the matte."""
    if path.suffix in (".webm", ".mp4"):
        return list(iio.imread(path, index=None, plugin="FFMPEG"))
    with Image.open(path) as image:
        return [composite(np.asarray(f.convert("RGBA")), matte) for f in ImageSequence.Iterator(image)]


def score(path: Path, reference: list[np.ndarray], matte) -> tuple[float, float, int]:
    frames = decode(path, matte)
    if len(frames) != len(reference):
        raise SystemExit(f"{path}: {len(frames)} frames decoded, {len(reference)} expected")
    height, width = reference[0].shape[:2]
    values = [ssim(f[:height, :width], r) for f, r in zip(frames, reference)]  # video pads to even
    return float(np.mean(values)), float(np.min(values)), len(frames)


def run_ours(fmt: str, paths: list[Path], out: Path, settings) -> float:
    """Seconds to load the frames and encode them, as one pipeline task does."""
    start = time.perf_counter()
    frames = [load_rgba(p) for p in paths]
    encode.ENCODERS[fmt](frames, out, getattr(settings, fmt), timing_for(len(frames), settings.animation),
                               parse_colour(settings.animation.matte))
    return time.perf_counter() - start


def run_recipe(fmt: str, paths: list[Path], out: Path, fps: float, matte: str | None = None) -> float | None:
    missing = [t for t in RECIPE_TOOLS[fmt] if shutil.which(t) is None]
    if missing:
        return None
    start = time.perf_counter()
    for command in recipe_commands(fmt, paths, out, fps, matte):
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - start


def run_pipeline(background: str, paths: list[Path], work: Path) -> float:
    """Seconds for `pipeline gif webp video` (doit, -n 2 as the console script runs on 2 cores)
    on a site holding just this sequence."""
    from pipeline.tasks import doit_main, doit_namespace

    site = work / f"site-{background}"
    (site / "pages").mkdir(parents=True)  # a fresh build folder: everything is built
    stem = paths[0].stem.rsplit("-", 1)[0]
    lines = ["---", f"title: '{stem}'", "images:", f"  - image_id: '{stem}'", f"    image_name: '{stem}.gif'",
             "gallery:"] + [f"  - image_url: {p.name}" for p in paths] + ["---", ""]
    (site / "pages" / f"{stem}.md").write_text("\n".join(lines))
    config = site / "pipeline.toml"
    config.write_text(f'[paths]\npages = "pages"\nimages = "{paths[0].parent}"\nbuild = "build"\n')
    start = time.perf_counter()
    code = doit_main(doit_namespace(config)).run(
        ["-n", "2", "--output-file", str(site / "doit.log"), "gif", "webp", "video"])
    seconds = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"pipeline failed on {background}: {(site / 'doit.log').read_text()}")
    return seconds


def fastest(times: int, run, *args):
    """The least seconds of `times` runs: other load on the machine only ever adds time."""
    results = [run(*args) for _ in range(max(times, 1))]
    return None if results[0] is None else min(results)


def sweep_settings(base) -> list[tuple[str, str, object]]:
    """(format, label, settings) variants worth comparing with the defaults."""
    variants = []
    for dither in ("none", "ordered", "floyd-steinberg"):
        for lossy in (0, 4, 8):
            variants.append(("gif", f"dither={dither} lossy={lossy}", _with(base, "gif", dither=dither, lossy=lossy)))
    for colors in (128, 64):
        variants.append(("gif", f"colors={colors}", _with(base, "gif", colors=colors)))
    for quality, method, minimize in ((75, 4, False), (75, 4, True), (68, 4, True), (65, 3, True), (70, 3, False)):
        variants.append(("webp", f"quality={quality} method={method} minimize_size={minimize}",
                         _with(base, "webp", quality=quality, method=method, minimize_size=minimize)))
    for crf, speed in ((32, 4), (32, 1), (33, 1), (33, 0)):
        variants.append(("webm", f"crf={crf} speed={speed}", _with(base, "webm", crf=crf, speed=speed)))
    for crf, preset, tune in ((23, "medium", "none"), (24, "slower", "none"), (24, "slow", "none"),
                              (25, "medium", "ssim"), (26, "slow", "ssim")):
        variants.append(("mp4", f"crf={crf} preset={preset} tune={tune}",
                         _with(base, "mp4", crf=crf, preset=preset, tune=tune)))
    return variants


def _with(settings, section: str, **changes):
    return dataclasses.replace(settings, **{section: dataclasses.replace(getattr(settings, section), **changes)})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=800)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--sweep", action="store_true", help="also measure other settings")
    parser.add_argument("--repeat", type=int, default=3,
                        help="time every maker this many times and keep the fastest (the machine is shared)")
    args = parser.parse_args()

    settings = settings_from_dict({"animation": {"formats": list(FORMATS)}}, base=ROOT)
    matte = parse_colour(settings.animation.matte)
    fps = settings.animation.fps
    missing = sorted({t for tools in RECIPE_TOOLS.values() for t in tools if shutil.which(t) is None})
    if missing:
        print(f"note: {', '.join(missing)} not installed: the recipe rows needing them are skipped")
    print(f"{args.size}x{args.size}, {args.frames} frames, {fps:g} fps, matte {settings.animation.matte}; "
          "ours = pipeline defaults, seconds include loading the PNGs; SSIM of each decoded frame "
          "against the source over the matte")
    header = f"{'background':<12}{'format':<6}{'maker':<44}{'bytes':>10}{'SSIM mean':>11}{'min':>8}{'seconds':>9}{'x bytes':>9}"
    print(header)
    print("-" * len(header))
    totals: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(dir=ROOT / "bench" / "out") as work_dir:
        work = Path(work_dir)
        for background, paths in render_set(size=args.size, frames=args.frames).items():
            reference = [composite(load_rgba(p), matte) for p in paths]
            pipeline = min(run_pipeline(background, paths, work / str(k)) for k in range(args.repeat))
            totals[background] = {"recipe": 0.0, "ours": 0.0, "pipeline": pipeline}
            for fmt in FORMATS:
                recipe_bytes = None
                if fmt in RECIPE_TOOLS:
                    out = work / f"recipe-{background}.{fmt}"
                    seconds = fastest(args.repeat, run_recipe, fmt, paths, out, fps)
                    if seconds is None:
                        print(f"{background:<12}{fmt:<6}recipe skipped: {' and '.join(RECIPE_TOOLS[fmt])} not installed")
                    else:
                        recipe_bytes = out.stat().st_size
                        totals[background]["recipe"] += seconds
                        mean, low, _ = score(out, reference, matte)
                        print(f"{background:<12}{fmt:<6}{'recipe':<44}{recipe_bytes:>10}{mean:>11.5f}{low:>8.4f}{seconds:>9.2f}{1:>9.2f}")
                flattened = None  # the video recipe given frames laid over the matte, on transparent renders
                if fmt in ("webm", "mp4") and recipe_bytes and any(f[..., 3].min() < 255 for f in map(load_rgba, paths[:1])):
                    out = work / f"recipe-matte-{background}.{fmt}"
                    seconds = fastest(args.repeat, run_recipe, fmt, paths, out, fps, "0x%02x%02x%02x" % matte)
                    flattened = out.stat().st_size
                    mean, low, _ = score(out, reference, matte)
                    print(f"{background:<12}{fmt:<6}{'recipe, frames laid over the matte first':<44}{flattened:>10}"
                          f"{mean:>11.5f}{low:>8.4f}{seconds:>9.2f}{flattened / recipe_bytes:>9.2f}")
                rows = [("ours (defaults)", settings)]
                if args.sweep:
                    rows += [(f"ours {label}", s) for f2, label, s in sweep_settings(settings) if f2 == fmt]
                for label, variant in rows:
                    out = work / f"ours-{background}.{fmt}"
                    seconds = fastest(args.repeat if variant is settings else 1, run_ours, fmt, paths, out, variant)
                    if variant is settings and fmt in RECIPE_TOOLS:
                        totals[background]["ours"] += seconds
                    size = out.stat().st_size
                    mean, low, _ = score(out, reference, matte)
                    ratio = f"{size / recipe_bytes:>9.2f}" if recipe_bytes else f"{'-':>9}"
                    print(f"{background:<12}{fmt:<6}{label:<44}{size:>10}{mean:>11.5f}{low:>8.4f}{seconds:>9.2f}{ratio}")
                    if flattened and variant is settings:
                        print(f"{'':<18}(ours / the recipe laid over the matte: {size / flattened:.2f}x bytes)")
            print()
    print("wall time for gif+webp+webm+mp4 of one sequence (seconds): the recipe's commands one after")
    print("another; ours one after another; ours as `pipeline gif webp video` runs them (doit -n 2):")
    for background, spent in totals.items():
        if spent["recipe"]:
            ratios = f"{spent['ours'] / spent['recipe']:.2f}x / {spent['pipeline'] / spent['recipe']:.2f}x"
        else:
            ratios = "recipe skipped"
        print(f"  {background:<12} recipe {spent['recipe']:6.2f}   ours {spent['ours']:6.2f}   "
              f"pipeline {spent['pipeline']:6.2f}   {ratios}")
    print("targets: " + "; ".join(f"{k}: {v}" for k, v in TARGET.items()))


if __name__ == "__main__":
    main()
