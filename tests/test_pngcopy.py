"""Lossless re-compression of gallery PNGs: never larger, pixels identical (checked by decoding)."""
import io
import zlib
import struct

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import site_tasks
from pipeline import pngcopy, pngencode
from pipeline.frames import to_rgba
from pipeline.imageroot import ImageRoot
from pipeline.settings import settings_from_dict
from pipeline.catalog import FRAME, Reference
from pipeline.tasks.frames import run_frame_copies
from tests.conftest import draw_frame


def png(image: Image.Image, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG", **options)
    return out.getvalue()


def pixels(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return to_rgba(image)


def test_poorly_compressed_png_gets_smaller_with_identical_pixels():
    source = png(draw_frame(160, 120, 0.4).convert("RGB"), compress_level=0)
    result = pngcopy.recompressed(source)
    assert len(result) < len(source) / 2
    assert np.array_equal(pixels(result), pixels(source))


def test_a_lower_level_is_as_exact_and_larger_than_the_default():
    source = png(draw_frame(160, 120, 0.4), compress_level=0)
    fast, default = pngcopy.recompressed(source, level=1), pngcopy.recompressed(source)
    assert len(default) < len(fast) < len(source)
    assert np.array_equal(pixels(fast), pixels(source)) and np.array_equal(pixels(default), pixels(source))


def test_the_frames_level_redoes_the_frame_copies_and_nothing_else(small_site):
    def uptodate_values(extra):
        small_site.write_settings(extra)
        site = small_site.site()
        return {**{("thumbnails", t["name"]): t["uptodate"][0].config for t in site_tasks(site, "thumbnails")},
                **{("frames", t["name"]): t["uptodate"][0].config for t in site_tasks(site, "frames")}}

    before, after = uptodate_values(""), uptodate_values("[frames]\nlevel = 7\n")
    assert {name for name in before if before[name] != after[name]} == {k for k in before if k[0] == "frames"}
    # at the default level the check is what it was before the setting: no build copies again
    assert all(set(v) == {"encoder"} for k, v in before.items() if k[0] == "frames")


def test_the_frames_level_reaches_the_copies(small_site):
    def copy_size(extra):
        small_site.write_settings(extra)
        for task in site_tasks(small_site.site(), "frames"):
            func, args = task["actions"][0]
            assert func(*args, changed=[]) is None
        return (small_site.build / "images" / "muscles" / "png" / "Leg-Soleus-1.png").stat().st_size

    assert copy_size("[frames]\nlevel = 1\n") > copy_size("")


def test_already_optimal_png_keeps_its_bytes():
    once = pngcopy.recompressed(png(draw_frame(160, 120, 0.4).convert("RGB"), compress_level=1))
    assert pngcopy.recompressed(once) == once


def test_transparent_pixels_keep_their_hidden_colours():
    rgba = np.asarray(draw_frame(96, 64, 1.0, background=(0, 0, 0, 0))).copy()
    rgba[:4, :4] = [10, 200, 30, 0]  # a colour under zero alpha must survive too
    source = png(Image.fromarray(rgba, "RGBA"), compress_level=0)
    result = pngcopy.recompressed(source)
    assert len(result) < len(source)
    assert np.array_equal(pixels(result), rgba)


def test_few_colours_become_an_exact_palette_and_opaque_alpha_is_dropped():
    rgba = np.zeros((64, 64, 4), np.uint8)
    rgba[..., 3] = 255
    rgba[:, 32:, 0] = 200
    rgba[20:40, :, 2] = 120
    source = png(Image.fromarray(rgba, "RGBA"), compress_level=0)
    result = pngcopy.recompressed(source)
    with Image.open(io.BytesIO(result)) as image:
        assert image.mode == "P"
    assert np.array_equal(pixels(result), rgba)


def test_sixteen_bit_gamma_and_exif_tagged_pngs_are_copied_unchanged():
    grey16 = Image.fromarray((np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) * 15))
    source16 = png(grey16, compress_level=0)
    assert source16[24] == 16  # the IHDR bit depth
    assert pngcopy.recompressed(source16) == source16

    plain = png(draw_frame(32, 32, 0.0).convert("RGB"), compress_level=0)
    gama = struct.pack(">I", 45455)
    chunk = struct.pack(">I", 4) + b"gAMA" + gama + struct.pack(">I", zlib.crc32(b"gAMA" + gama))
    tagged = plain[:33] + chunk + plain[33:]  # after the signature and IHDR
    assert pngcopy.recompressed(tagged) == tagged

    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    Image.open(io.BytesIO(plain)).save(out, "PNG", exif=exif, compress_level=0)  # an eXIf chunk
    assert pngcopy.recompressed(out.getvalue()) == out.getvalue()  # the orientation stays


def test_an_animated_png_is_copied_unchanged_with_every_frame():
    frames = [draw_frame(32, 32, angle).convert("RGB") for angle in (0.0, 0.5, 1.0)]
    out = io.BytesIO()
    frames[0].save(out, "PNG", save_all=True, append_images=frames[1:], duration=100, compress_level=0)
    source = out.getvalue()
    copied = pngcopy.recompressed(source)
    assert copied == source
    with Image.open(io.BytesIO(copied)) as image:
        assert image.n_frames == 3


def test_frame_tasks_copy_every_gallery_frame(small_site):
    before = {p: p.read_bytes() for p in small_site.images.rglob("*.png")}
    tasks = list(site_tasks(small_site.site(), "frames"))
    assert [t["name"] for t in tasks] == ["images/muscles/png/Arm-Biceps-*.png", "images/muscles/png/Leg-Soleus-*.png"]
    for task in tasks:
        func, args = task["actions"][0]
        assert func(*args, changed=[]) is None
    for task in tasks:
        assert len(task["targets"]) == 16
        for source, target in zip(task["file_dep"], task["targets"]):
            source, target = Path(source), Path(target)
            assert target == small_site.build / "images" / source.relative_to(small_site.images)
            assert target.stat().st_size <= source.stat().st_size
            assert np.array_equal(pixels(target.read_bytes()), pixels(source.read_bytes()))
    assert {p: p.read_bytes() for p in small_site.images.rglob("*.png")} == before


def test_non_png_frames_are_copied_byte_for_byte_and_broken_ones_fail(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    jpeg = images / "F.jpg"
    draw_frame(32, 32, 0.0).convert("RGB").save(jpeg, quality=80)
    settings = settings_from_dict({"paths": {"images": "images", "build": "out"}}, base=tmp_path)
    listed = Reference("F.jpg", "a.md", 7, FRAME)
    assert run_frame_copies([listed], settings, ImageRoot(images), changed=[]) is None
    assert (tmp_path / "out" / "images" / "F.jpg").read_bytes() == jpeg.read_bytes()

    broken = images / "B.png"
    broken.write_bytes(b"GIF89a not a png")
    result = run_frame_copies([Reference("B.png", "a.md", 9, FRAME)], settings, ImageRoot(images), changed=[])
    assert result.message == "a.md:9: unreadable: 'B.png' is not a PNG file (it looks like GIF)"


def test_a_candidate_larger_than_the_source_or_not_exact_is_never_taken(monkeypatch):
    source = png(draw_frame(160, 120, 0.4).convert("RGB"), compress_level=9)
    encode = pngencode.smallest
    monkeypatch.setattr(pngencode, "smallest", lambda image, icc, level: encode(image, icc, level) + b"\0" * len(source))
    assert pngcopy.recompressed(source) == source  # each candidate larger than the source
    other = png(Image.new("RGB", (160, 120), "white"), compress_level=9)  # tiny, and other pixels
    monkeypatch.setattr(pngencode, "smallest", lambda image, icc, level: other)
    assert pngcopy.recompressed(source) == source


def test_a_png_with_a_damaged_header_checksum_is_named_not_pillow_s_buffer(tmp_path):
    data = bytearray(png(Image.new("RGB", (8, 8), "red")))
    data[29] ^= 0xFF  # the IHDR chunk's CRC (8 signature + 4 length + 4 type + 13 data)
    source = tmp_path / "Leg-1.png"
    source.write_bytes(bytes(data))
    try:
        pngcopy.copy_frame(source, tmp_path / "copy.png")
    except pngcopy.PipelineError as exc:
        assert str(exc) == (f"{source}: is damaged: its IHDR chunk at byte 8 does not match its checksum "
                            "(the file was altered or corrupted on the way); export it again")
    else:
        raise AssertionError("a damaged PNG was copied")
    assert not (tmp_path / "copy.png").exists()


def test_damaged_pixel_data_is_refused_not_copied_clean(tmp_path):
    """Pillow decodes it into wrong pixels without a word; re-encoded, they would have passed
    for good ones, with a checksum that matches."""
    from test_probe import damage_idat

    source = tmp_path / "Leg-1.png"
    Image.new("RGB", (256, 256), (200, 100, 50)).save(source)
    damage_idat(source, 200, bytes(40), fix_checksum=False)
    with pytest.raises(pngcopy.PipelineError, match="its IDAT chunk at byte 33 does not match its checksum"):
        pngcopy.copy_frame(source, tmp_path / "copy.png")
    assert not (tmp_path / "copy.png").exists()
