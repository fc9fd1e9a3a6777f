"""Cheap checks of image files: format, size and completeness from the bytes at both ends.

Verification must be fast on thousands of frames, so by default nothing is decoded: the
header gives format and dimensions, the tail shows whether the file was cut short (a PNG
without its IEND chunk, a GIF without its trailer, a JPEG without EOI, a RIFF shorter than
it claims). `deep=True` decodes every pixel as well.
"""
from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path
from typing import NamedTuple

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"
TAIL_BYTES = 512

MAGIC = (
    (b"\x89PNG", "PNG"),
    (b"GIF8", "GIF"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"RIFF", "WebP"),
    (b"\x1a\x45\xdf\xa3", "WebM"),
    (b"BM", "BMP"),
    (b"<", "text/HTML"),
)
EXPECTED_FORMAT = {
    ".png": "PNG", ".gif": "GIF", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WebP",
    ".webm": "WebM", ".mp4": "MP4", ".avif": "AVIF", ".svg": "SVG",
}


class ImageInfo(NamedTuple):
    format: str
    width: int
    height: int


class Unreadable(Exception):
    """The file is not a complete, decodable image of the kind its name says."""


def probe(path: Path, *, deep: bool = False, max_pixels: int = 89_478_485) -> ImageInfo:
    """Format and size of the image at `path`, or raise `Unreadable` saying why."""
    expected = EXPECTED_FORMAT.get(path.suffix.lower())
    try:
        with open(path, "rb") as file:
            head = file.read(64)
            size = file.seek(0, 2)
            file.seek(max(0, size - TAIL_BYTES))
            tail = file.read()
    except OSError as exc:
        raise Unreadable(f"cannot be read: {exc.strerror}") from None
    if size == 0:
        raise Unreadable("is empty (0 bytes)")
    if expected == "SVG":
        return _svg(head, tail)
    found = _format_of(head)
    if expected and found != expected:
        raise Unreadable(f"is not a {expected} file" + (f" (it looks like {found})" if found else ""))
    try:
        info = _HEADER_READERS.get(found, _no_header)(head, tail, size)
    except struct.error:
        raise Unreadable(f"is truncated: its {found} header is cut short ({size} bytes)") from None
    if info is not None and info.width * info.height > max_pixels:
        raise Unreadable(
            f"claims {info.width}x{info.height} pixels, more than the limit of {max_pixels:,}; "
            "refused unread (a decompression bomb or a wrong header)"
        )
    if deep or info is None:
        info = _decode(path, found, max_pixels) if found not in ("WebM", "MP4") else info
    return info or ImageInfo(found, 0, 0)


_SELF_CLOSED_SVG = re.compile(rb"<svg\b[^<]*/>\s*$")


def png_chunks(data: bytes):
    """(type, offset, end of its data) of each chunk of the PNG `data`, up to IEND or the end
    of `data`; the last may run past the end (a truncated file), its 4-byte checksum follows."""
    offset = len(PNG_SIGNATURE)
    while offset + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        yield kind, offset, offset + 8 + length
        if kind == b"IEND":
            return
        offset += 12 + length


def png_damage(data: bytes) -> str | None:
    """What is wrong with the chunks of the PNG `data`, or None: a critical chunk (IHDR, PLTE,
    IDAT, IEND) whose checksum does not match its bytes, which browsers refuse (libpng) and
    Pillow decodes into wrong pixels without a word; or chunks that run past the end. A bad
    checksum on an ancillary chunk (text, colour profile) is left alone, as browsers leave it."""
    for kind, offset, end in png_chunks(data):
        if end + 4 > len(data):
            return f"is truncated inside its {kind.decode('latin-1')!r} chunk"
        if kind[:1].isupper() and zlib.crc32(data[offset + 4:end]) != struct.unpack(">I", data[end:end + 4])[0]:
            return (f"is damaged: its {kind.decode('latin-1')} chunk at byte {offset} does not match its "
                    "checksum (the file was altered or corrupted on the way); export it again")
        if kind == b"IEND":
            return None
    return "is truncated: the PNG end marker (IEND) is missing"


def _svg(head: bytes, tail: bytes) -> ImageInfo:
    """SVG is markup that is shipped, never decoded (not even with `deep`): it must start like
    markup and end with its closing tag. Its size is left at 0x0: it scales."""
    if not head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        raise Unreadable("is not an SVG file (it does not start with markup)")
    # an empty drawing may be one self-closing root tag (`<svg .../>`), with no closing tag
    if b"</svg>" not in tail and not _SELF_CLOSED_SVG.search(tail):
        raise Unreadable("is truncated: the closing </svg> tag is missing")
    return ImageInfo("SVG", 0, 0)


