"""GIF: one palette shared by all frames, frames cropped to what changed, unchanged pixels
made transparent, an optional lossy tolerance; written by our own GIF container around
Pillow's LZW coder.

GIF has 1-bit alpha, so frames are laid over the matte first: soft edges blend into the
page colour instead of leaving a jagged or dark fringe.
"""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
from PIL import GifImagePlugin, Image

from .atomic import atomic_path
from .frames import composite
from .settings import GifSettings
from .timing import Timing

ORDERED_SPREAD = 8.0  # levels the Bayer pattern moves a colour: about half a step of a 256-colour palette
FLAT_SHARE = 0.01  # a colour on 1% of the pixels is a flat area: kept exactly
MAX_FLAT = 16  # and at most a quarter of the palette
PIXEL_SHARE = 0.05  # pixels added to the distinct colours, as a share of them
KMEANS_ROUNDS = 1  # k-means passes refining the median cut: a little SSIM for little time
DITHERS = ("none", "ordered", "floyd-steinberg")

# 8x8 Bayer matrix scaled to -0.5..0.5: the threshold pattern of ordered dithering
_BAYER = np.array([[0, 32, 8, 40, 2, 34, 10, 42], [48, 16, 56, 24, 50, 18, 58, 26],
                   [12, 44, 4, 36, 14, 46, 6, 38], [60, 28, 52, 20, 62, 30, 54, 22],
                   [3, 35, 11, 43, 1, 33, 9, 41], [51, 19, 59, 27, 49, 17, 57, 25],
                   [15, 47, 7, 39, 13, 45, 5, 37], [63, 31, 55, 23, 61, 29, 53, 21]])
_BAYER = (_BAYER + 0.5) / 64.0 - 0.5


def write_gif(frames: list[np.ndarray], target: Path, settings: GifSettings, timing: Timing,
              matte: tuple[int, int, int]) -> None:
    """Encode RGBA `frames` (shown in `timing.order`) as an animated GIF at `target`."""
    shown = [composite(frames[i], matte) for i in timing.order]
    palette = shared_palette(shown, settings.colors - 1, matte)  # one index stays transparent
    transparent = len(palette)
    with atomic_path(target) as temporary:
        with open(temporary, "wb") as out:
            height, width = shown[0].shape[:2]
            out.write(_header(width, height, palette, transparent, timing.loop))
            previous = None  # what a viewer shows after the last frame: palette indices
            for rgb, delay in zip(shown, timing.durations(10)):
                indices = map_to_palette(rgb, palette, settings.dither)
                if settings.lossy:
                    indices = _lengthen_runs(rgb, indices, palette, settings.lossy)
                data, previous = _frame(indices, previous, palette, transparent, delay, rgb, settings.lossy)
                out.write(data)
            out.write(b";")


