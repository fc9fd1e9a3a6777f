"""The streamed zip writer: what zipfile reads back, with and without ZIP64 records."""
import io
import zipfile

import pytest

from pipeline.zipwriter import ZipWriter

ENTRIES = [("muscles/a.txt", b"the same line\n" * 200, True),
           ("muscles/Bíceps-1.png", bytes(range(256)) * 3, False),
           ("empty.json", b"", True)]


def write(**limits) -> bytes:
    out = io.BytesIO()
    with ZipWriter(out, (1980, 1, 1, 0, 0, 0), **limits) as archive:
        for name, data, compress in ENTRIES:
            archive.add(name, data, compress=compress)
    return out.getvalue()


# limit=0 and count_limit=1 force every ZIP64 field and end record on a small archive
@pytest.mark.parametrize("limits", [{}, {"limit": 0, "count_limit": 1}], ids=["classic", "zip64"])
def test_zipfile_reads_back_every_entry(limits):
    data = write(**limits)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None  # every CRC checks
        infos = archive.infolist()
        assert [i.filename for i in infos] == [name for name, _, _ in ENTRIES]
        for info, (name, content, compress) in zip(infos, ENTRIES):
            assert archive.read(info) == content
            assert info.compress_type == (zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED)
            assert info.external_attr >> 16 == 0o100644 and info.create_system == 3
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
    assert (b"PK\x06\x06" in data) == bool(limits)  # the ZIP64 end record only when needed
    if limits:  # the classic end record says "see ZIP64" in every field
        assert data[-22:] == b"PK\x05\x06" + bytes(4) + b"\xff" * 12 + bytes(2)


def test_same_entries_give_the_same_bytes_and_compressible_ones_shrink():
    first = write()
    assert write() == first
    assert len(first) < sum(len(d) for _, d, _ in ENTRIES)


def test_an_unfinished_archive_is_not_ended():
    out = io.BytesIO()
    with pytest.raises(RuntimeError):
        with ZipWriter(out) as archive:
            archive.add("a", b"x", compress=False)
            raise RuntimeError("interrupted")
    assert b"PK\x05\x06" not in out.getvalue()  # no end record: no reader takes it as whole
