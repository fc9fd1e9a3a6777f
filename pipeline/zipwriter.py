"""A deterministic zip writer whose memory does not grow with the number of entries.

Python's `zipfile` keeps a ZipInfo object for every entry until it writes the central
directory at the end: 4.6 MiB for the 13,000 files of a 250-animation bundle, the largest
thing in the worker that writes it. Here each entry's central-directory record goes to a
temporary file as the entry is written, and is copied after the last entry. ZIP64 fields
and records are written where a size, an offset or the number of entries needs them.
"""
from __future__ import annotations

import shutil
import struct
import tempfile
import zlib
from typing import BinaryIO

LIMIT = 0xFFFFFFFF  # sizes and offsets at or above this go into ZIP64 fields
COUNT_LIMIT = 0xFFFF  # more entries than this need the ZIP64 end records
_UTF8_NAME = 0x800
_VERSION, _VERSION_64 = 20, 45  # 2.0: deflate; 4.5: ZIP64
_UNIX = 3


class ZipWriter:
    """Write entries to `out` (a binary file open for writing) one at a time; `close()` ends
    the archive. Every entry gets `date_time` and a Unix file mode, so the same entries in the
    same order give the same bytes."""

    def __init__(self, out: BinaryIO, date_time=(1980, 1, 1, 0, 0, 0), *, limit: int = LIMIT,
                 count_limit: int = COUNT_LIMIT):
        year, month, day, hour, minute, second = date_time
        self._date = (year - 1980) << 9 | month << 5 | day
        self._time = hour << 11 | minute << 5 | second // 2
        self._out, self._limit, self._count_limit = out, limit, count_limit
        self._central = tempfile.TemporaryFile()
        self._count = 0

    def add(self, name: str, data: bytes, *, compress: bool, mode: int = 0o100644) -> None:
        """Add `data` as `name`, deflated at level 9 if `compress`, else stored."""
        crc = zlib.crc32(data)
        if compress:
            deflater = zlib.compressobj(9, zlib.DEFLATED, -15)  # raw deflate, as zip holds it
            body = deflater.compress(data) + deflater.flush()
        else:
            body = data
        method = 8 if compress else 0
        try:
            encoded, flags = name.encode("ascii"), 0
        except UnicodeEncodeError:
            encoded, flags = name.encode("utf-8"), _UTF8_NAME
        offset = self._out.tell()

        sizes_64 = len(data) >= self._limit or len(body) >= self._limit
        local_extra = _zip64_extra([len(data), len(body)]) if sizes_64 else b""
        version = _VERSION_64 if sizes_64 or offset >= self._limit else _VERSION
        self._out.write(struct.pack(
            "<4s5H3L2H", b"PK\x03\x04", version, flags, method, self._time, self._date, crc,
            LIMIT if sizes_64 else len(body), LIMIT if sizes_64 else len(data), len(encoded), len(local_extra)))
        self._out.write(encoded + local_extra)
        self._out.write(body)

        # the central record: each 32-bit field that overflows says so and moves to ZIP64's extra
        fields = [len(data), len(body), offset]  # the order ZIP64's extra field lists them in
        wide = [value for value in fields if value >= self._limit]
        narrow = [LIMIT if value >= self._limit else value for value in fields]
        central_extra = _zip64_extra(wide) if wide else b""
        self._central.write(struct.pack(
            "<4s6H3L5H2L", b"PK\x01\x02", _UNIX << 8 | version, version, flags, method, self._time,
            self._date, crc, narrow[1], narrow[0], len(encoded), len(central_extra), 0, 0, 0,
            mode << 16, narrow[2]))
        self._central.write(encoded + central_extra)
        self._count += 1

    def close(self) -> None:
        """Write the central directory and the end records."""
        start = self._out.tell()
        try:
            self._central.seek(0)
            shutil.copyfileobj(self._central, self._out)
        finally:
            self._central.close()
        size = self._out.tell() - start
        count = self._count
        wide_count, wide_size, wide_start = count > self._count_limit, size >= self._limit, start >= self._limit
        if wide_count or wide_size or wide_start:
            end_64 = self._out.tell()
            self._out.write(struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, _UNIX << 8 | _VERSION_64,
                                        _VERSION_64, 0, 0, count, count, size, start))
            self._out.write(struct.pack("<4sLQL", b"PK\x06\x07", 0, end_64, 1))
        # a value too large for the classic end record is given as all ones: readers then take ZIP64's
        count = COUNT_LIMIT if wide_count else count
        self._out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count,
                                    LIMIT if wide_size else size, LIMIT if wide_start else start, 0))

    def __enter__(self) -> ZipWriter:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            self.close()
        else:
            self._central.close()


def _zip64_extra(values: list[int]) -> bytes:
    """ZIP64's extended-information extra field (header 0x0001) holding `values`."""
    return struct.pack(f"<2H{len(values)}Q", 0x0001, 8 * len(values), *values)
