"""Fixtures: small sites written by the tests themselves (pages in the real shape, drawn frames)."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pipeline.settings import load_settings
from pipeline.site import open_site


def draw_frame(width: int, height: int, angle: float, *, background=(255, 255, 255, 255)) -> Image.Image:
    """A shaded ellipsoid lit from the upper left, turned by `angle`: a tiny stand-in render.

    `background` with alpha 0 gives a transparent frame with soft (antialiased) edges.
    """
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    cx, cy = width / 2 + math.cos(angle) * width * 0.12, height / 2
    rx, ry = width * (0.25 + 0.08 * math.sin(angle)), height * 0.38
    d = ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2
    inside = np.clip((1.0 - d) * min(rx, ry) / 1.5, 0, 1)  # ~1.5 px soft edge
    nz = np.sqrt(np.clip(1 - d, 0, 1))
    light = np.clip(0.3 + 0.7 * (nz * 0.8 - (x - cx) / rx * 0.3 - (y - cy) / ry * 0.4), 0, 1)
    colour = np.stack([200 * light + 40, 60 * light + 20, 55 * light + 20], axis=-1)
    bg = np.array(background, dtype=np.float32)
    rgb = colour * inside[..., None] + bg[:3] * (1 - inside[..., None])
    alpha = 255 * inside + bg[3] * (1 - inside)
    if background[3] == 0:
        rgb = colour  # straight alpha: colour stays the object's colour under the soft edge
    pixels = np.dstack([rgb, alpha]).round().clip(0, 255).astype(np.uint8)
    return Image.fromarray(pixels, "RGBA")


def turntable_frames(count: int, size, *, alpha: bool = False) -> list[np.ndarray]:
    """`count` frames of one turn as (h, w, 4) arrays, transparent or on white."""
    background = (0, 0, 0, 0) if alpha else (255, 255, 255, 255)
    return [np.asarray(draw_frame(*size, 2 * math.pi * k / count, background=background))
            for k in range(count)]


def write_frames(images_dir: Path, name: str, count: int = 16, size=(64, 48), *,
                 alpha: bool = False, folder: str = "muscles/png") -> list[str]:
    """Write `<folder>/<name>-1.png ...`; returns the image_url of each, in order."""
    urls = []
    (images_dir / folder).mkdir(parents=True, exist_ok=True)
    background = (0, 0, 0, 0) if alpha else (255, 255, 255, 255)
    for k in range(1, count + 1):
        image = draw_frame(*size, 2 * math.pi * (k - 1) / count, background=background)
        url = f"{folder}/{name}-{k}.png"
        (image if alpha else image.convert("RGB")).save(images_dir / url)
        urls.append(url)
    return urls


def page_text(title: str, animations: list[str], frames: list[str], body: str = "Body text.") -> str:
    """Front matter in the shape of the real site's pages."""
    lines = ["---", "layout: page", f"title: '{title}'", "", "images:"]
    for name in animations:
        stem = name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        lines += [f"  - image_id: '{stem}'", f"    image_name: '{name}'",
                  f"    image_title: '{title}'", f"    image_alt: '{title}' "]
    lines += ["", "gallery:"]
    for k, url in enumerate(frames, 1):
        lines += [f"  - image_url: {url}", f"    caption: '{title} {k}'", f"    title: '{title} {k}'"]
    lines += ["---", "", "{% include page-image.html %}", "", body, ""]
    return "\n".join(lines)


def site_tasks(site, group: str) -> list[dict]:
    """The sub-tasks of `group` ('gif', 'video', 'thumbnails', 'frames', 'contact', ...) that a
    run makes for `site`, wired as a run wires them."""
    from pipeline.tasks import generators

    return list(generators(site)[f"task_{group}"]())


class SiteFolder:
    """A site on disk: `pipeline.toml`, `pages/`, `images/`, `build/` under one folder."""

    def __init__(self, root: Path):
        self.root = root
        self.pages = root / "pages"
        self.images = root / "images"
        self.build = root / "build"
        self.pages.mkdir(parents=True, exist_ok=True)
        self.images.mkdir(parents=True, exist_ok=True)
        self.config = root / "pipeline.toml"
        self.write_settings("")

    def write_settings(self, extra: str) -> None:
        self.config.write_text(
            '[paths]\npages = "pages"\nimages = "images"\nbuild = "build"\n' + extra
        )

    def add_animation(self, name: str, count: int = 16, size=(64, 48), *, alpha: bool = False,
                      page: str | None = None, title: str | None = None) -> Path:
        """Frames `muscles/png/<name>-N.png` and a page naming `muscles/gif/<name>.gif`."""
        frames = write_frames(self.images, name, count, size, alpha=alpha)
        page_path = self.pages / (page or f"muscles/muscle_{name.lower()}.md")
        page_path.parent.mkdir(parents=True, exist_ok=True)
        page_path.write_text(page_text(title or f"The {name} muscle", [f"muscles/gif/{name}.gif"], frames))
        return page_path

    def settings(self):
        return load_settings(self.config)

    def site(self):
        return open_site(self.settings())


@pytest.fixture
def site_folder(tmp_path) -> SiteFolder:
    """An empty site; tests add pages and frames."""
    return SiteFolder(tmp_path / "site")


@pytest.fixture
def small_site(site_folder) -> SiteFolder:
    """Two animations of 16 small frames: one opaque RGB, one RGBA with a transparent background."""
    site_folder.add_animation("Leg-Soleus")
    site_folder.add_animation("Arm-Biceps", alpha=True)
    return site_folder
