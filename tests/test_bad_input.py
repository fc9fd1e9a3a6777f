"""Every kind of bad input from the field, planted in one site next to good sequences.

One real `pipeline` run over it must name each problem with its code, file and line, fail,
and still build every sequence that is sound (including frames in odd but valid modes).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
from PIL import Image

from conftest import page_text, write_frames

SIZE = (40, 32)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png() -> bytes:
    """A valid little PNG whose header claims 100000 x 100000 pixels."""
    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header)
            + png_chunk(b"IDAT", zlib.compress(b"\0" * 64)) + png_chunk(b"IEND", b""))


def sixteen_bit_rgb(path, image: Image.Image) -> None:
    """Write `image` as a 16-bit RGB PNG (Pillow cannot write those itself)."""
    pixels = (np.asarray(image.convert("RGB"), dtype=np.uint16) * 257).astype(">u2")
    raw = b"".join(b"\0" + row.tobytes() for row in pixels)
    header = struct.pack(">IIBBBBB", image.width, image.height, 16, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header)
                     + png_chunk(b"IDAT", zlib.compress(raw)) + png_chunk(b"IEND", b""))


def line_of(page, text: str) -> int:
    for number, line in enumerate(page.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} not in {page}")


def add(site, name: str, *, frames=None, alpha=False, page_name=None, body="Body.") -> tuple:
    """A page with one animation `name` over `frames` (default: 16 good frames written now)."""
    urls = frames if frames is not None else write_frames(site.images, name, 16, SIZE, alpha=alpha)
    page = site.pages / (page_name or f"muscle_{name.lower()}.md")
    page.write_text(page_text(f"The {name}", [f"muscles/gif/{name}.gif"], urls, body), encoding="utf-8")
    return page, urls


# root reads any folder: without its two overriding capabilities, a folder of mode 000 is
# unreadable to it as to anyone (util-linux's setpriv drops them for the run)
AS_ROOT = os.geteuid() == 0
CAN_LOCK = not AS_ROOT or shutil.which("setpriv") is not None
WITHOUT_OVERRIDES = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"] if AS_ROOT else []


@pytest.fixture(scope="module")
def field(tmp_path_factory):
    """The site, the pages and what one pipeline run printed and wrote."""
    from conftest import SiteFolder

    site = SiteFolder(tmp_path_factory.mktemp("bad") / "site")
    png = site.images / "muscles/png"
    pages = {}

    # sound sequences, some in unusual but valid encodings
    pages["good"], _ = add(site, "Good")
    pages["alpha"], _ = add(site, "Alpha", alpha=True)
    pages["modes"], urls = add(site, "Modes")
    for k, mode in ((2, "L"), (3, "LA"), (4, "P"), (5, "RGBA")):
        Image.open(png / f"Modes-{k}.png").convert(mode).save(png / f"Modes-{k}.png")
    palette = Image.open(png / "Modes-6.png").convert("RGBA")
    palette.putpixel((0, 0), (0, 0, 0, 0))
    palette.convert("P").save(png / "Modes-6.png", transparency=0)
    sixteen_bit_rgb(png / "Modes-7.png", Image.open(png / "Modes-7.png"))
    pages["crlf"], _ = add(site, "Crlf")
    pages["crlf"].write_bytes(b"\xef\xbb\xbf" + pages["crlf"].read_bytes().replace(b"\n", b"\r\n"))
    pages["caption"], urls = add(site, "Caption")
    text = pages["caption"].read_text()
    text = text.replace("caption: 'The Caption 1'", "caption: '<img src=x onerror=alert(1)> <b>bold</b>'")
    text = text.replace("caption: 'The Caption 2'", "caption: '" + "long " * 2_000 + "'")
    pages["caption"].write_text(text)

    # broken frames, one defect per sequence
    pages["empty"], _ = add(site, "Empty")
    (png / "Empty-3.png").write_bytes(b"")
    pages["truncated"], _ = add(site, "Truncated")
    (png / "Truncated-4.png").write_bytes((png / "Truncated-4.png").read_bytes()[:-40])
    pages["jpeg"], _ = add(site, "Jpeg")
    Image.open(png / "Jpeg-5.png").convert("RGB").save(png / "Jpeg-5.png", format="JPEG")
    pages["text"], _ = add(site, "Text")
    (png / "Text-6.png").write_text("this is not an image\n")
    pages["size"], _ = add(site, "Size")
    Image.new("RGB", (SIZE[0] + 8, SIZE[1]), "white").save(png / "Size-7.png")
    pages["bomb"], _ = add(site, "Bomb")
    (png / "Bomb-8.png").write_bytes(bomb_png())
    pages["missing"], _ = add(site, "Missing")
    (png / "Missing-9.png").unlink()
    pages["fifo"], _ = add(site, "Fifo")  # a named pipe: opened, it would wait for a writer forever
    (png / "Fifo-2.png").unlink()
    os.mkfifo(png / "Fifo-2.png")
    pages["bomb-first"], _ = add(site, "BombFirst")  # the frame the report measures the sequence by
    hidden = write_frames(site.images, "Hidden", 16, SIZE)  # listed, and there, but Jekyll does not publish it
    (png / "Hidden-5.png").rename(png / ".Hidden-5.png")
    pages["hidden"], _ = add(site, "Hidden", frames=[*hidden[:4], "muscles/png/.Hidden-5.png", *hidden[5:]])
    (png / "BombFirst-1.png").write_bytes(bomb_png())

    # sound frames, odd galleries
    twice = write_frames(site.images, "Twice", 16, SIZE)
    pages["twice"], _ = add(site, "Twice", frames=twice[:8] + [twice[7]] + twice[8:])
    gap = write_frames(site.images, "Gap", 16, SIZE)
    (png / "Gap-10.png").unlink()
    pages["gap"], _ = add(site, "Gap", frames=gap[:9] + gap[10:])
    unsafe = write_frames(site.images, "Unsafe", 16, SIZE)
    outside = site.root / "outside.png"
    Image.new("RGB", SIZE).save(outside)
    (png / "Unsafe-16.png").unlink()
    os.symlink(outside, png / "Unsafe-16.png")
    unsafe_refs = ["./muscles/png/Unsafe-11.png", "../Unsafe-12.png", "/etc/Unsafe-13.png", "file:///etc/Unsafe-14.png",
                   "http://example.org/Unsafe-15.png", "muscles/png/Unsafe-16.png"]
    pages["unsafe"], _ = add(site, "Unsafe", frames=unsafe[:10] + unsafe_refs)
    pages["equals"], _ = add(site, "Eq=ual")  # doit refuses '=' in a task's name
    pages["many"] = site.pages / "muscle_many.md"  # a gallery of 20,000 entries, no animation
    pages["many"].write_text(page_text("Many", [], [f"muscles/png/Good-{k % 16 + 1}.png" for k in range(20_000)]))

    # broken front matter
    manifests = {
        "yaml": "---\ntitle: x\ngallery:\n  - image_url: [oops\n---\n",
        "list": "---\n- image_url: a.png\n---\n",
        "string": "---\ntitle: s\ngallery: muscles/png/Good-1.png\n---\n",
        "no-url": "---\ngallery:\n  - caption: no url here\n---\n",
        "url-number": "---\ngallery:\n  - image_url: 42\n---\n",
    }
    for name, text in manifests.items():
        pages[name] = site.pages / f"bad-{name}.md"
        pages[name].write_text(text)
    pages["latin1"] = site.pages / "bad-latin1.md"
    pages["latin1"].write_bytes(b"---\ntitle: ok\ncaption: caf\xe9\n---\n")
    pages["page-fifo"] = site.pages / "bad-page-fifo.md"
    os.mkfifo(pages["page-fifo"])
    pages["page-link"] = site.pages / "bad-page-link.md"
    os.symlink("nowhere.md", pages["page-link"])

    # names that are not UTF-8, folders that cannot be read
    pages["not-utf8"] = site.pages / os.fsdecode(b"bad-caf\xe9.md")
    pages["not-utf8"].write_text(page_text("Caf", [], ["muscles/png/Good-1.png"]))
    (png / os.fsdecode(b"orphan-\xff.png")).write_bytes(b"x")
    locked = []
    if CAN_LOCK:
        (site.images / "locked/png").mkdir(parents=True)
        for url in write_frames(site.images, "Locked", 16, SIZE):
            (site.images / url).rename(site.images / "locked/png" / url.rsplit("/", 1)[1])
        pages["locked-frames"] = site.pages / "muscle_locked.md"
        pages["locked-frames"].write_text(page_text("Locked", ["locked/gif/Locked.gif"],
                                                    [f"locked/png/Locked-{k}.png" for k in range(1, 17)]))
        (site.pages / "locked").mkdir()
        (site.pages / "locked/muscle_inside.md").write_text(page_text("Inside", [], ["muscles/png/Good-1.png"]))
        locked = [site.images / "locked", site.pages / "locked"]

    sources = {p: p.read_bytes() for p in site.root.rglob("*") if p.is_file() and not p.is_symlink()}
    for folder in locked:
        folder.chmod(0o000)
    try:
        result = subprocess.run([*WITHOUT_OVERRIDES, sys.executable, "-m", "pipeline.cli", "--config", str(site.config),
                                 "-n", "2"], capture_output=True, text=True, timeout=600)
    finally:
        for folder in locked:
            folder.chmod(0o755)
    problems = json.loads((site.build / "verify.json").read_text())
    after = {p: p.read_bytes() for p in sources}
    return site, pages, result, problems, sources == after


def problem(field, page_key: str, code: str):
    site, pages, _result, problems, _same = field
    name = pages[page_key].relative_to(site.pages).as_posix()
    found = [p for p in problems if p["page"] == name and p["code"] == code]
    assert len(found) == 1, (page_key, code, [p for p in problems if p["page"] == name])
    return found[0]


def test_the_run_fails_but_leaves_the_sources_alone(field):
    _site, _pages, result, _problems, sources_unchanged = field
    assert result.returncode != 0
    assert sources_unchanged


@pytest.mark.parametrize("key, frame, text", [
    ("empty", "Empty-3.png", "is empty (0 bytes)"),
    ("truncated", "Truncated-4.png", "is truncated: the PNG end marker (IEND) is missing"),
    ("jpeg", "Jpeg-5.png", "is not a PNG file (it looks like JPEG)"),
    ("text", "Text-6.png", "is not a PNG file"),
    ("bomb", "Bomb-8.png", "claims 100000x100000 pixels"),
    ("fifo", "Fifo-2.png", "is not a regular file (a named pipe, socket or device); it is not opened"),
])
def test_unreadable_frames(field, key, frame, text):
    found = problem(field, key, "unreadable")
    assert found["reference"] == f"muscles/png/{frame}"
    assert found["line"] == line_of(field[1][key], f"image_url: muscles/png/{frame}")
    assert text in found["message"]


def test_frame_of_another_size(field):
    found = problem(field, "size", "inconsistent-frames")
    assert found["line"] == line_of(field[1]["size"], "image_url: muscles/png/Size-7.png")


def test_missing_frame(field):
    found = problem(field, "missing", "missing")
    assert found["line"] == line_of(field[1]["missing"], "image_url: muscles/png/Missing-9.png")


def test_a_hidden_frame_is_missing_as_the_site_sees_it_and_never_read(field):
    found = problem(field, "hidden", "missing")
    assert found["line"] == line_of(field[1]["hidden"], "image_url: muscles/png/.Hidden-5.png")
    assert found["message"].endswith("a name starting with '.' is hidden: Jekyll does not publish it and "
                                     "the pipeline does not read it, so rename it")
    png = field[0].build / "images" / "muscles" / "png"
    assert not list(png.glob(".Hidden-5*"))  # no thumbnail nor copy made from it
    assert (png / "Hidden-4-thumb.png").exists()


def test_huge_gallery_is_read_whole(field):
    site, pages, _result, problems, _same = field
    duplicates = [p for p in problems if p["page"] == "muscle_many.md" and p["code"] == "duplicate-reference"]
    assert len(duplicates) == 20_000 - 16
    assert duplicates[-1]["line"] == line_of(pages["many"], "caption: 'Many 20000'") - 1


def test_frame_listed_twice_and_gap(field):
    twice = problem(field, "twice", "duplicate-reference")
    assert twice["severity"] == "warning" and twice["reference"] == "muscles/png/Twice-8.png"
    gap = problem(field, "gap", "frame-gap")
    assert gap["reference"] == "muscles/png/Gap-10.png" and gap["line"] == line_of(field[1]["gap"], "gallery:")


def test_unsafe_references_are_never_opened(field):
    site, pages, _result, problems, _same = field
    name = pages["unsafe"].relative_to(site.pages).as_posix()
    unsafe = {p["reference"]: p for p in problems if p["page"] == name and p["code"] == "unsafe-path"}
    assert set(unsafe) == {"./muscles/png/Unsafe-11.png", "../Unsafe-12.png", "/etc/Unsafe-13.png", "file:///etc/Unsafe-14.png",
                           "http://example.org/Unsafe-15.png", "muscles/png/Unsafe-16.png"}
    for reference, found in unsafe.items():
        assert found["line"] == line_of(pages["unsafe"], f"image_url: {reference}")
    assert not (site.build / "images" / "muscles/gif/Unsafe.gif").exists()


@pytest.mark.parametrize("key, line, text", [
    ("yaml", 4, "not valid YAML"),
    ("list", 2, "must be a mapping of keys, not a list"),
    ("string", 3, "'gallery' must be a list of entries, not a string"),
    ("no-url", 3, "'gallery' entry has no 'image_url'"),
    ("url-number", 3, "'image_url' must be a non-empty string, got '42'"),
    ("latin1", 3, "not UTF-8"),
    ("page-fifo", 1, "the page cannot be read: it is not a regular file"),
    ("page-link", 1, "the page cannot be read: No such file or directory"),
])
def test_bad_manifests(field, key, line, text):
    found = problem(field, key, "bad-manifest")
    assert found["line"] == line and text in found["message"]


def test_failures_are_printed_with_page_and_line(field):
    site, pages, result, _problems, _same = field
    blocks = failed_blocks(result.stdout + result.stderr)
    for key, frame, code in (("truncated", "Truncated-4.png", "unreadable"), ("missing", "Missing-9.png", "missing")):
        where = f"{pages[key].relative_to(site.pages).as_posix()}:{line_of(pages[key], frame)}: {code}: "
        sequence = frame.rsplit("-", 1)[0]
        failed = {task: lines for task, lines in blocks.items() if f"/{sequence}." in task or f"/{sequence}-*" in task}
        # the animation formats, the thumbnails, the frame copies and the contact sheet
        assert {task.split(":")[0] for task in failed} >= {"gif", "webp", "video", "thumbnails", "frames", "contact"}
        for task, lines in failed.items():
            assert lines and all(line.startswith(where) for line in lines), (task, lines)


def failed_blocks(output: str) -> dict[str, list[str]]:
    """Each `FAILED <task>` line's task, with the indented lines printed under it."""
    blocks, current = {}, None
    for line in output.splitlines():
        header = re.search(r"FAILED (\S+)", line)
        if header:
            current = blocks.setdefault(header[1], [])
        elif current is not None and line.startswith("    "):
            current.append(line[4:])
        else:
            current = None
    return blocks


