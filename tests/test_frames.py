import os

import numpy as np
import pytest
from PIL import Image

from pipeline.frames import RecentFrames, composite, has_alpha, load_rgba, load_sequence, parse_colour
from pipeline.problems import PipelineError
from pipeline.imageroot import ImageRoot


def test_sixteen_bit_grey_is_scaled_not_clipped(tmp_path):
    ramp = (np.arange(256, dtype=np.uint32).reshape(16, 16) * 257).astype(np.uint16)
    Image.fromarray(ramp).save(tmp_path / "g16.png")
    assert Image.open(tmp_path / "g16.png").mode == "I;16"
    rgba = load_rgba(tmp_path / "g16.png")
    assert rgba.shape == (16, 16, 4) and rgba.dtype == np.uint8
    assert rgba[..., 0].ravel().tolist() == list(range(256))  # 65535 -> 255, 257 -> 1
    assert (rgba[..., 3] == 255).all()


def test_sixteen_bit_rgba_png(tmp_path):
    # Pillow writes 16-bit RGBA only through raw data: build the PNG by hand with numpy and zlib
    import struct
    import zlib
    pixels = np.zeros((4, 4, 4), dtype=">u2")
    pixels[..., 0] = 65535
    pixels[..., 3] = 32768
    raw = b"".join(b"\0" + row.tobytes() for row in pixels)
    chunk = lambda kind, data: struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 16, 6, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    (tmp_path / "rgba16.png").write_bytes(png)
    rgba = load_rgba(tmp_path / "rgba16.png")
    assert rgba[0, 0].tolist() == [255, 0, 0, 128]


def test_palette_with_transparency_becomes_alpha(tmp_path):
    image = Image.new("P", (4, 4), 0)
    image.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    image.putpixel((1, 1), 1)
    image.save(tmp_path / "p.png", transparency=0)
    rgba = load_rgba(tmp_path / "p.png")
    assert rgba[0, 0, 3] == 0 and rgba[1, 1].tolist() == [0, 255, 0, 255]


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA", "P"])
def test_every_mode_gives_the_same_shape(tmp_path, mode):
    Image.new("RGB", (5, 3), (10, 20, 30)).convert(mode).save(tmp_path / "x.png")
    assert load_rgba(tmp_path / "x.png").shape == (3, 5, 4)


def save_turned_jpeg(path, orientation: int = 6) -> None:
    """An 80x48 photo stored on its side: a red band along its stored left edge, and an EXIF
    orientation of 6, which browsers show turned a quarter clockwise (48 wide, 80 high)."""
    stored = Image.new("RGB", (80, 48), "white")
    stored.paste((255, 0, 0), (0, 0, 8, 48))
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored.save(path, "JPEG", quality=95, exif=exif)


def test_a_photo_is_loaded_upright_as_its_exif_orientation_says(tmp_path):
    save_turned_jpeg(tmp_path / "photo.jpg")
    rgba = load_rgba(tmp_path / "photo.jpg")
    assert rgba.shape == (80, 48, 4)  # 80 high, 48 wide
    assert rgba[:8, :, 0].mean() > 200 and rgba[:8, :, 1].mean() < 60  # the stored left edge is now the top


def test_only_photos_are_turned_a_png_s_exif_orientation_is_left_as_it_is(tmp_path):
    from pipeline.probe import probe

    exif = Image.Exif()
    exif[0x0112] = 6
    for name, kind in (("a.webp", "WEBP"), ("a.png", "PNG")):
        Image.new("RGB", (80, 48), "white").save(tmp_path / name, kind, exif=exif)
    assert load_rgba(tmp_path / "a.webp").shape == (80, 48, 4)  # turned, as browsers show it
    assert probe(tmp_path / "a.webp")[1:] == (48, 80)
    assert load_rgba(tmp_path / "a.png").shape == (48, 80, 4)  # as stored: renders carry none
    assert probe(tmp_path / "a.png")[1:] == (80, 48)


def test_composite_has_no_dark_fringe():
    rgba = np.array([[[200, 40, 40, 255], [200, 40, 40, 128], [0, 0, 0, 0]]], dtype=np.uint8)
    out = composite(rgba, (255, 255, 255))
    assert out[0, 0].tolist() == [200, 40, 40]
    assert out[0, 1].tolist() == [227, 147, 147]  # half way to white, not to black
    assert out[0, 2].tolist() == [255, 255, 255]


