"""Reading source frames into RGBA arrays, and laying them over a matte colour.

Exported renders come as palette, grey, grey+alpha, RGB or RGBA PNGs, 8 or 16 bits: all are
turned into one shape (height x width x 4, uint8, straight alpha) here, so encoders never see
a mode. A sequence that cannot be read fails with verification's own message (page:line).
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from .catalog import Animation
from .problems import PipelineError
from .imageroot import ImageRoot
from .probe import PNG_SIGNATURE, exif_orientation, png_damage
from .verify import animation_problems


def parse_colour(text: str) -> tuple[int, int, int]:
    """'#rrggbb' or '#rgb' -> (r, g, b)."""
    value = text.strip().lstrip("#")
    if len(value) == 3:
        value = "".join(c * 2 for c in value)
    try:
        if len(value) != 6:
            raise ValueError
        return tuple(int(value[i:i + 2], 16) for i in (0, 2, 4))
    except ValueError:
        raise PipelineError(f"'{text}' is not a colour; write it as '#rrggbb'") from None


class RecentFrames:
    """The frames this process decoded last, each kept under the SHA-256 of its file's bytes:
    at most `most` frames and `budget` bytes of pixels, the least recently used dropped first.

    The GIF, WebP, video, thumbnails and contact sheet of one animation are separate tasks,
    which doit's runner hands out one after another (see `runner.SequencedTaskControl`): a
    worker that ran one of them has the frames for the next. On the 800 px bench each frame
    took 8 ms to decode, five times over; reading and hashing it takes a fraction of a
    millisecond. Keyed by content, a file rewritten in between (even within one tick of the
    file system's clock, at the same size) is decoded again. The arrays are read-only: every
    caller gets the same ones.
    """

    def __init__(self, budget: int, most: int):
        self.budget, self.most = budget, most
        self._frames: dict[bytes, np.ndarray] = {}  # insertion order = least recently used first
        self._bytes = 0

    def get(self, path: Path, decode) -> np.ndarray:
        """The frame at `path`, from `decode(path)` unless a file of the same bytes was decoded
        here lately. `decode(path, data)` gets the bytes read for the key too. (Pillow decodes
        from the file itself, so that its errors name it: a file replaced between the read and
        the decode would be kept under its old content's key.)"""
        data = Path(path).read_bytes()
        key = hashlib.sha256(data).digest()
        frame = self._frames.pop(key, None)
        if frame is None:
            frame = decode(path, data)
            frame.flags.writeable = False
            self._bytes += frame.nbytes
        self._frames[key] = frame
        while (self._bytes > self.budget or len(self._frames) > self.most) and len(self._frames) > 1:
            self._bytes -= self._frames.pop(next(iter(self._frames))).nbytes
        return frame


# Process-wide, to outlive the task that filled it. Two sequences of 16 frames, the one a
# worker is on and the one before it (dispatch.REMEMBERED): 82 MiB at 800x800, and never
# more than 96 MiB; the count keeps small frames from filling the budget with a hundred
# sequences, so that a worker's memory does not grow with the site.
_RECENT = RecentFrames(budget=96 * 2**20, most=32)


def load_rgba(path: Path) -> np.ndarray:
    """The image at `path` as a read-only (h, w, 4) uint8 array with straight alpha, turned
    upright as its EXIF orientation says (a camera's JPEG; see probe.ORIENTED_FORMATS), the
    way browsers show it and probe measures it. Decoded once while it stays unchanged and
    among the frames this process read last (see `RecentFrames`)."""
    return _RECENT.get(path, _decode_rgba)


def _decode_rgba(path: Path, data: bytes) -> np.ndarray:
    """The pixels of `path`, whose bytes are `data`; a PNG whose chunks are damaged
    (`probe.png_damage`) is refused: Pillow decodes it into wrong pixels without a word."""
    if data.startswith(PNG_SIGNATURE):
        damage = png_damage(data)
        if damage:
            raise OSError(f"the file {damage}")
    with Image.open(path) as image:
        image.load()
        if exif_orientation(image) != 1:
            image = ImageOps.exif_transpose(image)
        return to_rgba(image)


def to_rgba(image: Image.Image) -> np.ndarray:
    """Any Pillow image mode -> (h, w, 4) uint8 RGBA; 16-bit channels are scaled, not clipped."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # Pillow's own conversion of 16-bit grey to 8 bits clips at 255: scale instead
        grey = np.asarray(image, dtype=np.uint32)
        scale = 65535 if grey.max(initial=0) > 255 or image.mode != "I" else 255
        grey8 = np.round(grey * 255.0 / scale).astype(np.uint8)
        return np.dstack([grey8, grey8, grey8, np.full_like(grey8, 255)])
    if image.mode == "RGBA":
        return np.asarray(image)  # convert() would copy it first
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")  # the palette's transparent entries become alpha
    return np.asarray(image.convert("RGBA"))


def composite(rgba: np.ndarray, matte: tuple[int, int, int]) -> np.ndarray:
    """Lay straight-alpha RGBA over a solid `matte` colour: (h, w, 3) uint8, no dark fringe.

    Pillow's paste with the alpha as mask computes round((colour * a + matte * (255 - a)) / 255)
    exactly, in C: a tenth of the time of the same arithmetic in numpy. The result is
    read-only when anything was composited (it is Pillow's buffer): callers only read it.
    """
    if rgba[..., 3].min() == 255:
        return np.ascontiguousarray(rgba[..., :3])
    picture = Image.fromarray(np.ascontiguousarray(rgba), "RGBA")
    out = Image.new("RGB", picture.size, tuple(matte))
    out.paste(picture, (0, 0), picture)
    return np.asarray(out)


def has_alpha(frames: list[np.ndarray]) -> bool:
    return any(frame[..., 3].min() < 255 for frame in frames)


def images_in_play_order(frames: list[np.ndarray], order: tuple[int, ...]) -> list[Image.Image]:
    """Pillow images of RGBA `frames` in `order`, for the formats that keep alpha (WebP,
    AVIF): RGBA when any pixel is transparent, else RGB (no alpha plane to store)."""
    mode = "RGBA" if has_alpha(frames) else "RGB"
    return [Image.fromarray(np.ascontiguousarray(frames[i][..., : len(mode)]), mode) for i in order]


def load_sequence(animation: Animation, images: ImageRoot) -> list[np.ndarray]:
    """The frames of `animation` as RGBA arrays, in manifest order.

    Raises PipelineError with verification's `page:line: code: message` lines when a frame
    is missing, unsafe, unreadable, or of another size than the first.
    """
    problems = animation_problems(animation, images)
    if problems:
        raise PipelineError("\n".join(str(p) for p in problems))
    frames = []
    for frame in animation.frames:
        try:
            frames.append(load_rgba(images.root / frame.image_url))
        except Exception as exc:  # header looked fine but the pixels do not decode
            raise PipelineError(
                f"{animation.page}:{frame.line}: unreadable: '{frame.image_url}' cannot be decoded: {exc}"
            ) from None
    return frames
