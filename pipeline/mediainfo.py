"""What a built file is: MIME type, pixel size, frame count and running time.

Images are read with Pillow (frame durations summed over the frames of a GIF or animated
WebP/AVIF); videos with one run of the ffmpeg that imageio-ffmpeg ships, copying the video
stream to nowhere: the size from the stream header it prints and the frames as the packets
it counted, none of them decoded; the running time from the container's own header (an
MP4's video track header, a WebM's Info element), which ffmpeg prints only to hundredths.
"""
from __future__ import annotations

import hashlib
import re
import struct
import subprocess
from pathlib import Path
from typing import NamedTuple

from .problems import PipelineError

MIME_TYPES = {
    ".png": "image/png", ".gif": "image/gif", ".webp": "image/webp", ".avif": "image/avif",
    ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".svg": "image/svg+xml",
    ".webm": "video/webm", ".mp4": "video/mp4",
}
VIDEO_SUFFIXES = (".webm", ".mp4")
_VIDEO_SIZE = re.compile(r"Stream #\S+.*?: Video: .*?, (\d{1,5})x(\d{1,5})[ ,\[]")
_DURATION = re.compile(r"^\s*Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)", re.MULTILINE)
_FRAMES = re.compile(r"^frame=\s*(\d+)")
_TIME = re.compile(r"time=\s*(\d+):(\d\d):(\d\d(?:\.\d+)?)")


class MediaInfo(NamedTuple):
    mime: str
    width: int | None
    height: int | None
    frames: int | None
    duration: float | None  # seconds; None for a still image
    codecs: str | None = None  # a video's RFC 6381 codecs parameter: av01.0.04M.08, avc1.64001F, vp9


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def media_info(path: Path) -> MediaInfo:
    """Describe the file at `path`; raises PipelineError when it cannot be read."""
    suffix = path.suffix.lower()
    mime = MIME_TYPES.get(suffix, "application/octet-stream")
    if suffix in VIDEO_SUFFIXES:
        return _video_info(path, mime)
    if mime.startswith("image/") and suffix != ".svg":
        return _image_info(path, mime)
    return MediaInfo(mime, None, None, None, None)


def _image_info(path: Path, mime: str) -> MediaInfo:
    from PIL import Image
    from .probe import upright_size

    try:
        with Image.open(path) as image:
            # a camera's MPO holds a preview or second view after the photo: browsers show the photo
            frames = 1 if image.format == "MPO" else getattr(image, "n_frames", 1)
            if frames == 1:  # a photo is shown turned as its EXIF says
                return MediaInfo(mime, *upright_size(image), 1, None)
            if image.format == "WEBP":
                total = sum(_webp_durations(path))  # Pillow only knows a duration after decoding
            else:
                total = 0
                for index in range(frames):
                    if index:  # (frame 0 is the one open: a seek to it would change nothing)
                        image.info.pop("duration", None)  # Pillow 11 kept the last one over a seek
                        image.seek(index)
                    if "duration" not in image.info:
                        image.load()  # AVIF: Pillow knows a frame's duration once it is decoded
                    total += image.info.get("duration", 0)
            return MediaInfo(mime, image.width, image.height, frames, round(total / 1000, 3))
    except Exception as exc:  # Pillow raises many kinds for broken data
        raise PipelineError(f"{path}: cannot be read as an image: {exc}") from None


def _webp_durations(path: Path) -> list[int]:
    """The duration in ms of each frame of an animated WebP, from its ANMF chunk headers."""
    data = path.read_bytes()
    durations, offset = [], 12
    while offset + 8 <= len(data):
        kind, size = data[offset:offset + 4], struct.unpack("<I", data[offset + 4:offset + 8])[0]
        if kind == b"ANMF":
            payload = data[offset + 8:offset + 24]
            durations.append(int.from_bytes(payload[12:15], "little"))
        offset += 8 + size + (size & 1)
    return durations


