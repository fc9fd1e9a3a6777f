import struct
import zlib

import pytest
from PIL import Image

from pipeline.probe import Unreadable, probe


def png(tmp_path, name="a.png", size=(30, 20), mode="RGB"):
    path = tmp_path / name
    Image.new(mode, size, 128).save(path)
    return path


def test_png_size_from_the_header(tmp_path):
    info = probe(png(tmp_path, size=(31, 17)))
    assert (info.format, info.width, info.height) == ("PNG", 31, 17)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA", "P", "I;16"])
def test_all_png_modes_are_readable(tmp_path, mode):
    assert probe(png(tmp_path, mode=mode), deep=True).width == 30


def test_empty_file(tmp_path):
    (tmp_path / "e.png").write_bytes(b"")
    with pytest.raises(Unreadable, match=r"is empty \(0 bytes\)"):
        probe(tmp_path / "e.png")


def test_truncated_png_is_caught_without_decoding(tmp_path):
    path = png(tmp_path, size=(200, 200))
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(Unreadable, match="end marker .IEND. is missing"):
        probe(path)


def test_wrong_format_behind_the_name(tmp_path):
    Image.new("RGB", (8, 8)).save(tmp_path / "j.png", format="JPEG")
    with pytest.raises(Unreadable, match="is not a PNG file .it looks like JPEG."):
        probe(tmp_path / "j.png")
    (tmp_path / "t.png").write_text("hello")
    with pytest.raises(Unreadable, match="is not a PNG file$"):
        probe(tmp_path / "t.png")


def test_decompression_bomb_header_is_refused_unread(tmp_path):
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    chunk = lambda kind, data: struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 10)) + chunk(b"IEND", b"")
    (tmp_path / "bomb.png").write_bytes(data)
    with pytest.raises(Unreadable, match="claims 100000x100000 pixels"):
        probe(tmp_path / "bomb.png", deep=True)


def damage_idat(path, at: int, damage: bytes, fix_checksum: bool) -> None:
    """Overwrite bytes of the first IDAT chunk's data, its checksum kept or made to match."""
    data = bytearray(path.read_bytes())
    chunk = data.index(b"IDAT") - 4
    length = struct.unpack(">I", data[chunk:chunk + 4])[0]
    start = chunk + 8 + at
    data[start:start + len(damage)] = damage
    if fix_checksum:
        end = chunk + 8 + length
        data[end:end + 4] = struct.pack(">I", zlib.crc32(data[chunk + 4:end]))
    path.write_bytes(bytes(data))


def test_corrupt_pixels_pass_the_header_check_but_not_deep(tmp_path):
    path = png(tmp_path, size=(64, 64))
    damage_idat(path, 0, b"\xff" * 20, fix_checksum=True)  # a deflate stream that does not inflate
    assert probe(path).width == 64
    with pytest.raises(Unreadable, match="cannot be decoded"):
        probe(path, deep=True)


def test_a_damaged_chunk_is_caught_by_its_checksum_in_deep(tmp_path):
    """A few bytes changed inside the pixel data: Pillow decodes wrong pixels without a word,
    browsers refuse the file."""
    path = tmp_path / "flat.png"
    Image.new("RGB", (256, 256), (200, 100, 50)).save(path)
    damage_idat(path, 200, bytes(40), fix_checksum=False)
    with Image.open(path) as image:
        assert image.convert("RGB").getpixel((255, 255)) != (200, 100, 50)  # no error: wrong pixels
    assert probe(path).width == 256
    with pytest.raises(Unreadable, match=r"its IDAT chunk at byte \d+ does not match its checksum"):
        probe(path, deep=True)


def test_gif_webp_and_jpeg(tmp_path):
    for name, fmt in (("a.gif", "GIF"), ("a.webp", "WebP"), ("a.jpg", "JPEG")):
        Image.new("RGB", (12, 9), 50).save(tmp_path / name)
        info = probe(tmp_path / name)
        assert (info.format, info.width, info.height) == (fmt, 12, 9)
        (tmp_path / name).write_bytes((tmp_path / name).read_bytes()[:-3])
        with pytest.raises(Unreadable, match="truncated"):
            probe(tmp_path / name)


SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8"><rect width="8" height="8"/></svg>\n'


@pytest.mark.parametrize("deep", [False, True])
def test_svg_is_checked_as_markup_and_never_decoded(tmp_path, deep):
    path = tmp_path / "logo.svg"
    path.write_bytes(SVG)
    assert probe(path, deep=deep) == ("SVG", 0, 0)
    path.write_bytes(SVG[:-10])
    with pytest.raises(Unreadable, match=r"^is truncated: the closing </svg> tag is missing$"):
        probe(path)
    path.write_bytes(b'<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"/>\n')  # empty, self-closed
    assert probe(path, deep=deep) == ("SVG", 0, 0)
    path.write_bytes(SVG.replace(b"</svg>\n", b""))  # cut after an inner self-closed tag
    with pytest.raises(Unreadable, match=r"^is truncated: the closing </svg> tag is missing$"):
        probe(path, deep=deep)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + SVG)
    with pytest.raises(Unreadable, match=r"^is not an SVG file \(it does not start with markup\)$"):
        probe(path)


def test_a_format_without_a_header_reader_is_held_to_the_limit_when_opened(tmp_path):
    path = tmp_path / "x.avif"
    Image.new("RGB", (64, 48), "red").save(path, quality=50)  # AVIF: its size is read by Pillow
    assert probe(path, max_pixels=3072) == ("AVIF", 64, 48)
    with pytest.raises(Unreadable, match=r"^claims 64x48 pixels, more than the limit of 3,071$"):
        probe(path, max_pixels=3071)