@pytest.mark.parametrize("matte", [(255, 255, 255), (0, 0, 0), (12, 200, 77)])
def test_composite_rounds_every_colour_and_alpha_exactly(matte):
    colour, alpha = np.meshgrid(np.arange(256), np.arange(256))
    rgba = np.stack([colour, 255 - colour, colour, alpha], axis=-1).astype(np.uint8)
    expected = [(2 * (rgba[..., c].astype(int) * alpha + matte[c] * (255 - alpha)) + 255) // 510
                for c in range(3)]  # round(x / 255), halves up (x / 255 is never a half)
    assert np.array_equal(composite(rgba, matte), np.stack(expected, axis=-1))


def test_parse_colour():
    assert parse_colour("#fff") == (255, 255, 255)
    assert parse_colour("#1a2B3c") == (26, 43, 60)
    with pytest.raises(PipelineError, match="'white' is not a colour"):
        parse_colour("white")


def test_load_sequence_mixes_modes_and_keeps_order(small_site):
    site = small_site.site()
    soleus = next(a for a in site.catalog.animations if a.name.endswith("Leg-Soleus.gif"))
    for k, mode in ((2, "L"), (3, "LA"), (4, "P")):
        path = small_site.images / f"muscles/png/Leg-Soleus-{k}.png"
        Image.open(path).convert(mode).save(path)
    frames = load_sequence(soleus, ImageRoot(site.settings.images_dir))
    assert len(frames) == 16 and all(f.shape == (48, 64, 4) for f in frames)
    assert not has_alpha(frames)
    biceps = next(a for a in site.catalog.animations if a.name.endswith("Arm-Biceps.gif"))
    assert has_alpha(load_sequence(biceps, ImageRoot(site.settings.images_dir)))


def test_load_sequence_fails_with_the_verify_message(small_site):
    (small_site.images / "muscles/png/Leg-Soleus-4.png").unlink()
    site = small_site.site()
    soleus = next(a for a in site.catalog.animations if a.name.endswith("Leg-Soleus.gif"))
    with pytest.raises(PipelineError) as error:
        load_sequence(soleus, ImageRoot(site.settings.images_dir))
    assert str(error.value).startswith("muscles/muscle_leg-soleus.md:21: missing: gallery frame 'muscles/png/Leg-Soleus-4.png'")


def test_a_frame_whose_chunks_are_damaged_is_refused_not_decoded_wrong(tmp_path):
    from test_probe import damage_idat

    path = tmp_path / "Leg-1.png"
    Image.new("RGB", (256, 256), (200, 100, 50)).save(path)
    damage_idat(path, 200, bytes(40), fix_checksum=False)  # black pixels, decoded without a word
    with pytest.raises(OSError, match="the file is damaged: its IDAT chunk"):
        load_rgba(path)


def counting_decoder(calls: list):
    def decode(path, data):
        calls.append(path)
        return np.asarray(Image.open(path).convert("RGBA")).copy()
    return decode


def test_a_frame_is_decoded_once_while_its_bytes_stay_the_same(tmp_path):
    path = tmp_path / "a.png"
    Image.new("RGBA", (8, 6), (10, 20, 30, 255)).save(path)
    calls = []
    recent = RecentFrames(budget=1 << 20, most=4)
    first = recent.get(path, counting_decoder(calls))
    path.touch()  # a new time, the same bytes
    assert recent.get(path, counting_decoder(calls)) is first and len(calls) == 1
    with pytest.raises(ValueError, match="read-only"):
        first[0, 0, 0] = 1  # shared by every caller: nobody may change it
    # rewritten in place, same size, same times: only the content tells
    stat = path.stat()
    Image.new("RGBA", (8, 6), (40, 50, 60, 255)).save(path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size
    again = recent.get(path, counting_decoder(calls))
    assert len(calls) == 2 and tuple(again[0, 0]) == (40, 50, 60, 255)


def test_the_least_recently_used_frames_go_first_beyond_the_budget_or_the_count(tmp_path):
    paths = []
    for k in range(3):
        paths.append(tmp_path / f"{k}.png")
        Image.new("RGBA", (16, 16), (k, 0, 0, 255)).save(paths[-1])
    for recent in (RecentFrames(budget=2 * 16 * 16 * 4, most=99), RecentFrames(budget=1 << 20, most=2)):
        calls = []  # two frames' bytes, or two frames
        for path in (paths[0], paths[1], paths[0], paths[2]):  # 1 is now the least recently used
            recent.get(path, counting_decoder(calls))
        assert calls == [paths[0], paths[1], paths[2]]
        recent.get(paths[0], counting_decoder(calls))
        recent.get(paths[1], counting_decoder(calls))
        assert calls == [paths[0], paths[1], paths[2], paths[1]]


def test_load_rgba_gives_read_only_arrays(tmp_path):
    path = tmp_path / "a.png"
    Image.new("RGB", (4, 4), "red").save(path)
    frame = load_rgba(path)
    assert frame.shape == (4, 4, 4) and not frame.flags.writeable
