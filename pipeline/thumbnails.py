"""Thumbnails of gallery frames: `X-thumb.png`, `X-thumb.webp` and srcset widths.

Downscaling is Lanczos computed in float (Pillow's 32-bit float mode, one channel at a time)
on premultiplied alpha, so soft edges keep their colour and nothing is rounded until the end,
after a box reduction that keeps twice the target size (a reducing gap of 2);
`bench/thumbnails.py` measures it against float Lanczos without the gap (the reference),
Pillow's 8-bit Lanczos and linear light. PNG thumbnails are written as a palette image when one is visually
lossless (SSIM against the float result at least `min_ssim`), which is what makes them a
fraction of the size of a truecolour thumbnail.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from . import pngencode
from .atomic import write_bytes_atomic
from .frames import load_rgba
from .problems import PipelineError
from .ssim import SsimReference

# 800 px to 200: the gap halves the float Lanczos' time (20 to 9 ms a thumbnail). Against no
# gap, the rounded result scores SSIM 0.99978 at worst (rounding alone: 0.99982); the largest
# differences are in alpha at hard edges, where Lanczos' ringing differs (up to 21 levels)
REDUCING_GAP = 2.0


def thumbnail_size(width: int, height: int, target_width: int) -> tuple[int, int]:
    """The size for `target_width`, aspect kept, never larger than the source."""
    new_width = min(target_width, width)
    return new_width, max(1, round(height * new_width / width))


def resize(rgba: np.ndarray, size: tuple[int, int], reducing_gap: float | None = None) -> np.ndarray:
    """Float Lanczos of straight-alpha RGBA to `size`: (h, w, 4) float32 on 0..255.

    With `reducing_gap`, Pillow first box-averages by the whole factor that keeps the result
    at least that many times `size`, then runs Lanczos on the smaller image (see REDUCING_GAP).
    An opaque image skips premultiplication and the alpha plane: the result is the same.
    """
    if (rgba.shape[1], rgba.shape[0]) == size:
        return rgba.astype(np.float32)
    if rgba[..., 3].min() == 255:
        planes = [_resize_plane(rgba[..., c].astype(np.float32), size, reducing_gap) for c in range(3)]
        return np.dstack([*(np.clip(p, 0.0, 255.0) for p in planes), np.full_like(planes[0], 255.0)])
    alpha = rgba[..., 3].astype(np.float32)
    premultiplied = [rgba[..., c].astype(np.float32) * alpha / 255.0 for c in range(3)]
    planes = [_resize_plane(p, size, reducing_gap) for p in (*premultiplied, alpha)]
    new_alpha = np.clip(planes[3], 0.0, 255.0)
    scale = np.where(new_alpha > 0, 255.0 / np.maximum(new_alpha, 1e-6), 0.0)
    colour = [np.clip(p * scale, 0.0, 255.0) for p in planes[:3]]
    return np.dstack([*colour, new_alpha]).astype(np.float32)


def _resize_plane(plane: np.ndarray, size: tuple[int, int], reducing_gap: float | None) -> np.ndarray:
    return np.asarray(Image.fromarray(plane, "F").resize(size, Image.Resampling.LANCZOS, reducing_gap=reducing_gap))


def to_image(pixels: np.ndarray) -> Image.Image:
    """Rounded 8-bit image: RGB when fully opaque, RGBA otherwise."""
    rgba = np.round(pixels).clip(0, 255).astype(np.uint8)
    if rgba[..., 3].min() == 255:
        return Image.fromarray(np.ascontiguousarray(rgba[..., :3]), "RGB")
    return Image.fromarray(rgba, "RGBA")


def png_bytes(pixels: np.ndarray, min_ssim: float) -> bytes:
    """The smallest PNG of `pixels` (float RGBA) whose SSIM against them is >= `min_ssim`.

    A palette of the fewest colours that passes (see `_fewest_colours`), or else truecolour,
    which always qualifies. A palette that passes is kept without encoding the truecolour
    image too: at one byte a pixel instead of three or four it is the smaller on every
    render measured, and that encode was a third of the time of a thumbnail.
    """
    image = to_image(pixels)
    palette = _fewest_colours(image, pixels[..., : len(image.mode)], min_ssim)
    return _encode_png(image if palette is None else palette)


PALETTE_SIZES = (32, 64, 128, 256)
# Halving a palette multiplied 1 - SSIM by 1.54 to 2.52 on every render measured (48 frames
# of bench/out and raw/, 32 to 256 colours), so a palette whose error times this is over
# the allowance predicts a half-size palette that fails, and that palette is not tried
ERROR_GROWTH = 1.5


def _fewest_colours(image: Image.Image, reference: np.ndarray, min_ssim: float) -> Image.Image | None:
    """The palette image of fewest colours (of PALETTE_SIZES) that passes, if any does.

    The search starts where renders usually pass: 64 colours, 128 with alpha (whose palette
    is split between opaque and soft-edged pixels). From a pass it halves the palette while
    the error predicts a pass (ERROR_GROWTH); from a failure it doubles it. Most thumbnails
    take one or two quantizations.
    """
    allowance = 1.0 - min_ssim
    start = index = PALETTE_SIZES.index(128 if image.mode == "RGBA" else 64)
    best = None
    scorer = SsimReference(reference, np.float32)  # its blurred planes made once for every palette
    while 0 <= index < len(PALETTE_SIZES):
        palette = quantize(image, PALETTE_SIZES[index])
        error = 1.0 - scorer.score(np.asarray(palette.convert(image.mode), dtype=np.float32))
        if not error <= allowance:  # a NaN score fails too
            if best is not None:
                return best
            index += 1
            continue
        best = palette
        # above the start, the half size is the one that failed just before
        if index > start or error * ERROR_GROWTH > allowance:
            return best
        index -= 1
    return best


def quantize(image: Image.Image, colours: int) -> Image.Image:
    """A palette image of at most `colours` entries, alpha kept.

    RGB: k-means colours (see `_kmeans_palette`). RGBA: fully transparent pixels share one
    entry, and opaque and partly transparent pixels get palettes of their own, half each.
    Mixed in one k-means, the few soft-edge pixels get too few entries and the edges come
    out visibly wrong (SSIM 0.988 where the split gives 0.992 at 128 colours).
    """
    if image.mode == "RGB":
        labels, palette = _kmeans_palette(np.asarray(image).reshape(-1, 3), colours)
        return _palette_image(labels.reshape(image.height, image.width), palette, "RGB")
    pixels = np.asarray(image).reshape(-1, 4)
    alpha = pixels[:, 3]
    groups = [alpha == 255, (alpha > 0) & (alpha < 255)]
    budget = colours - 1  # entry 0: fully transparent
    shares = [budget - budget // 2, budget // 2] if all(g.any() for g in groups) else [budget, budget]
    labels = np.zeros(len(pixels), dtype=np.intp)
    entries = [np.zeros((1, 4), dtype=np.float32)]
    for group, share, channels in zip(groups, shares, (3, 4)):
        if group.any():
            group_labels, palette = _kmeans_palette(pixels[group, :channels], share)
            labels[group] = group_labels + sum(len(e) for e in entries)
            if channels == 3:
                palette = np.hstack([palette, np.full((len(palette), 1), 255, np.float32)])
            entries.append(palette)
    return _palette_image(labels.reshape(image.height, image.width), np.vstack(entries), "RGBA")


def _kmeans_palette(pixels: np.ndarray, colours: int, iterations: int = 6):
    """(label of each pixel, palette) for (n, 3|4) uint8 pixels: Pillow's median cut (octree
    with alpha) for a start, then a few k-means passes over the distinct colours weighted by
    their counts, which lift SSIM enough for about half the colours at the same quality."""
    channels = pixels.shape[1]
    mode = "RGB" if channels == 3 else "RGBA"
    strip = Image.fromarray(np.ascontiguousarray(pixels).reshape(1, -1, channels), mode)
    start = strip.quantize(colors=colours, method=_START_METHOD[mode])
    palette = np.asarray(start.getpalette(rawmode=mode), dtype=np.float32).reshape(-1, channels)[:colours]
    distinct, inverse, counts = _distinct_colours(pixels)
    for _ in range(iterations):
        labels = _nearest(distinct, palette)
        sums = np.stack([np.bincount(labels, weights=distinct[:, c] * counts, minlength=len(palette))
                         for c in range(channels)], axis=1)  # np.add.at did the same 10 times slower
        weight = np.bincount(labels, weights=counts, minlength=len(palette))
        used = weight > 0
        palette[used] = sums[used] / weight[used, None]
    return _nearest(distinct, palette)[inverse], palette


def _palette_image(labels: np.ndarray, palette: np.ndarray, mode: str) -> Image.Image:
    image = Image.fromarray(labels.astype(np.uint8), "P")
    image.putpalette(np.round(palette).clip(0, 255).astype(np.uint8).tobytes(), rawmode=mode)
    return image


def _distinct_colours(pixels: np.ndarray):
    """(distinct colours as float rows, index of each pixel's colour, count of each colour)
    for (n, channels) uint8 pixels."""
    channels = pixels.shape[1]
    packed = np.zeros(len(pixels), dtype=np.uint32)
    for c in range(channels):
        packed |= pixels[:, c].astype(np.uint32) << (8 * c)
    # np.unique(return_inverse=True) does the same with an argsort: seven times as long
    ordered = np.sort(packed)
    starts = np.flatnonzero(np.concatenate([[True], ordered[1:] != ordered[:-1]]))
    keys = ordered[starts]
    counts = np.diff(np.append(starts, len(ordered)))
    inverse = np.searchsorted(keys, packed)
    distinct = np.stack([(keys >> (8 * c)) & 255 for c in range(channels)], axis=1)
    return distinct.astype(np.float32), inverse, counts


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
    """A palette image unfiltered: on 48 thumbnails of 800 px renders that came within 0.4 %
    of the smallest of six filterings and Pillow's own encode, in half the time (2.8 ms
    against 5.7); a truecolour one as small as `pngencode` makes it."""
    if image.mode == "P":
        return pngencode.encode_image(image, filtered=False)
    return pngencode.smallest(image)


def webp_bytes(pixels: np.ndarray, quality: int) -> bytes:
    """Lossy WebP of `pixels` (float RGBA) at `quality`.

    Method 4, libwebp's default: method 6 took 150 times as long on a 200 px render (0.55 s
    against 3.7 ms) for 2 % fewer bytes."""
    out = io.BytesIO()
    to_image(pixels).save(out, "WEBP", quality=quality, method=4)
    return out.getvalue()


def jpeg_bytes(pixels: np.ndarray, quality: int = 90) -> bytes:
    """JPEG of `pixels` laid over white, for gallery images that are JPEGs themselves."""
    alpha = pixels[..., 3:4] / 255.0
    rgb = pixels[..., :3] * alpha + 255.0 * (1.0 - alpha)
    out = io.BytesIO()
    Image.fromarray(np.round(rgb).clip(0, 255).astype(np.uint8), "RGB").save(
        out, "JPEG", quality=quality, optimize=True)
    return out.getvalue()


def gif_bytes(pixels: np.ndarray) -> bytes:
    """A still GIF (256 colours, fully transparent pixels kept transparent)."""
    image = to_image(pixels).convert("RGBA")
    out = io.BytesIO()
    image.quantize(255, method=Image.Quantize.FASTOCTREE).save(out, "GIF")
    return out.getvalue()


def make_thumbnail(source: Path, target: Path, width: int, *, kind: str,
                   webp_quality: int = 80, min_ssim: float = 0.99) -> None:
    """Write the thumbnail of `source` at `width` to `target`: kind 'png', 'webp', 'jpeg' or 'gif'."""
    make_thumbnails(source, [(target, width, kind)], webp_quality=webp_quality, min_ssim=min_ssim)


def make_thumbnails(source: Path, outputs: list[tuple[Path, int, str]], *,
                    webp_quality: int = 80, min_ssim: float = 0.99) -> None:
    """Write every (target, width, kind) of `outputs` from one decode of `source`, resizing
    once per width."""
    for _, _, kind in outputs:
        if kind not in ("png", "webp", "jpeg", "gif"):
            raise PipelineError(f"{source}: cannot write a '.{kind}' thumbnail; gallery images must be "
                                "PNG, JPEG, WebP or GIF")
    rgba = load_rgba(source)
    resized = {}
    for target, width, kind in outputs:
        if width not in resized:
            resized[width] = resize(rgba, thumbnail_size(rgba.shape[1], rgba.shape[0], width), REDUCING_GAP)
        pixels = resized[width]
        if kind == "png":
            data = png_bytes(pixels, min_ssim)
        elif kind == "webp":
            data = webp_bytes(pixels, webp_quality)
        elif kind == "gif":
            data = gif_bytes(pixels)
        else:
            data = jpeg_bytes(pixels)
        write_bytes_atomic(Path(target), data)
