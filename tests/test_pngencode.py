"""The filter-choosing PNG writer: every mode decodes back to the same pixels, and it beats
Pillow's per-row heuristic on a smooth render."""
import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageCms

from pipeline import pngencode
from tests.conftest import draw_frame


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA"])
def test_each_mode_decodes_to_the_same_pixels(mode):
    image = draw_frame(50, 37, 0.5, background=(0, 0, 0, 0)).convert(mode)
    result = decode(pngencode.encode_image(image))
    assert result.mode == mode and result.size == (50, 37)
    assert np.array_equal(np.asarray(result), np.asarray(image))


def test_palette_with_alpha_writes_a_trimmed_trns_chunk():
    indices = np.tile(np.arange(4, dtype=np.uint8), (8, 2))
    palette = np.array([[255, 0, 0, 0], [0, 255, 0, 128], [0, 0, 255, 255], [9, 9, 9, 255]], np.uint8)
    data = pngencode.encode(indices, "P", palette=palette)
    result = decode(data)
    assert result.mode == "P"
    assert np.array_equal(np.asarray(result), indices)
    assert result.info["transparency"] == b"\x00\x80"  # the two opaque entries at the end are implied
    expected = palette[indices]
    assert np.array_equal(np.asarray(result.convert("RGBA")), expected)


def test_unfiltered_palette_image_decodes_to_the_same_pixels_with_every_row_filter_none():
    indices = np.random.default_rng(1).integers(0, 40, (19, 23), dtype=np.uint8)
    palette = np.random.default_rng(2).integers(0, 256, (40, 3), dtype=np.uint8)
    data = pngencode.encode(indices, "P", palette=palette, filtered=False)
    assert np.array_equal(np.asarray(decode(data)), indices)
    start = data.index(b"IDAT") + 4
    raw = zlib.decompress(data[start:start + struct.unpack(">I", data[start - 8:start - 4])[0]])
    assert raw[:: 23 + 1] == bytes(19)  # each row's filter type byte


def test_icc_profile_is_kept():
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    result = decode(pngencode.encode_image(Image.new("RGB", (4, 4), "teal"), icc_profile=profile))
    assert result.info["icc_profile"] == profile


def test_smooth_render_is_smaller_than_pillows_best():
    image = draw_frame(200, 160, 0.9).convert("RGB")
    pillow = io.BytesIO()
    image.save(pillow, "PNG", optimize=True)
    ours = pngencode.encode_image(image)
    assert len(ours) < len(pillow.getvalue())
    assert pngencode.smallest(image) == ours


@pytest.mark.parametrize("bpp", [1, 3, 4])
@pytest.mark.parametrize("kind", range(5))
def test_each_filter_alone_decodes_to_the_same_pixels(kind, bpp):
    """Every row filtered by one filter type (random bytes reach every wrap-around case)."""
    mode = {1: "L", 3: "RGB", 4: "RGBA"}[bpp]
    pixels = np.random.default_rng(kind).integers(0, 256, (23, 17, bpp), dtype=np.uint8).squeeze()
    rows = pixels.reshape(23, -1)
    filtered = np.stack(pngencode._filterings(rows, bpp))
    data = pngencode._scanlines(filtered, np.full(23, kind), np.arange(23))
    header = pngencode._chunk(b"IHDR", pngencode.struct.pack(">IIBBBBB", 17, 23, 8, pngencode.COLOUR_TYPE[mode], 0, 0, 0))
    png = (pngencode.SIGNATURE + header + pngencode._chunk(b"IDAT", pngencode.zlib.compress(data))
           + pngencode._chunk(b"IEND", b""))
    assert np.array_equal(np.asarray(decode(png)), pixels)
