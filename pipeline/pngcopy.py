"""Full-size gallery PNGs for the bundle: re-compressed losslessly, never larger than the source.

A few exact re-encodings are tried (the same mode at libdeflate's level 10 or `[frames] level`, a palette when the frame
has at most 256 colours, RGB when the alpha channel is all opaque, grey when R = G = B), each
written by Pillow and by `pngencode` (one filter for all rows); the smallest one is kept only if it is smaller than the source and decodes to the very same RGBA
pixels. Otherwise the source bytes are copied unchanged. Files Pillow cannot re-encode
exactly (16-bit channels), whose display chunks Pillow would drop (gAMA, cHRM, sBIT, eXIf),
or that are animated (APNG) are copied unchanged too.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from . import pngencode
from .atomic import write_bytes_atomic
from .frames import to_rgba
from .probe import PNG_SIGNATURE, png_chunks, png_damage
from .problems import PipelineError

# chunks that change how pixels display and that Pillow does not write back (eXIf: an
# orientation, which some browsers apply); and acTL, the mark of an animated PNG, whose later
# frames a re-encoding of the first would drop
_KEEP_SOURCE_CHUNKS = {b"gAMA", b"cHRM", b"sBIT", b"eXIf", b"acTL"}


def recompressed(data: bytes, level: int = pngencode.LEVEL) -> bytes:
    """The smallest exact PNG encoding of `data` (a PNG file), deflated at libdeflate's
    `level`: `data` itself if nothing beats it."""
    if not data.startswith(PNG_SIGNATURE):
        raise PipelineError("not a PNG file (bad signature)")
    damage = png_damage(data)  # re-encoded, the wrong pixels would pass for good ones
    if damage:
        raise PipelineError(damage)
    if _bit_depth(data) == 16 or _KEEP_SOURCE_CHUNKS & set(_chunk_types(data)):
        return data
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            pixels = to_rgba(image)
            icc = image.info.get("icc_profile")
    except Image.UnidentifiedImageError:  # Pillow's words name the buffer in memory, not the file
        raise PipelineError("cannot identify the image (its header, or a chunk's checksum, is damaged)") from None
    best = data
    for candidate in _candidates(pixels):
        encoded = pngencode.smallest(candidate, icc, level)
        if len(encoded) < len(best) and _same_pixels(encoded, pixels):
            best = encoded
    return best


def copy_frame(source: Path, target: Path, level: int = pngencode.LEVEL) -> None:
    """Write `source` to `target` (atomically): a PNG losslessly re-compressed at libdeflate's
    `level`, others as they are."""
    data = source.read_bytes()
    if source.suffix.lower() == ".png":
        try:
            data = recompressed(data, level)
        except PipelineError as exc:
            raise PipelineError(f"{source}: {exc}") from None
    write_bytes_atomic(target, data)


def _candidates(rgba: np.ndarray):
    """Exact images of `rgba` in the modes that can hold it, most compact first."""
    opaque = rgba[..., 3].min() == 255
    grey = np.array_equal(rgba[..., 0], rgba[..., 1]) and np.array_equal(rgba[..., 1], rgba[..., 2])
    if opaque and grey:
        yield Image.fromarray(np.ascontiguousarray(rgba[..., 0]), "L")
    palette = _exact_palette(rgba, opaque)
    if palette is not None:
        yield palette
    if opaque:
        yield Image.fromarray(np.ascontiguousarray(rgba[..., :3]), "RGB")
    else:
        yield Image.fromarray(rgba, "RGBA")


def _exact_palette(rgba: np.ndarray, opaque: bool) -> Image.Image | None:
    """A palette image with exactly the frame's colours, or None when it has more than 256."""
    channels = 3 if opaque else 4
    if Image.fromarray(rgba, "RGBA").getcolors(256) is None:  # counted in C, stops at 257
        return None
    packed = np.zeros(rgba.shape[:2], dtype=np.uint32)
    for c in range(channels):
        packed |= rgba[..., c].astype(np.uint32) << (8 * c)
    keys, labels = np.unique(packed.ravel(), return_inverse=True)
    if len(keys) > 256:
        return None
    colours = np.stack([(keys >> (8 * c)) & 255 for c in range(channels)], axis=1)
    image = Image.fromarray(labels.reshape(rgba.shape[:2]).astype(np.uint8), "P")
    image.putpalette(colours.astype(np.uint8).tobytes(), rawmode="RGB" if opaque else "RGBA")
    return image


def _same_pixels(encoded: bytes, rgba: np.ndarray) -> bool:
    # a safety net: an encoding that does not decode to the same pixels is never shipped
    with Image.open(io.BytesIO(encoded)) as image:
        image.load()
        return np.array_equal(to_rgba(image), rgba)


def _bit_depth(data: bytes) -> int:
    return data[24] if len(data) > 24 else 0


def _chunk_types(data: bytes):
    return (kind for kind, _, _ in png_chunks(data))
