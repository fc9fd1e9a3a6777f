"""Thumbnails of gallery frames: `X-thumb.png`, `X-thumb.webp` and srcset widths.

Downscaling is Lanczos computed in float (Pillow's 32-bit float mode, one channel at a time)
on premultiplied alpha, so soft edges keep their colour and nothing is rounded until the end;
`bench/thumbnails.py` measures it against Pillow's 8-bit Lanczos with a reducing gap and
against linear light. PNG thumbnails are written as a palette image when one is visually
lossless (SSIM against the float result at least `min_ssim`), which is what makes them a
fraction of the size of a truecolour thumbnail.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import PIL
from PIL import Image

from .atomic import write_bytes_atomic
from .frames import load_rgba
from .ssim import ssim

VERSION = 1  # bump when the output of the same settings changes
ENCODER = f"thumbnails {VERSION}, Pillow {PIL.__version__}"


def thumbnail_size(width: int, height: int, target_width: int) -> tuple[int, int]:
    """The size for `target_width`, aspect kept, never larger than the source."""
    new_width = min(target_width, width)
    return new_width, max(1, round(height * new_width / width))


def resize(rgba: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Float Lanczos of straight-alpha RGBA to `size`: (h, w, 4) float32 on 0..255."""
    if (rgba.shape[1], rgba.shape[0]) == size:
        return rgba.astype(np.float32)
    alpha = rgba[..., 3].astype(np.float32)
    premultiplied = [rgba[..., c].astype(np.float32) * alpha / 255.0 for c in range(3)]
    planes = [_resize_plane(p, size) for p in (*premultiplied, alpha)]
    new_alpha = np.clip(planes[3], 0.0, 255.0)
    scale = np.where(new_alpha > 0, 255.0 / np.maximum(new_alpha, 1e-6), 0.0)
    colour = [np.clip(p * scale, 0.0, 255.0) for p in planes[:3]]
    return np.dstack([*colour, new_alpha]).astype(np.float32)


def _resize_plane(plane: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return np.asarray(Image.fromarray(plane, "F").resize(size, Image.Resampling.LANCZOS))


def to_image(pixels: np.ndarray) -> Image.Image:
    """Rounded 8-bit image: RGB when fully opaque, RGBA otherwise."""
    rgba = np.round(pixels).clip(0, 255).astype(np.uint8)
    if rgba[..., 3].min() == 255:
        return Image.fromarray(np.ascontiguousarray(rgba[..., :3]), "RGB")
    return Image.fromarray(rgba, "RGBA")


def png_bytes(pixels: np.ndarray, min_ssim: float) -> bytes:
    """The smallest PNG of `pixels` (float RGBA) whose SSIM against them is >= `min_ssim`.

    Palettes of 64 colours pass on most renders; the search goes down to 32 from there or
    up to 128 and 256, and falls back to truecolour, which always qualifies.
    """
    image = to_image(pixels)
    best = _encode_png(image)
    palette = _fewest_colours(image, pixels[..., : len(image.mode)], min_ssim)
    if palette is not None:
        data = _encode_png(palette)
        best = data if len(data) < len(best) else best
    return best


def _fewest_colours(image: Image.Image, reference: np.ndarray, min_ssim: float) -> Image.Image | None:
    """The palette image of fewest colours (of 32, 64, 128, 256) that passes, if any does."""
    def passing(colours):
        palette = quantize(image, colours)
        score = ssim(np.asarray(palette.convert(image.mode), dtype=np.float32), reference)
        return palette if score >= min_ssim else None

    at_64 = passing(64)
    if at_64 is not None:
        return passing(32) or at_64
    return passing(128) or passing(256)


def quantize(image: Image.Image, colours: int, iterations: int = 6) -> Image.Image:
    """A palette image of at most `colours` entries (alpha kept), refined by k-means.

    Pillow's median cut (octree for RGBA) gives the start; a few k-means passes over the
    distinct colours, weighted by their counts, move the entries to where the pixels are,
    which lifts SSIM enough for half the colours at the same quality.
    """
    channels = len(image.mode)
    start = image.quantize(colors=colours, method=_START_METHOD[image.mode])
    palette = np.asarray(start.getpalette(rawmode=image.mode), dtype=np.float32)
    palette = palette.reshape(-1, channels)[: colours]
    distinct, inverse, counts = _distinct_colours(np.asarray(image))
    for _ in range(iterations):
        labels = _nearest(distinct, palette)
        sums = np.zeros_like(palette)
        np.add.at(sums, labels, distinct * counts[:, None])
        weight = np.bincount(labels, weights=counts, minlength=len(palette))
        used = weight > 0
        palette[used] = sums[used] / weight[used, None]
    labels = _nearest(distinct, palette)[inverse]
    result = Image.fromarray(labels.reshape(image.height, image.width).astype(np.uint8), "P")
    result.putpalette(np.round(palette).clip(0, 255).astype(np.uint8).tobytes(), rawmode=image.mode)
    return result


def _distinct_colours(pixels: np.ndarray):
    """(distinct colours as float rows, index of each pixel's colour, count of each colour)."""
    channels = pixels.shape[-1]
    packed = np.zeros(pixels.shape[:2], dtype=np.uint32)
    for c in range(channels):
        packed |= pixels[..., c].astype(np.uint32) << (8 * c)
    keys, inverse, counts = np.unique(packed.ravel(), return_inverse=True, return_counts=True)
    distinct = np.stack([(keys >> (8 * c)) & 255 for c in range(channels)], axis=1)
    return distinct.astype(np.float32), inverse.ravel(), counts


_START_METHOD = {"RGB": Image.Quantize.MEDIANCUT, "RGBA": Image.Quantize.FASTOCTREE}


def _nearest(colours: np.ndarray, palette: np.ndarray, chunk: int = 16384) -> np.ndarray:
    """Index of the nearest palette entry for each colour; in chunks to bound memory."""
    norms = (palette * palette).sum(axis=1)
    labels = np.empty(len(colours), dtype=np.intp)
    for start in range(0, len(colours), chunk):
        part = colours[start:start + chunk]
        # |c - p|^2 = |c|^2 - 2 c.p + |p|^2, and |c|^2 does not change the argmin
        labels[start:start + chunk] = (norms[None, :] - 2.0 * part @ palette.T).argmin(axis=1)
    return labels


def _encode_png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def webp_bytes(pixels: np.ndarray, quality: int) -> bytes:
    """Lossy WebP of `pixels` (float RGBA) at `quality`, slowest and smallest method."""
    out = io.BytesIO()
    to_image(pixels).save(out, "WEBP", quality=quality, method=6)
    return out.getvalue()


def make_thumbnail(source: Path, target: Path, width: int, *, kind: str,
                   webp_quality: int = 80, min_ssim: float = 0.99) -> None:
    """Write the thumbnail of `source` at `width` to `target`: kind 'png' or 'webp'."""
    rgba = load_rgba(source)
    pixels = resize(rgba, thumbnail_size(rgba.shape[1], rgba.shape[0], width))
    data = png_bytes(pixels, min_ssim) if kind == "png" else webp_bytes(pixels, webp_quality)
    write_bytes_atomic(target, data)