def _video_info(path: Path, mime: str) -> MediaInfo:
    """One ffmpeg run: the stream copied to the null muxer, so nothing is decoded (counting
    by decoding took as long as a start of ffmpeg, and that was a second run)."""
    import imageio_ffmpeg

    try:
        ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError as exc:  # none shipped, none installed, none named
        raise PipelineError(f"{path}: cannot be described: {exc}") from None
    result = subprocess.run([ffmpeg, "-hide_banner", "-nostdin", "-i", str(path),
                             "-map", "0:v:0", "-c", "copy", "-f", "null", "-"],
                            stdin=subprocess.DEVNULL, capture_output=True, text=True, errors="replace")
    said = "; ".join(result.stderr.strip().splitlines()[-2:])[-300:]  # its last words: why
    if result.returncode != 0:
        raise PipelineError(f"{path}: ffmpeg cannot read it ({result.returncode}): {said}")
    size = _VIDEO_SIZE.search(result.stderr)
    if size is None:
        raise PipelineError(f"{path}: no video stream found: {said}")
    # progress lines end in a carriage return; the last one counts every packet
    progress = [line for line in re.split(r"[\r\n]", result.stderr) if _FRAMES.match(line)]
    if not progress:
        raise PipelineError(f"{path}: cannot count the frames: {said}")
    # the container's running time; the copy's last timestamp falls short of it when frames
    # are stored out of order (H.264's B-frames), so it only stands in when there is none
    seconds = container_seconds(path)
    duration = None if seconds is not None else _DURATION.search(result.stderr) or _TIME.search(progress[-1])
    if duration is not None:
        hours, minutes, secs = duration.groups()
        seconds = int(hours) * 3600 + int(minutes) * 60 + float(secs)
    seconds = None if seconds is None else round(seconds, 3)
    return MediaInfo(mime, int(size[1]), int(size[2]), int(_FRAMES.match(progress[-1])[1]), seconds,
                     video_codecs(path))


def video_codecs(path: Path) -> str | None:
    """The codecs parameter a `<source type>` gives for the video at `path`, read from its
    headers (WebM's CodecID and AV1 configuration, MP4's avcC box), or None when unknown.
    With it, a browser that cannot decode the stream skips the source without fetching it."""
    data = path.read_bytes()
    codec_id = _webm_track_element(data, _CODEC_ID)
    if codec_id == b"V_AV1":
        config = _webm_track_element(data, _CODEC_PRIVATE)  # the AV1CodecConfigurationRecord
        if config is None or len(config) < 3 or config[0] != 0x81:
            return None
        profile, level = config[1] >> 5, config[1] & 0x1F
        tier = "H" if config[2] & 0x80 else "M"
        depth = 12 if config[2] & 0x20 else 10 if config[2] & 0x40 else 8
        return f"av01.{profile}.{level:02d}{tier}.{depth:02d}"
    if codec_id == b"V_VP9":
        return "vp9"
    avcc = data.find(b"avcC")
    if avcc >= 0 and len(data) >= avcc + 8:
        return "avc1." + data[avcc + 5:avcc + 8].hex().upper()  # profile, constraints, level
    return None


def container_seconds(path: Path) -> float | None:
    """The running time an MP4's video track header or a WebM's segment Info stores, in
    seconds; None when the file has no such header (or is neither)."""
    data = path.read_bytes()
    if data[4:8] == b"ftyp":
        return _mp4_seconds(data)
    if data[:4] == _EBML:
        return _webm_seconds(data)
    return None


def _mp4_boxes(data: bytes, start: int, end: int):
    """(type, payload start, end) of each box from `start` to `end`."""
    offset = start
    while offset + 8 <= end:
        size, kind, header = int.from_bytes(data[offset:offset + 4], "big"), data[offset + 4:offset + 8], 8
        if size == 1:  # a 64-bit size follows the type
            size, header = int.from_bytes(data[offset + 8:offset + 16], "big"), 16
        elif size == 0:  # to the end of the file
            size = end - offset
        if size < header or offset + size > end:
            return
        yield kind, offset + header, offset + size
        offset += size


