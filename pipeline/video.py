"""WebM (AV1 or VP9) and MP4 (H.264) through the ffmpeg binary that imageio-ffmpeg ships.

Video has no alpha that every browser plays, so frames are laid over the matte
(`frames.composite`; the usual ffmpeg recipe turns a transparent background black), padded
with the matte to even dimensions (4:2:0 chroma needs them; nothing is stretched) and fed
to ffmpeg's stdin as raw RGB: no temporary frame files.
"""
from __future__ import annotations

import contextlib
import subprocess
import tempfile
from pathlib import Path

import imageio_ffmpeg
import numpy as np

from .atomic import atomic_path
from .frames import composite
from .problems import PipelineError
from .settings import Mp4Settings, WebmSettings
from .timing import Timing

# Sources are sRGB; the conversion uses the BT.601 matrix, which is also what decoders
# assume for untagged video, and the tags say so for the players that read them.
_COLOUR = ("scale=out_color_matrix=bt601:out_range=tv:flags=accurate_rnd+full_chroma_int,"
           "format=yuv420p,setparams=colorspace=smpte170m:color_primaries=bt709:"
           "color_trc=iec61966-2-1:range=tv")


FORMATS = ("webm", "mp4")


def write_webm(frames: list[np.ndarray], target: Path, settings: WebmSettings, timing: Timing,
               matte: tuple[int, int, int]) -> None:
    """AV1 (SVT-AV1) or VP9 (libvpx) in WebM: see `_webm_codec`."""
    write_videos(frames, [("webm", target, settings)], timing, matte)


def write_mp4(frames: list[np.ndarray], target: Path, settings: Mp4Settings, timing: Timing,
              matte: tuple[int, int, int]) -> None:
    """H.264 in MP4: see `_mp4_codec`."""
    write_videos(frames, [("mp4", target, settings)], timing, matte)


def write_videos(frames: list[np.ndarray], outputs: list[tuple[str, Path, object]], timing: Timing,
                 matte: tuple[int, int, int]) -> None:
    """Every (format, target, settings) of `outputs` (formats from FORMATS) from one ffmpeg
    process: the frames are laid over the matte, piped and converted to YUV once for all of
    them, and each encoder gets the same frames it would get alone (the same bytes)."""
    codecs = [_CODECS[fmt](settings) for fmt, _, settings in outputs]
    _encode(frames, [(target, codec) for (_, target, _), (codec, _) in zip(outputs, codecs)],
            timing, matte, "".join(hint for _, hint in codecs))


def _webm_codec(settings: WebmSettings) -> tuple[list[str], str]:
    """AV1 (SVT-AV1) or VP9 (libvpx) in WebM, constant quality (`crf`), `speed` trading time
    for bytes (SVT-AV1's preset, libvpx's cpu-used); and the hint for an ffmpeg without it.

    SVT-AV1 is tuned for SSIM (`tune=2`: refused by SVT-AV1 1.4, taken by the 4.2 that
    imageio-ffmpeg 0.8 ships) and runs on one thread (`lp=1`), as x264 does: the build's
    parallelism is doit's `-n`, and one thread gave the same bytes for a fifth less CPU time.
    Its temporal filter is off (`enable-tf=0`): it smooths the reference frames, and on the
    800 px renders it cost SSIM (0.0001-0.0002) and 14 % of the encoder's time for 1 % fewer
    bytes. On those renders, at crf 27 and preset 6 it beats the recipe's SSIM at 0.81-0.92x
    its bytes (the transparent one against the recipe fed the matte) in less than half the
    CPU time of VP9 at speed 0 (bench/animations.py). A browser that cannot decode AV1 skips
    the WebM (its type names the codecs) for the MP4."""
    if settings.codec == "av1":
        return (["-c:v", "libsvtav1", "-crf", str(settings.crf), "-preset", str(settings.speed),
                 "-svtav1-params", "tune=2:lp=1:enable-tf=0", "-f", "webm"],
                "WebM in AV1 needs an ffmpeg whose SVT-AV1 takes tune=2 (imageio-ffmpeg 0.8 has one); "
                "or set [webm] codec = \"vp9\"")
    return (["-c:v", "libvpx-vp9", "-crf", str(settings.crf), "-b:v", "0",
             "-deadline", "good", "-cpu-used", str(settings.speed), "-f", "webm"], "")