def shared_palette(frames: list[np.ndarray], colors: int, matte: tuple[int, int, int]) -> np.ndarray:
    """At most `colors` RGB entries for all frames together, the matte exactly among them.

    One palette for the whole animation keeps colours from flickering between frames and lets
    unchanged pixels keep their index, so they can turn transparent.
    """
    matte_key = matte[0] << 16 | matte[1] << 8 | matte[2]
    keys = np.concatenate([_colour_keys(f[::2, ::2]) for f in frames])
    # a stable sort (timsort) runs through the long runs of the background's key: on 800 px
    # frames 21 ms against 130 ms for np.unique's quicksort, to the same distinct keys and counts
    ordered = np.sort(keys, kind="stable")
    starts = np.flatnonzero(np.concatenate([[True], ordered[1:] != ordered[:-1]]))
    distinct, counts = ordered[starts], np.diff(np.append(starts, len(ordered)))
    # flat areas (a solid background above all) get their exact colour: SSIM punishes a
    # black background shown as (12, 6, 6) far more than any error inside the object
    by_count = np.argsort(counts)[::-1][: min(MAX_FLAT, colors // 4)]
    flat = distinct[by_count][counts[by_count] >= FLAT_SHARE * len(keys)]
    exact = np.union1d(flat, [matte_key])
    rest = distinct[~np.isin(distinct, exact)]
    # mostly distinct colours (even spread, wide flat bands: small files), plus a few pixels
    # so that the colours covering most of the object get a finer share (higher SSIM)
    pixels = keys[~np.isin(keys, exact)]
    pixels = pixels[:: max(1, len(pixels) // max(1, int(PIXEL_SHARE * len(rest))))]
    candidates = _key_colours(np.concatenate([rest, pixels]))
    palette = np.vstack([_key_colours(exact), _median_cut(candidates, colors - len(exact))])
    return np.unique(palette, axis=0)


def _median_cut(colours: np.ndarray, count: int) -> np.ndarray:
    """At most `count` colours standing for `colours`.

    Cutting the distinct colours rather than the pixels spreads entries evenly over the
    object's colours, so smooth shading maps to wide flat bands that LZW codes well
    (weighting by pixel count scored a little higher SSIM at twice the bytes).
    """
    if len(np.unique(_colour_keys(colours[None]))) <= count or count <= 0:
        return np.unique(colours, axis=0)[:max(count, 0)]
    reduced = Image.fromarray(colours[None], "RGB").quantize(count, method=Image.Quantize.MEDIANCUT,
                                                             kmeans=KMEANS_ROUNDS)
    used = np.unique(np.asarray(reduced)).astype(int)
    return np.asarray(reduced.getpalette(), np.uint8).reshape(-1, 3)[used]


def _key_colours(keys: np.ndarray) -> np.ndarray:
    keys = np.asarray(keys, np.uint32)
    return np.stack([keys >> 16, keys >> 8 & 255, keys & 255], axis=1).astype(np.uint8)


def _colour_keys(rgb: np.ndarray) -> np.ndarray:
    """Each pixel as one 24-bit integer: sorting those is far faster than sorting rows."""
    wide = rgb.reshape(-1, 3).astype(np.uint32)
    return wide[:, 0] << 16 | wide[:, 1] << 8 | wide[:, 2]


def map_to_palette(rgb: np.ndarray, palette: np.ndarray, dither: str) -> np.ndarray:
    """(h, w) palette indices for `rgb`, nearest colour after the chosen dithering."""
    if dither not in DITHERS:
        raise ValueError(f"unknown dither {dither!r}")
    source = rgb
    if dither == "ordered":
        height, width = rgb.shape[:2]
        pattern = np.tile(_BAYER, (height // 8 + 1, width // 8 + 1))[:height, :width]
        source = np.clip(rgb + pattern[..., None] * ORDERED_SPREAD, 0, 255).astype(np.uint8)
    # pad the palette with copies of its first colour: empty entries would read as black
    padded = np.vstack([palette, np.repeat(palette[:1], 256 - len(palette), axis=0)])
    lookup = Image.new("P", (1, 1))
    lookup.putpalette(padded.tobytes())
    mode = Image.Dither.FLOYDSTEINBERG if dither == "floyd-steinberg" else Image.Dither.NONE
    indices = np.asarray(Image.fromarray(source, "RGB").quantize(palette=lookup, dither=mode))
    indices = np.where(indices >= len(palette), 0, indices).astype(np.uint8)
    if dither == "floyd-steinberg":
        return indices
    # Pillow caches its nearest-colour search per 4x4x4 block of colours, so a pixel can get
    # a neighbour's entry; a colour that is in the palette (the matte above all) gets its own.
    # Only pixels not shown in their own colour can be wrong: most of a frame is looked up once.
    # (Palette colours are distinct, as shared_palette makes them: else the index could differ.)
    flat = indices.reshape(-1).copy()
    keys, palette_keys = _colour_keys(rgb), _colour_keys(palette[None])
    off = np.flatnonzero(palette_keys[flat] != keys)
    keys = keys[off]
    order = np.argsort(palette_keys)
    slot = np.minimum(np.searchsorted(palette_keys[order], keys), len(palette) - 1)
    exact = palette_keys[order][slot] == keys
    flat[off[exact]] = order[slot[exact]]
    return flat.reshape(indices.shape)


def _lengthen_runs(rgb: np.ndarray, indices: np.ndarray, palette: np.ndarray, tolerance: int) -> np.ndarray:
    """Let a pixel repeat its left neighbour's index while the colour that run shows stays
    within `tolerance` (per channel) of the pixel's own: longer runs, fewer LZW codes."""
    out = np.empty_like(indices)
    run = indices[:, 0].copy()
    out[:, 0] = run
    colours = palette.astype(np.int16)
    source = rgb.astype(np.int16)
    for x in range(1, indices.shape[1]):
        close = np.abs(colours[run] - source[:, x]).max(axis=1) <= tolerance
        run = np.where(close, run, indices[:, x])
        out[:, x] = run
    return out


def _frame(indices, previous, palette, transparent, delay, rgb, tolerance) -> tuple[bytes, np.ndarray]:
    """One frame's bytes and what a viewer shows after it (palette indices): the rectangle
    that changed, with unchanged pixels transparent when that codes smaller."""
    height, width = indices.shape
    if previous is None:
        box, shown = (0, 0, width, height), indices
        candidates = [indices]
    else:
        same = indices == previous
        if tolerance:  # close enough to what is on screen already: leave it there
            on_screen = palette.astype(np.int16)[previous]
            same |= np.abs(on_screen - rgb.astype(np.int16)).max(axis=2) <= tolerance
        changed = ~same
        if not changed.any():
            changed[0, 0] = True  # GIF has no empty frame; one pixel carries the delay
        rows, cols = np.flatnonzero(changed.any(axis=1)), np.flatnonzero(changed.any(axis=0))
        box = (cols[0], rows[0], cols[-1] + 1, rows[-1] + 1)
        crop = (slice(box[1], box[3]), slice(box[0], box[2]))
        shown = np.where(same, previous, indices)
        candidates = [shown[crop], np.where(same[crop], transparent, indices[crop]).astype(np.uint8)]
    encoded = [_image_data(c, box[:2], delay, transparent) for c in candidates]
    return min(encoded, key=len), shown


def _image_data(indices: np.ndarray, offset, delay: int, transparent: int) -> bytes:
    image = Image.fromarray(np.ascontiguousarray(indices), "P")
    # disposal 1: keep the frame, the next one draws over it
    chunks = GifImagePlugin.getdata(image, tuple(int(v) for v in offset), duration=delay,
                                    transparency=transparent, disposal=1)
    return b"".join(chunks)


def _header(width: int, height: int, palette: np.ndarray, transparent: int, loop: int) -> bytes:
    table = np.zeros((256, 3), np.uint8)
    table[: len(palette)] = palette
    table[transparent] = palette[0]
    # 0xF7: a global colour table of 256 entries, 8 bits per primary
    head = b"GIF89a" + struct.pack("<HHBBB", width, height, 0xF7, 0, 0) + table.tobytes()
    if loop != 1:  # GIF counts repeats after the first play; absent = play once
        head += b"!\xff\x0bNETSCAPE2.0\x03\x01" + struct.pack("<H", max(loop - 1, 0)) + b"\x00"
    return head