def _mp4_seconds(data: bytes) -> float | None:
    """Duration over timescale of the video track's media header (`mdhd`), in the media's
    own timescale: the movie header (`mvhd`) counts in milliseconds, rounded up (1.334 s
    for ten frames at 7.5 fps). `moov` is found wherever it is: first with +faststart, else
    after the media data."""
    for kind, start, end in _mp4_boxes(data, 0, len(data)):
        if kind != b"moov":
            continue
        for track, track_start, track_end in _mp4_boxes(data, start, end):
            media = next(((s, e) for k, s, e in _mp4_boxes(data, track_start, track_end) if k == b"mdia"), None)
            if track != b"trak" or media is None:
                continue
            boxes = {k: (s, e) for k, s, e in _mp4_boxes(data, *media)}
            handler, header = boxes.get(b"hdlr"), boxes.get(b"mdhd")
            if handler and header and data[handler[0] + 8:handler[0] + 12] == b"vide":
                return _header_seconds(data, *header)
    return None


def _header_seconds(data: bytes, payload: int, stop: int) -> float | None:
    """Duration over timescale of an `mdhd` (or `mvhd`) box's payload."""
    # version 1: 8-byte times and duration; version 0: 4-byte ones
    layout, at = (">IQ", payload + 20) if data[payload] == 1 else (">II", payload + 12)
    if at + struct.calcsize(layout) > stop:
        return None
    timescale, duration = struct.unpack_from(layout, data, at)
    return duration / timescale if timescale else None


_EBML, _SEGMENT, _INFO = b"\x1a\x45\xdf\xa3", b"\x18\x53\x80\x67", b"\x15\x49\xa9\x66"
_TIMESTAMP_SCALE, _DURATION_ID = b"\x2a\xd7\xb1", b"\x44\x89"
_TRACKS, _TRACK_ENTRY, _CODEC_ID, _CODEC_PRIVATE = b"\x16\x54\xae\x6b", b"\xae", b"\x86", b"\x63\xa2"


def _ebml_elements(data: bytes, start: int, end: int):
    """(ID, payload start, end) of each EBML element from `start` to `end`; an element of
    unknown size (a live stream's Segment) runs to `end`."""
    offset = start
    while offset < end:
        id_width = 9 - data[offset].bit_length()  # the leading zero bits of an ID or size
        if not 1 <= id_width <= 4 or offset + id_width >= end:
            return
        element, offset = data[offset:offset + id_width], offset + id_width
        width = 9 - data[offset].bit_length()
        if not 1 <= width <= 8:
            return
        all_ones = (1 << (7 * width)) - 1
        size = int.from_bytes(data[offset:offset + width], "big") & all_ones
        offset += width
        stop = end if size == all_ones else min(offset + size, end)
        yield element, offset, stop
        offset = stop


def _webm_seconds(data: bytes) -> float | None:
    """The Segment Info's Duration (a float, in units of its TimestampScale nanoseconds)."""
    for element, start, end in _ebml_elements(data, 0, len(data)):
        if element != _SEGMENT:
            continue
        for child, payload, stop in _ebml_elements(data, start, end):
            if child != _INFO:
                continue
            scale, duration = 1_000_000, None  # the scale's default: milliseconds
            for item, at, item_end in _ebml_elements(data, payload, stop):
                if item == _TIMESTAMP_SCALE:
                    scale = int.from_bytes(data[at:item_end], "big")
                elif item == _DURATION_ID and item_end - at in (4, 8):
                    duration = struct.unpack(">f" if item_end - at == 4 else ">d", data[at:item_end])[0]
            return None if duration is None else duration * scale / 1e9
    return None


def _webm_track_element(data: bytes, element_id: bytes) -> bytes | None:
    """The payload of element `element_id` of a WebM's first track, if it has one."""
    path = (_SEGMENT, _TRACKS, _TRACK_ENTRY, element_id)
    start, end = 0, len(data)
    for wanted in path:
        found = next(((s, e) for element, s, e in _ebml_elements(data, start, end) if element == wanted), None)
        if found is None:
            return None
        start, end = found
    return data[start:end]