def _mp4_codec(settings: Mp4Settings) -> tuple[list[str], str]:
    """H.264 in MP4, constant quality (`crf`) at an x264 `preset` and `tune`; moov atom first
    (+faststart). One thread: the same bytes on any number of cores (x264 splits its work by
    their count). The defaults (crf 25, "slow", tuned for SSIM) beat the recipe's SSIM at
    0.88-0.94x its bytes in 0.6 of the time of "slower" untuned (README, bench/animations.py)."""
    tune = [] if settings.tune == "none" else ["-tune", settings.tune]
    return (["-c:v", "libx264", "-crf", str(settings.crf), "-preset", settings.preset, *tune,
             "-profile:v", "high", "-threads", "1", "-movflags", "+faststart", "-f", "mp4"], "")


_CODECS = {"webm": _webm_codec, "mp4": _mp4_codec}


def video_frames(frames: list[np.ndarray], timing: Timing, matte: tuple[int, int, int]) -> list[np.ndarray]:
    """The RGB frames a video shows, in play order, padded with the matte to even sizes."""
    height, width = frames[0].shape[:2]
    pad = ((0, height % 2), (0, width % 2))
    shown = {}
    for index in set(timing.order):
        rgb = composite(frames[index], matte)
        if height % 2 or width % 2:
            rgb = np.stack([np.pad(rgb[..., c], pad, constant_values=matte[c]) for c in range(3)], axis=-1)
        shown[index] = np.ascontiguousarray(rgb)
    return [shown[i] for i in timing.order]


def _encode(frames, outputs: list[tuple[Path, list[str]]], timing: Timing, matte, hint: str = "") -> None:
    """Pipe the frames to one ffmpeg writing each (target, codec arguments) of `outputs`; the
    YUV conversion runs once and is split between them. A failure raises PipelineError with
    ffmpeg's errors (not SVT-AV1's banner), and `hint` when they come from the encoder; no
    target is then written."""
    names = ", ".join(target.name for target, _ in outputs)
    try:
        ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError as exc:  # none shipped, none installed, none named
        raise PipelineError(f"{names}: {exc}") from None
    shown = video_frames(frames, timing, matte)
    height, width = shown[0].shape[:2]
    command = [ffmpeg, "-hide_banner",
               "-loglevel", "error", "-y",
               "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}",
               "-framerate", f"{timing.fps:g}", "-i", "pipe:0", "-filter_complex",
               f"[0:v]{_COLOUR},split={len(outputs)}" + "".join(f"[v{i}]" for i in range(len(outputs)))]
    with contextlib.ExitStack() as stack:
        temporaries = [stack.enter_context(atomic_path(target)) for target, _ in outputs]
        for index, ((_, codec), temporary) in enumerate(zip(outputs, temporaries)):
            # per output: no audio, and no random WebM segment id (same frames, same bytes)
            command += ["-map", f"[v{index}]", "-an", *codec, "-fflags", "+bitexact", str(temporary)]
        # ffmpeg's messages go to a file: a pipe nobody reads while the frames are written
        # would stall both sides once it filled up (64 KiB), and SVT-AV1 talks at any log level
        errors_file = stack.enter_context(tempfile.TemporaryFile())
        process = subprocess.Popen(command, stdin=subprocess.PIPE,
                                   stdout=subprocess.DEVNULL, stderr=errors_file)
        try:
            try:
                for rgb in shown:
                    process.stdin.write(rgb.data)  # contiguous: no copy
            except BrokenPipeError:
                pass  # ffmpeg stopped early; its message below says why
            process.communicate()
        finally:
            if process.poll() is None:  # interrupted while writing: do not leave ffmpeg behind
                process.kill()
                process.wait()
        if process.returncode != 0:
            errors_file.seek(0)
            errors = errors_file.read()
            said = [line for line in errors.decode(errors="replace").strip().splitlines()
                    if not line.startswith(("Svt[info]", "Svt[warn]"))]  # SVT-AV1 talks at any log level
            # the hint is about SVT-AV1: only when it refused, or ffmpeg has no such encoder
            relevant = hint and any(line.startswith("Svt[error]") or "libsvtav1" in line for line in said)
            raise PipelineError(f"{names}: ffmpeg failed ({process.returncode}): " + "\n".join(said)
                                + (f"\n{hint}" if relevant else ""))