def test_names_that_are_not_utf8_are_told_with_their_bytes(field):
    _site, _pages, _result, problems, _same = field
    page = [p for p in problems if p["page"] == "bad-caf\\xe9.md"]
    assert [(p["line"], p["code"]) for p in page] == [(1, "bad-manifest")]
    assert page[0]["message"] == "the page's file name is not UTF-8 (its odd bytes are shown as \\xNN); rename it"
    orphan = [p for p in problems if p["code"] == "orphan" and "orphan-" in p["reference"]]
    assert [p["reference"] for p in orphan] == ["muscles/png/orphan-\\xff.png"]


@pytest.mark.skipif(not CAN_LOCK, reason="running as root without util-linux's setpriv")
def test_folders_that_cannot_be_read_are_named(field):
    site, pages, _result, problems, _same = field
    frames = [p for p in problems if p["page"] == "muscle_locked.md"]
    assert [(p["code"], p["line"], p["reference"]) for p in frames] == [
        ("unreadable", line_of(pages["locked-frames"], f"image_url: locked/png/Locked-{k}.png"), f"locked/png/Locked-{k}.png")
        for k in range(1, 17)]
    assert frames[0]["message"] == ("'locked/png/Locked-1.png' cannot be looked for: its folder 'locked' cannot "
                                    "be read (Permission denied)")
    folder = [p for p in problems if p["page"] == "locked"]
    assert [(p["code"], p["line"], p["message"]) for p in folder] == [
        ("bad-manifest", 1, "the folder of pages cannot be read: Permission denied")]
    assert not (site.build / "images/locked/gif/Locked.gif").exists()


