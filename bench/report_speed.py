"""How fast the report is written and opened for a site the size of the real atlas.

    python bench/report_speed.py [--pages 300] [--size 64]

Writes a corpus (bench/corpus.py), fills `<build>/images` with outputs of the planned names
(GIF and WebP of each animation's frames, thumbnails, and one real WebM / MP4 copied under
every animation's name: the report only links videos, it never decodes them), then prints:
the seconds `reportpage.write_report` takes and the page's size, and, in headless Chromium, the
time to the load event, the requests made by then, and the time one filter keystroke takes,
for the report as written next to the same page with lazy loading taken out (what a naive
page of 300 animations costs). Chromium rows are skipped with a note when it is missing.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import imageio_ffmpeg
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from corpus import make_corpus  # noqa: E402
from pipeline import reportpage  # noqa: E402
from pipeline.plan import planned_outputs  # noqa: E402
from pipeline.settings import load_settings  # noqa: E402
from pipeline.site import open_site  # noqa: E402
from timing import best_of  # noqa: E402

CHROMIUM = "/usr/bin/chromium"


def fill_outputs(site) -> None:
    """Outputs with the planned names, made from the frames (videos: one real file, copied)."""
    build, images = site.settings.build_dir / "images", site.settings.images_dir
    videos = {}
    for output in planned_outputs(site.catalog, site.settings):
        target = build / output.path
        target.parent.mkdir(parents=True, exist_ok=True)
        frames = [Image.open(images / s).convert("RGB") for s in output.sources[:8]]
        if output.kind in ("gif", "webp"):
            frames[0].save(target, save_all=True, append_images=frames[1:], duration=125, loop=0)
        elif output.kind in ("webm", "mp4"):
            if output.kind not in videos:
                videos[output.kind] = target
                encode_video(frames, target)
            else:
                shutil.copyfile(videos[output.kind], target)
        elif output.kind in ("thumbnail", "thumbnail-webp"):
            frames[0].thumbnail((48, 48))
            frames[0].save(target)
        elif output.kind == "frame":
            shutil.copyfile(images / output.sources[0], target)


def encode_video(frames, target: Path) -> None:
    width, height = frames[0].size
    codec = (["-c:v", "libvpx-vp9", "-deadline", "realtime"] if target.suffix == ".webm"
             else ["-c:v", "libx264", "-pix_fmt", "yuv420p"])
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-f", "rawvideo",
                    "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", "8", "-i", "-", *codec,
                    str(target)], input=b"".join(np.asarray(f).tobytes() for f in frames), check=True)


def browser_rows(pages: list[tuple[str, Path]]) -> None:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("chromium rows: skipped, Playwright is not installed (pip install -e .[test])")
        return
    if not Path(CHROMIUM).exists():
        print(f"chromium rows: skipped, {CHROMIUM} not found (apt-get install chromium)")
        return
    print(f"{'page (file://, 1280x900)':34} {'load s':>7} {'requests':>9} {'filter ms':>10}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        for name, path in pages:
            best = None
            for _ in range(3):
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                requests = []
                page.on("request", lambda r: requests.append(r.url))
                start = time.perf_counter()
                page.goto(path.as_uri(), wait_until="load")
                seconds = time.perf_counter() - start
                filter_ms = page.evaluate("""() => {
                    const box = document.getElementById('filter'), t = performance.now();
                    box.value = 'muscle01'; box.dispatchEvent(new Event('input'));
                    document.body.offsetHeight;  // force the layout the keystroke causes
                    return performance.now() - t; }""")
                page.close()
                if best is None or seconds < best[0]:
                    best = (seconds, len(requests), filter_ms)
            print(f"{name:34} {best[0]:7.2f} {best[1]:9d} {best[2]:10.1f}")
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--size", type=int, default=64)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "site"
        make_corpus(root, pages=args.pages, animations=args.pages, frames=16, size=args.size)
        site = open_site(load_settings(root / "pipeline.toml"))
        fill_outputs(site)
        print(f"corpus: {len(site.catalog.pages)} pages, {len(site.catalog.animations)} animations, "
              f"{sum(len(p.gallery) for p in site.catalog.pages)} frames of {args.size}x{args.size}")
        seconds, path = best_of(3, reportpage.write_report, site)
        html = path.read_text(encoding="utf-8")
        print(f"write_report: {seconds:.2f} s (best of 3), page {len(html) / 1e6:.2f} MB, "
              f"{html.count('<img ')} <img>, {html.count('<video ')} <video>")
        eager = path.with_name("eager.html")
        eager.write_text(html.replace(' loading="lazy"', "").replace(' data-poster="', ' poster="')
                         .replace('preload="none"', 'preload="metadata"'), encoding="utf-8")
        browser_rows([("report as written (lazy)", path), ("same page, eager loading", eager)])


if __name__ == "__main__":
    main()
