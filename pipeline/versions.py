"""What an output's bytes depend on besides its settings, for the tasks' up-to-date checks.

For each kind of output: our own code's version (bump it when the same inputs would give
other bytes) and the library that encodes. Found without importing the encoders (numpy,
Pillow's image core, the ffmpeg binary), so that wiring thousands of tasks stays cheap: a
no-op run imports none of them (`deflate`, a 1 ms import, is asked its version). ffmpeg's
version is read once per ffmpeg binary and kept in the build folder, since asking it costs
two process starts.
"""
from __future__ import annotations

import importlib
import json
import os
from pathlib import Path

import PIL

from .atomic import write_text_atomic

# Bump a number when the same inputs and settings would now give other bytes.
CODE = {
    "gif": 1, "webp": 1, "webm": 4, "mp4": 3, "avif": 3,
    "thumbnails": 6, "frame-copy": 4, "contact": 5,
}
# The library inside Pillow that writes each format, when it is not Pillow itself.
_PILLOW_LIBRARY = {"webp": "webp", "avif": "avif"}
_PILLOW_MODULE = {"webp": ("PIL._webp", "webpdecoder_version"), "avif": ("PIL._avif", "libavif_version")}
_VIDEO = ("webm", "mp4")
_DEFLATED_BY_PNGENCODE = ("thumbnails", "frame-copy")  # PNGs deflated by the `deflate` package
FFMPEG_CACHE = ".ffmpeg-version.json"


def encoder(kind: str, build_dir: Path) -> str:
    """The version string of `kind` ('gif', 'webm', 'thumbnails', ...): changes whenever
    the code or the library that writes it does."""
    code = f"{kind} {CODE[kind]}"
    if kind in _VIDEO:
        try:
            return f"{code}, ffmpeg {ffmpeg_version(build_dir)}"
        except (OSError, RuntimeError) as exc:  # no ffmpeg to ask: its tasks say so when they run
            return f"{code}, no ffmpeg ({exc})"
    if kind in _DEFLATED_BY_PNGENCODE:
        import deflate  # a small C extension: cheap to import

        return f"{code}, Pillow {PIL.__version__}, deflate {deflate.__version__}"
    library = _PILLOW_LIBRARY.get(kind)
    if library is None:
        return f"{code}, Pillow {PIL.__version__}"
    return f"{code}, Pillow {PIL.__version__} lib{library} {_pillow_library_version(library)}"


def _pillow_library_version(library: str) -> str | None:
    """The version of a library Pillow was built with, read from Pillow's own C module (as
    `PIL.features.version` does, without importing Pillow's image core)."""
    module, attribute = _PILLOW_MODULE[library]
    try:
        return getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError):  # another Pillow: ask it the public way
        from PIL import features

        return features.version(library)


def ffmpeg_version(build_dir: Path) -> str:
    """The version of the ffmpeg that imageio-ffmpeg runs.

    Kept in `<build_dir>/.ffmpeg-version.json` with what chose that binary (imageio-ffmpeg's
    version, IMAGEIO_FFMPEG_EXE, PATH) and the binary's size and time; any change asks again.
    """
    import imageio_ffmpeg  # the package only: finding and asking its binary is what costs

    cache = build_dir / FFMPEG_CACHE
    # what imageio-ffmpeg looks at to choose: its own version (the binary it ships), the
    # variable that names one, and PATH (where it finds a system ffmpeg when it ships none)
    choice = {"imageio_ffmpeg": imageio_ffmpeg.__version__, "env": os.environ.get("IMAGEIO_FFMPEG_EXE"),
              "path": os.environ.get("PATH")}
    try:
        known = json.loads(cache.read_text())
        if known["choice"] == choice and known["binary"] == _identity(known["exe"]):
            return known["version"]
    except (OSError, ValueError, KeyError, TypeError):
        pass  # no cache yet, or one from another binary: ask ffmpeg
    exe = imageio_ffmpeg.get_ffmpeg_exe()
    version = imageio_ffmpeg.get_ffmpeg_version()
    try:
        write_text_atomic(cache, json.dumps({"choice": choice, "exe": exe, "binary": _identity(exe),
                                             "version": version}))
    except OSError:
        pass  # a read-only build folder only costs asking again next time
    return version


def _identity(path: str) -> list:
    info = os.stat(path)
    return [path, info.st_size, info.st_mtime_ns]