@pytest.mark.parametrize("name", ["Good", "Alpha", "Modes", "Crlf", "Caption", "Twice", "Gap", "Eq=ual"])
def test_sound_sequences_still_build_in_every_format(field, name):
    site = field[0]
    gif = site.build / "images" / f"muscles/gif/{name}.gif"
    with Image.open(gif) as image:
        assert image.n_frames >= 15 and image.size == SIZE
    for suffix in (".webp", ".webm", ".mp4"):
        assert (site.build / "images" / f"muscles/gif/{name}{suffix}").stat().st_size > 0
    with Image.open(site.build / "images" / f"muscles/png/{name}-1-thumb.png") as thumb:
        assert thumb.size == SIZE  # never upscaled


def test_broken_sequences_build_nothing(field):
    site = field[0]
    for name in ("Empty", "Truncated", "Jpeg", "Text", "Size", "Bomb", "Missing", "Fifo", "BombFirst"):
        for suffix in (".gif", ".webp", ".webm", ".mp4"):
            assert not (site.build / "images" / f"muscles/gif/{name}{suffix}").exists(), name + suffix
        assert not (site.build / "contact" / f"{name}.png").exists(), name
    # the broken frame has no thumbnail nor copy; its sound neighbours have both
    png = site.build / "images" / "muscles" / "png"
    assert not (png / "Truncated-4-thumb.png").exists() and not (png / "Truncated-4.png").exists()
    assert (png / "Truncated-3-thumb.png").exists() and (png / "Truncated-3.png").exists()


def test_caption_html_stays_text_in_the_report(field):
    html = (field[0].build / "report" / "index.html").read_text()
    assert "<img src=x onerror" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_every_site_wide_task_still_runs(field):
    site, _pages, result, _problems, _same = field
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    # the report measures a sequence by its first frame: a bomb there is shown, not raised
    assert "FAILED report" not in output and (site.build / "report" / "index.html").is_file()