def _format_of(head: bytes) -> str | None:
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        return "AVIF" if brand in (b"avif", b"avis") else "MP4"
    if head.startswith(b"RIFF") and head[8:12] != b"WEBP":
        return "RIFF"
    for magic, name in MAGIC:
        if head.startswith(magic):
            return name
    return None


def _png(head: bytes, tail: bytes, size: int) -> ImageInfo:
    if not head.startswith(PNG_SIGNATURE) or head[12:16] != b"IHDR" or len(head) < 33:
        raise Unreadable("is not a valid PNG (bad signature or header)")
    width, height, depth, colour = struct.unpack(">IIBB", head[16:26])
    if width == 0 or height == 0:
        raise Unreadable(f"has an empty size {width}x{height}")
    if PNG_END not in tail:
        raise Unreadable("is truncated: the PNG end marker (IEND) is missing")
    return ImageInfo("PNG", width, height)


def _gif(head: bytes, tail: bytes, size: int) -> ImageInfo:
    width, height = struct.unpack("<HH", head[6:10])
    if not tail.rstrip(b"\x00").endswith(b";"):
        raise Unreadable("is truncated: the GIF trailer is missing")
    return ImageInfo("GIF", width, height)


def _jpeg(head: bytes, tail: bytes, size: int) -> None:
    if b"\xff\xd9" not in tail:
        raise Unreadable("is truncated: the JPEG end marker (EOI) is missing")
    return None  # dimensions sit after a variable run of segments: let Pillow find them


def _webp(head: bytes, tail: bytes, size: int) -> None:
    (riff_size,) = struct.unpack("<I", head[4:8])
    if riff_size + 8 > size:
        raise Unreadable(f"is truncated: {size} bytes of the {riff_size + 8} its header announces")
    return None


def _webm(head: bytes, tail: bytes, size: int) -> ImageInfo:
    return ImageInfo("WebM", 0, 0)


def _mp4(head: bytes, tail: bytes, size: int) -> ImageInfo:
    return ImageInfo("MP4", 0, 0)


def _no_header(head: bytes, tail: bytes, size: int) -> None:
    return None


_HEADER_READERS = {"PNG": _png, "GIF": _gif, "JPEG": _jpeg, "WebP": _webp, "WebM": _webm, "MP4": _mp4}


# formats whose EXIF orientation is honoured: photos come as JPEG (Pillow calls some cameras'
# MPO) or WebP, and probe opens those with Pillow anyway; PNG renders carry none, and their
# size is read from the header alone
ORIENTED_FORMATS = ("JPEG", "MPO", "WEBP")
_ORIENTATION = 0x0112  # the EXIF tag
_TURNED = (5, 6, 7, 8)  # orientations that swap width and height


def exif_orientation(image) -> int:
    """The EXIF orientation of an opened Pillow image, 1 (upright) when it has none or is
    not of ORIENTED_FORMATS."""
    if image.format not in ORIENTED_FORMATS:
        return 1
    try:
        return image.getexif().get(_ORIENTATION, 1)
    except Exception:  # a broken EXIF block: show the pixels as they are stored
        return 1


def upright_size(image) -> tuple[int, int]:
    """(width, height) of an opened Pillow image as browsers show it."""
    return image.size[::-1] if exif_orientation(image) in _TURNED else image.size


def _decode(path: Path, found: str | None, max_pixels: int) -> ImageInfo:
    from PIL import Image  # imported here: the header path must stay cheap

    if found == "PNG":
        damage = png_damage(path.read_bytes())
        if damage:
            raise Unreadable(damage)
    try:
        with Image.open(path) as image:
            if image.width * image.height > max_pixels:
                raise Unreadable(f"claims {image.width}x{image.height} pixels, more than the limit of {max_pixels:,}")
            for frame in range(getattr(image, "n_frames", 1)):
                image.seek(frame)
                image.load()
            return ImageInfo(found or image.format, *upright_size(image))
    except Unreadable:
        raise
    except Exception as exc:  # Pillow raises many kinds for broken data; all mean the same here
        raise Unreadable(f"cannot be decoded: {exc}") from None
