"""Thumbnails: sizes, modes, palette choice by SSIM, alpha edges, and the doit sub-tasks."""
import io

import numpy as np
from pathlib import Path

import pytest
from PIL import Image

from conftest import site_tasks
from pipeline import thumbnails
from pipeline.frames import load_rgba
from pipeline.ssim import ssim
from pipeline.imageroot import ImageRoot
from pipeline.settings import settings_from_dict
from pipeline.catalog import FRAME, Reference
from pipeline.tasks.thumbnails import run_thumbnails
from tests.conftest import draw_frame, page_text


def save(image: Image.Image, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path


def float_reference(path, size):
    return thumbnails.resize(load_rgba(path), size)


def test_size_keeps_aspect_and_never_upscales():
    assert thumbnails.thumbnail_size(800, 600, 200) == (200, 150)
    assert thumbnails.thumbnail_size(64, 48, 200) == (64, 48)
    assert thumbnails.thumbnail_size(1000, 1, 200) == (200, 1)


def test_opaque_images_skip_premultiplication_with_the_same_result():
    opaque = np.asarray(draw_frame(160, 120, 0.3).convert("RGBA")).copy()
    almost = opaque.copy()
    almost[0, 0, 3] = 254  # one pixel takes the premultiplied path for the whole image
    fast, general = thumbnails.resize(opaque, (40, 30)), thumbnails.resize(almost, (40, 30))
    assert fast[..., 3].min() == 255
    assert np.abs(fast[5:, 5:] - general[5:, 5:]).max() < 1e-3  # away from that pixel


def test_reducing_gap_stays_within_rounding_of_plain_float_lanczos():
    rgba = np.asarray(draw_frame(800, 600, 0.6, background=(0, 0, 0, 0)))
    plain = thumbnails.resize(rgba, (200, 150))
    gapped = thumbnails.resize(rgba, (200, 150), thumbnails.REDUCING_GAP)
    assert not np.array_equal(plain, gapped)  # the box reduction did run
    assert ssim(np.round(gapped), plain) >= 0.999


def test_png_thumbnail_of_a_render_is_a_small_palette_image_close_to_float_lanczos(tmp_path):
    source = save(draw_frame(400, 300, 0.7).convert("RGB"), tmp_path / "X.png")
    target = tmp_path / "out" / "X-thumb.png"

    thumbnails.make_thumbnail(source, target, 200, kind="png", min_ssim=0.99)

    with Image.open(target) as thumb:
        assert thumb.size == (200, 150)
        assert thumb.mode == "P"
        decoded = np.asarray(thumb.convert("RGB"), dtype=np.float32)
    reference = float_reference(source, (200, 150))
    assert ssim(decoded, reference[..., :3]) >= 0.99
    truecolour = io.BytesIO()
    thumbnails.to_image(reference).save(truecolour, "PNG", optimize=True)
    assert target.stat().st_size < 0.6 * len(truecolour.getvalue())


def test_png_thumbnail_is_truecolour_when_no_palette_is_close_enough(tmp_path):
    source = save(draw_frame(400, 300, 0.7).convert("RGB"), tmp_path / "X.png")
    target = tmp_path / "X-thumb.png"

    thumbnails.make_thumbnail(source, target, 200, kind="png", min_ssim=1.0)

    with Image.open(target) as thumb:
        assert (thumb.mode, thumb.size) == ("RGB", (200, 150))


def palette_cases():
    """(image, float reference) pairs: an opaque render and a transparent one, at 200 px."""
    for background in ((255, 255, 255, 255), (0, 0, 0, 0)):
        rgba = np.asarray(draw_frame(400, 300, 0.4, background=background))
        pixels = thumbnails.resize(rgba, (200, 150), thumbnails.REDUCING_GAP)
        image = thumbnails.to_image(pixels)
        yield image, pixels[..., : len(image.mode)]


@pytest.mark.parametrize("min_ssim", [0.97, 0.985, 0.99, 0.995, 0.999, 0.99999])
def test_palette_search_finds_what_trying_every_size_finds(min_ssim):
    for image, reference in palette_cases():
        def score(palette):
            return ssim(np.asarray(palette.convert(image.mode), dtype=np.float32), reference, np.float32)
        passing = [n for n in thumbnails.PALETTE_SIZES if score(thumbnails.quantize(image, n)) >= min_ssim]
        found = thumbnails._fewest_colours(image, reference, min_ssim)
        if not passing:
            assert found is None
        else:
            assert np.array_equal(np.asarray(found), np.asarray(thumbnails.quantize(image, passing[0])))


def test_palette_search_skips_the_half_size_palette_its_error_predicts_to_fail(monkeypatch):
    tried = []
    quantize = thumbnails.quantize
    monkeypatch.setattr(thumbnails, "quantize", lambda image, n: tried.append(n) or quantize(image, n))
    image, reference = next(palette_cases())
    score = ssim(np.asarray(quantize(image, 64).convert("RGB"), dtype=np.float32), reference, np.float32)
    # an allowance the 64-colour palette meets, but not with the margin a half-size palette needs
    thumbnails._fewest_colours(image, reference, 1 - (1 - score) * 1.2)
    assert tried == [64]
    tried.clear()
    thumbnails._fewest_colours(image, reference, 1 - (1 - score) * 1.6)
    assert tried[:2] == [64, 32]
    tried.clear()
    # an allowance 64 colours miss: up to 128, which passes, and not back down to 64
    thumbnails._fewest_colours(image, reference, 1 - (1 - score) * 0.9)
    assert tried == [64, 128]


def test_palette_search_with_alpha_starts_at_128_colours(monkeypatch):
    tried = []
    quantize = thumbnails.quantize
    monkeypatch.setattr(thumbnails, "quantize", lambda image, n: tried.append(n) or quantize(image, n))
    image, reference = list(palette_cases())[1]
    assert image.mode == "RGBA"
    thumbnails._fewest_colours(image, reference, 0.99)
    assert tried[0] == 128 and len(tried) == len(set(tried))


def soft_disc(size: int) -> Image.Image:
    """A flat red disc with a soft edge on transparent black: colour is constant where alpha > 0."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    distance = np.hypot(x - size / 2, y - size / 2)
    alpha = np.clip((size * 0.4 - distance) / 3.0, 0, 1) * 255
    rgba = np.zeros((size, size, 4), np.uint8)
    rgba[..., 0], rgba[..., 1], rgba[..., 2] = 220, 30, 30
    rgba[..., 3] = alpha.round()
    rgba[alpha == 0] = 0  # transparent black, as renderers write it
    return Image.fromarray(rgba, "RGBA")


def test_transparent_render_keeps_alpha_and_colour_at_soft_edges(tmp_path):
    source = save(soft_disc(240), tmp_path / "A.png")
    target = tmp_path / "A-thumb.png"

    thumbnails.make_thumbnail(source, target, 120, kind="png")

    with Image.open(target) as thumb:
        assert thumb.size == (120, 120)
        assert thumb.mode in ("P", "RGBA")
        rgba = np.asarray(thumb.convert("RGBA")).astype(int)
    assert rgba[0, 0, 3] == 0  # the background stays transparent
    edge = (rgba[..., 3] > 10) & (rgba[..., 3] < 245)
    assert edge.sum() > 50
    # premultiplied resizing: soft edge pixels keep the disc's red, no dark fringe from the
    # transparent black around it
    assert np.abs(rgba[edge][:, :3] - [220, 30, 30]).max() <= 12


def test_webp_thumbnail_and_small_sources_are_not_upscaled(tmp_path):
    source = save(draw_frame(64, 48, 0.0).convert("RGB"), tmp_path / "S.png")
    target = tmp_path / "S-thumb.webp"

    thumbnails.make_thumbnail(source, target, 200, kind="webp", webp_quality=80)

    with Image.open(target) as thumb:
        assert (thumb.format, thumb.size, thumb.mode) == ("WEBP", (64, 48), "RGB")


def test_jpeg_gallery_images_get_jpeg_thumbnails_under_the_name_the_site_asks_for(site_folder):
    folder = site_folder.images / "muscles" / "jpg"
    save(draw_frame(300, 200, 0.2).convert("RGB"), folder / "Deltoid-1.jpg")
    (site_folder.pages / "deltoid.md").write_text(page_text("Deltoid", [], ["muscles/jpg/Deltoid-1.jpg"]))
    tasks = {t["name"]: t for t in site_tasks(site_folder.site(), "thumbnails")}
    run_actions([tasks["images/muscles/jpg/Deltoid-*.jpg"]])
    with Image.open(site_folder.build / "images" / "muscles" / "jpg" / "Deltoid-1-thumb.jpg") as thumb:
        assert (thumb.format, thumb.size) == ("JPEG", (200, 133))


def run_actions(tasks, changed=()):
    """Run each task's action as doit would; `changed` empty means: as after a settings change."""
    for task in tasks:
        func, args = task["actions"][0]
        assert func(*args, changed=list(changed)) is None, task["name"]


def test_thumbnail_tasks_name_each_output_and_make_srcset_widths(small_site):
    small_site.write_settings("[thumbnails]\nwidth = 32\nwidths = [40, 100]\n")
    site = small_site.site()
    tasks = list(site_tasks(site, "thumbnails"))
    names = {t["name"] for t in tasks}
    assert names == {"images/muscles/png/Leg-Soleus-*.png", "images/muscles/png/Arm-Biceps-*.png"}
    for task in tasks:  # one per sequence: 4 files of each of its 16 frames
        assert task["clean"] is True and len(task["file_dep"]) == 16 and len(task["targets"]) == 4 * 16

    run_actions(t for t in tasks if t["name"].startswith("images/muscles/png/Arm-Biceps-*"))
    out = small_site.build / "images" / "muscles" / "png"
    sizes = {name: Image.open(out / name).size for name in
             ("Arm-Biceps-1-thumb.png", "Arm-Biceps-1-thumb.webp", "Arm-Biceps-1-40w.webp", "Arm-Biceps-1-100w.webp")}
    assert sizes == {"Arm-Biceps-1-thumb.png": (32, 24), "Arm-Biceps-1-thumb.webp": (32, 24),
                     "Arm-Biceps-1-40w.webp": (40, 30), "Arm-Biceps-1-100w.webp": (64, 48)}


def test_thumbnail_settings_rebuild_thumbnails_and_never_frame_copies(small_site):
    def uptodate_values(extra):
        small_site.write_settings(extra)
        site = small_site.site()
        return {**{("thumbnails", t["name"]): t["uptodate"][0].config for t in site_tasks(site, "thumbnails")},
                **{("frames", t["name"]): t["uptodate"][0].config for t in site_tasks(site, "frames")}}

    before = uptodate_values("")
    for setting in ("webp_quality = 60", "min_ssim = 0.995", "width = 150", "widths = [300]"):
        after = uptodate_values(f"[thumbnails]\n{setting}\n")
        changed = {name for name in before if before[name] != after[name]}
        assert changed == {key for key in before if key[0] == "thumbnails"}, setting


def test_unreadable_source_fails_its_task(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    (images / "B.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    settings = settings_from_dict({"paths": {"images": "images", "build": "out"}}, base=tmp_path)
    result = run_thumbnails([Reference("B.png", "a.md", 4, FRAME), Reference("C.png", "b.md", 12, FRAME)],
                            settings, ImageRoot(images), frozenset(), changed=[])
    assert result.message.splitlines() == [
        "a.md:4: unreadable: 'B.png' is not a valid PNG (bad signature or header)",
        "b.md:12: missing: gallery frame 'C.png' does not exist under the image root",
    ]
    assert not list(tmp_path.rglob("B-thumb*"))


def test_a_frame_the_writer_refuses_fails_with_its_page_line_and_the_writer_s_words(tmp_path):
    # verify lets no such frame through; should a writer refuse one all the same, the task
    # says where the page names it, as for every other failure
    from pipeline.problems import PipelineError
    from pipeline.tasks.batch import run_batch

    images = tmp_path / "images"
    images.mkdir()
    Image.new("RGB", (8, 8)).save(images / "A.png")
    source = str(images / "A.png")

    def refuse(path, outputs):
        raise PipelineError(f"{path}: cannot write a '.tga' thumbnail")

    jobs = [(Reference("A.png", "a.md", 3, FRAME), source, [(str(tmp_path / "A-thumb.tga"), 200, "tga")])]
    result = run_batch(jobs, [], refuse, ImageRoot(images))
    assert result.message == "a.md:3: unreadable: 'A.png': cannot write a '.tga' thumbnail"


def test_a_full_disk_fails_with_the_page_line_and_the_thumbnail_it_was_writing(tmp_path, monkeypatch):
    import errno

    images = tmp_path / "images"
    images.mkdir()
    Image.new("RGB", (8, 8)).save(images / "A.png")
    settings = settings_from_dict({"paths": {"images": "images", "build": "out"}}, base=tmp_path)

    def full_disk(path, data):  # how the thumbnails' bytes reach their temporary file
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(Path, "write_bytes", full_disk)
    result = run_thumbnails([Reference("A.png", "a.md", 3, FRAME)], settings, ImageRoot(images), frozenset(), changed=[])
    thumb = tmp_path / "out" / "images" / "A-thumb.png"
    # the file being written, not the frame, which was read whole
    assert result.message == f"a.md:3: 'A.png': [Errno 28] No space left on device: '{thumb}'"
    assert not list((tmp_path / "out").rglob("*.*"))  # no temporary left, no half thumbnail


@pytest.mark.parametrize("width", [0, -5])
def test_settings_refuse_empty_widths(site_folder, width):
    from pipeline.problems import PipelineError

    site_folder.write_settings(f"[thumbnails]\nwidths = [{width}]\n")
    with pytest.raises(PipelineError, match=r"\[thumbnails\] thumbnail widths must be at least 1 pixel"):
        site_folder.settings()


def test_only_changed_frames_and_missing_outputs_are_redone(small_site):
    tasks = [t for t in site_tasks(small_site.site(), "thumbnails") if t["name"].endswith("Leg-Soleus-*.png")]
    (task,) = tasks
    run_actions(tasks)  # first run: everything
    targets = [Path(t) for t in task["targets"]]
    assert [t.name for t in targets[4:6]] == ["Leg-Soleus-3-thumb.png", "Leg-Soleus-3-thumb.webp"]
    stamps = {t: t.stat().st_ino for t in targets}  # every atomic rewrite is a new inode
    targets[11].unlink()  # frame 6's WebP thumbnail
    run_actions(tasks, changed=[task["file_dep"][2]])  # frame 3 changed
    redone = {t.name for t in targets if t.stat().st_ino != stamps.get(t)}
    assert redone == {"Leg-Soleus-3-thumb.png", "Leg-Soleus-3-thumb.webp",
                      "Leg-Soleus-6-thumb.png", "Leg-Soleus-6-thumb.webp"}
    run_actions(tasks)  # nothing changed but the task ran: its settings changed, so all of it
    assert all(t.stat().st_ino != stamps[t] for t in targets if t != targets[11])


def test_one_unreadable_frame_fails_the_task_but_the_others_are_made(small_site):
    (small_site.images / "muscles/png/Leg-Soleus-4.png").write_bytes(b"")
    (task,) = [t for t in site_tasks(small_site.site(), "thumbnails") if t["name"].endswith("Leg-Soleus-*.png")]
    func, args = task["actions"][0]
    failure = func(*args, changed=[])
    assert "Leg-Soleus-4.png" in str(failure)
    missing = [Path(t).name for t in task["targets"] if not Path(t).exists()]
    assert missing == ["Leg-Soleus-4-thumb.png", "Leg-Soleus-4-thumb.webp"]


def test_webp_gif_and_unsupported_gallery_images(site_folder):
    from conftest import page_text
    from pipeline.tasks import doit_main, doit_namespace

    (site_folder.images / "pics").mkdir()
    for name in ("photo-1.webp", "anim-1.gif", "scan-1.bmp"):
        draw_frame(40, 30, 0.3).save(site_folder.images / "pics" / name)
    urls = ["pics/photo-1.webp", "pics/anim-1.gif", "pics/scan-1.bmp"]
    (site_folder.pages / "p.md").write_text(page_text("P", [], urls))
    code = doit_main(doit_namespace(site_folder.config)).run(["-n", "1", "thumbnails"])
    assert code != 0  # the .bmp thumbnail fails its task; the others are made
    built = site_folder.build / "images" / "pics"
    with Image.open(built / "photo-1-thumb.webp") as webp, Image.open(built / "anim-1-thumb.gif") as gif:
        assert (webp.format, gif.format) == ("WEBP", "GIF")
    assert not (built / "scan-1-thumb.bmp").exists()


def test_bomb_and_outside_symlink_are_refused_unopened(small_site, tmp_path):
    import os
    import struct
    import zlib

    chunk = lambda kind, data: struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    bomb = small_site.images / "muscles/png/Leg-Soleus-2.png"
    bomb.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))
    outside = tmp_path / "secret.png"
    draw_frame(64, 48, 0).save(outside)
    link = small_site.images / "muscles/png/Leg-Soleus-3.png"
    link.unlink()
    os.symlink(outside, link)
    (task,) = [t for t in site_tasks(small_site.site(), "thumbnails") if t["name"].endswith("Leg-Soleus-*.png")]
    func, args = task["actions"][0]
    failure = func(*args, changed=[]).message.splitlines()
    assert failure[0].startswith("muscles/muscle_leg-soleus.md:15: unreadable: 'muscles/png/Leg-Soleus-2.png' claims 100000x100000 pixels")
    assert failure[1:] == ["muscles/muscle_leg-soleus.md:18: unsafe-path: 'muscles/png/Leg-Soleus-3.png' "
                           "is a symlink that leads outside the image root; it is not opened"]
    missing = [Path(t).name for t in task["targets"] if not Path(t).exists()]
    assert missing == ["Leg-Soleus-2-thumb.png", "Leg-Soleus-2-thumb.webp", "Leg-Soleus-3-thumb.png", "Leg-Soleus-3-thumb.webp"]


def test_sequences_of_one_name_and_two_formats_are_sub_tasks_of_their_own(site_folder):
    folder = site_folder.images / "muscles" / "png"
    folder.mkdir(parents=True)
    urls = []
    for ext in ("png", "jpg"):
        for k in (1, 2):
            draw_frame(40, 30, k / 4).convert("RGB").save(folder / f"Mixed-{k}.{ext}")
            urls.append(f"muscles/png/Mixed-{k}.{ext}")
    (site_folder.pages / "mixed.md").write_text(page_text("Mixed", [], urls))
    names = [t["name"] for t in site_tasks(site_folder.site(), "thumbnails")]
    assert sorted(names) == ["images/muscles/png/Mixed-*.jpg", "images/muscles/png/Mixed-*.png"]


def test_webp_quality_and_min_ssim_reach_the_files(small_site):
    def thumbnails(extra):
        small_site.write_settings(f"[thumbnails]\n{extra}\n")
        run_actions(site_tasks(small_site.site(), "thumbnails"))
        folder = small_site.build / "images" / "muscles" / "png"
        with Image.open(folder / "Leg-Soleus-1-thumb.png") as png:
            return (folder / "Leg-Soleus-1-thumb.webp").stat().st_size, png.mode

    webp_low, palette = thumbnails("webp_quality = 10\nmin_ssim = 0.9")
    webp_high, truecolour = thumbnails("webp_quality = 100\nmin_ssim = 0.99999")
    assert webp_low < webp_high / 2
    assert (palette, truecolour) == ("P", "RGB")  # no palette scores 0.99999
